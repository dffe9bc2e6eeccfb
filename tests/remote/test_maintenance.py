"""prune --remote (the retention policy, applied to a remote's refs) and check --remote."""

from __future__ import annotations

import json
import os
import subprocess
from datetime import timedelta
from pathlib import Path

from cowsnap import api
from cowsnap.store.prune import Policy
from cowsnap.store.store import Store
from tests.conftest import Cowsnap
from tests.remote.conftest import make_bare
from tests.remote.synthetic import EPOCH, publish_run


def _remote_with_runs(cowsnap: Cowsnap, tmp_path: Path) -> tuple[Path, dict[str, list[str]]]:
    """A bare remote holding 5 runs of workspace `a` and 3 of `b` (oldest first)."""
    store = Store.open(cowsnap.store)
    runs: dict[str, list[str]] = {"a": [], "b": []}
    for number in range(8):
        name = "a" if number < 5 else "b"
        runs[name].append(publish_run(store, tmp_path / name, number, os.urandom(100)))
    remote = make_bare(tmp_path / "runs.git")
    cowsnap("push", str(remote), *runs["a"], *runs["b"], cwd=tmp_path)
    return remote, runs


def _listed(cowsnap: Cowsnap, remote: Path, cwd: Path) -> set[str]:
    listed = json.loads(cowsnap("log", "--remote", str(remote), "--json", cwd=cwd).stdout)
    return {item["run_id"] for item in listed}


def test_prune_remote_keeps_what_the_policy_keeps(cowsnap: Cowsnap, tmp_path: Path) -> None:
    remote, runs = _remote_with_runs(cowsnap, tmp_path)
    everything = {*runs["a"], *runs["b"]}
    dry = json.loads(cowsnap("prune", "--remote", str(remote), "--keep-last", "2",
                             "--dry-run", "--json", cwd=tmp_path).stdout)
    assert {item["run_id"] for item in dry["runs"] if not item["keep"]} == {
        *runs["a"][:3], runs["b"][0]}
    assert _listed(cowsnap, remote, tmp_path) == everything
    cowsnap("prune", "--remote", str(remote), "--keep-last", "2", cwd=tmp_path)
    assert _listed(cowsnap, remote, tmp_path) == {*runs["a"][3:], *runs["b"][1:]}
    assert set(Store.open(cowsnap.store).runs.ids()) == everything
    sized = cowsnap("prune", "--remote", str(remote), "--max-size", "1G", cwd=tmp_path,
                    check=False)
    assert sized.returncode == 2 and b"--max-size" in sized.stderr


def test_prune_remote_keep_within_and_keep_last_together(cowsnap: Cowsnap,
                                                         tmp_path: Path) -> None:
    """Runs started 0..7 s after EPOCH; at EPOCH + 8 s, --keep-within 3s keeps those
    started from EPOCH + 5 s (all of `b`), --keep-last 1 also each workspace's newest."""
    remote, runs = _remote_with_runs(cowsnap, tmp_path)
    within = Policy(keep_within=timedelta(seconds=3))
    result = api.remote_prune(str(remote), within, store=cowsnap.store,
                              now=EPOCH + timedelta(seconds=8))
    assert {decision.run_id for decision in result.plan.removed} == set(runs["a"])
    assert _listed(cowsnap, remote, tmp_path) == set(runs["b"])
    (tmp_path / "again").mkdir()
    remote, runs = _remote_with_runs(Cowsnap(home=cowsnap.home, store=tmp_path / "again"),
                                     tmp_path / "again")
    both = Policy(keep_last=1, keep_within=timedelta(seconds=1))
    api.remote_prune(str(remote), both, store=cowsnap.store, now=EPOCH + timedelta(seconds=8))
    assert _listed(cowsnap, remote, tmp_path) == {runs["a"][-1], runs["b"][-1]}


def test_check_remote_on_a_sound_remote(cowsnap: Cowsnap, tmp_path: Path) -> None:
    remote, _runs = _remote_with_runs(cowsnap, tmp_path)
    result = json.loads(cowsnap("check", "--remote", str(remote), "--json",
                                cwd=tmp_path).stdout)
    assert result["ok"] and result["runs"] == 8 and result["contents"] == 8
    text = cowsnap("check", "--remote", str(remote), cwd=tmp_path).stdout.decode()
    assert text.splitlines()[-1] == "no damage found"


def test_a_tampered_manifest_on_the_remote_is_refused(cowsnap: Cowsnap,
                                                      tmp_path: Path) -> None:
    """A run whose manifest names paths outside its workspace is never fetched."""
    remote, runs = _remote_with_runs(cowsnap, tmp_path)
    victim = runs["a"][0]
    ref = f"refs/cowsnap/runs/{victim[-2:]}/{victim}"
    git = ["git", "--git-dir", str(remote)]

    def run_git(*args: str, data: bytes | None = None) -> str:
        return subprocess.run([*git, *args], input=data, capture_output=True,
                              check=True).stdout.decode().strip()

    manifest = json.loads(run_git("show", f"{ref}^:manifest.json"))
    manifest["files"][0]["path"] = "/etc/cron.d/evil"
    blob = run_git("hash-object", "-w", "--stdin", data=json.dumps(manifest).encode())
    entries = run_git("ls-tree", f"{ref}^^{{tree}}").replace(
        run_git("rev-parse", f"{ref}^:manifest.json"), blob)
    tree = run_git("mktree", data=entries.encode() + b"\n")
    environment = {"GIT_AUTHOR_NAME": "x", "GIT_AUTHOR_EMAIL": "x@x",
                   "GIT_COMMITTER_NAME": "x", "GIT_COMMITTER_EMAIL": "x@x"}
    run_commit = subprocess.run([*git, "commit-tree", tree, "-m", "evil"], capture_output=True,
                                check=True, env={**os.environ, **environment}).stdout
    tip = subprocess.run([*git, "commit-tree", run_git("rev-parse", f"{ref}^{{tree}}"), "-p",
                          run_commit.decode().strip(), "-m", "evil"], capture_output=True,
                         check=True, env={**os.environ, **environment}).stdout
    run_git("update-ref", ref, tip.decode().strip())
    laptop = Cowsnap(home=tmp_path / "laptop", store=tmp_path / "laptop-store")
    laptop.home.mkdir()
    result = laptop("fetch", str(remote), victim, cwd=tmp_path, check=False)
    assert result.returncode == 1
    assert victim.encode() in result.stderr and b"Traceback" not in result.stderr
    assert not (laptop.store / "runs" / victim).exists()


def test_prune_removes_the_scratch_repository_of_a_killed_push(cowsnap: Cowsnap,
                                                                tmp_path: Path) -> None:
    store = Store.open(cowsnap.store)
    publish_run(store, tmp_path / "a", 0, b"kept")
    gone = subprocess.Popen(["true"])
    gone.wait()
    scratch = cowsnap.store / "tmp" / f"{gone.pid}.push-0123456789ab"
    subprocess.run(["git", "init", "-q", "--bare", str(scratch)], check=True)
    cowsnap("prune", cwd=tmp_path)
    assert not scratch.exists()
    assert len(Store.open(cowsnap.store).runs.ids()) == 1
