"""A remote written by an attacker: refs at trees or blobs, a run under another run's
id, paths with `..`, contents that are symlinks or far larger than recorded, and a
run that plants a symlink to write through. Each is one clear line and exit 1 (or
the same refusal a bundle gets), and nothing of the hostile run reaches the store."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from cowsnap.store.store import Store
from tests.conftest import Cowsnap
from tests.remote.conftest import Server, serve
from tests.remote.forge import forge_run, git, ref_of, write_blob
from tests.remote.synthetic import publish_run


@pytest.fixture(params=["file", "daemon"])
def remote(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Server]:
    yield from serve(request.param, tmp_path / "served")


def _pushed(cowsnap: Cowsnap, tmp_path: Path, server: Server, count: int) -> list[str]:
    store = Store.open(cowsnap.store)
    runs = [publish_run(store, tmp_path / "w", number, os.urandom(300)) for number in
            range(count)]
    cowsnap("push", server.url, *runs, cwd=tmp_path)
    return runs


def _laptop(tmp_path: Path) -> Cowsnap:
    laptop = Cowsnap(home=tmp_path / "laptop", store=tmp_path / "laptop-store")
    laptop.home.mkdir()
    return laptop


def _refused(result: subprocess.CompletedProcess[bytes], *words: str) -> None:
    error = result.stderr.decode()
    assert result.returncode == 1 and error.count("\n") == 1, error
    assert error.startswith("cowsnap: error: ") and "Traceback" not in error
    for word in words:
        assert word in error, error


def _fetched(laptop: Cowsnap) -> set[str]:
    runs = laptop.store / "runs"
    return {path.name for path in runs.iterdir()} if runs.exists() else set()


def _fetch_json(laptop: Cowsnap, url: str, *runs: str) -> dict[str, Any]:
    result = laptop("fetch", url, *runs, "--json", cwd=laptop.home, check=False)
    assert result.returncode == 1, result.stderr
    return dict(json.loads(result.stdout))


def test_refs_to_a_tree_or_a_blob(remote: Server, cowsnap: Cowsnap, tmp_path: Path) -> None:
    """Listing shows them unreadable beside the sound run; fetch and check refuse them."""
    sound, at_tree, at_blob = _pushed(cowsnap, tmp_path, remote, 3)
    repository = remote.repository
    git(repository, "update-ref", ref_of(at_tree), git(repository, "rev-parse",
                                                       f"{ref_of(at_tree)}^{{tree}}"))
    git(repository, "update-ref", ref_of(at_blob), write_blob(repository, b"not a run\n"))
    laptop = _laptop(tmp_path)
    listed = json.loads(laptop("log", "--remote", remote.url, "--json", cwd=tmp_path).stdout)
    problems = {item["run_id"]: item["problem"] for item in listed}
    assert problems[sound] is None
    assert "not a commit" in problems[at_tree] and "not a commit" in problems[at_blob]
    report = _fetch_json(laptop, remote.url)
    assert {run["run_id"]: run["status"] for run in report["runs"]} == {
        sound: "fetched", at_tree: "failed", at_blob: "failed"}
    assert _fetched(laptop) == {sound}
    checked = laptop("check", "--remote", remote.url, "--json", cwd=tmp_path, check=False)
    assert checked.returncode == 1
    assert {item["run_id"] for item in json.loads(checked.stdout)["problems"]} == {
        at_tree, at_blob}


def test_a_run_under_another_runs_id(remote: Server, cowsnap: Cowsnap,
                                     tmp_path: Path) -> None:
    """The ref of run A pointing at run B's commits could make B's effects pass for
    A's: refused, A is not fetched, B is fetched under its own id only."""
    first, second = _pushed(cowsnap, tmp_path, remote, 2)
    git(remote.repository, "update-ref", ref_of(first),
        git(remote.repository, "rev-parse", ref_of(second)))
    laptop = _laptop(tmp_path)
    _refused(laptop("fetch", remote.url, first, cwd=tmp_path, check=False), first,
             f"holds the manifest of run {second}")
    assert _fetched(laptop) == set()
    report = _fetch_json(laptop, remote.url)
    assert {run["run_id"]: run["status"] for run in report["runs"]} == {
        first: "failed", second: "fetched"}
    assert _fetched(laptop) == {second}


@pytest.mark.parametrize("name", ["w/../../etc/cron.d/evil", "w/./x", "w//x", "w/x/.."])
def test_a_path_that_is_not_normalised(remote: Server, cowsnap: Cowsnap, tmp_path: Path,
                                       name: str) -> None:
    [run_id] = _pushed(cowsnap, tmp_path, remote, 1)

    def rename(manifest: dict[str, Any]) -> None:
        manifest["files"][0]["path"] = f"{tmp_path}/{name}"

    forge_run(remote.repository, run_id, manifest=rename)
    laptop = _laptop(tmp_path)
    _refused(laptop("fetch", remote.url, cwd=tmp_path, check=False), run_id, "path")
    assert _fetched(laptop) == set()


def test_a_content_held_as_a_symlink_or_a_directory(remote: Server, cowsnap: Cowsnap,
                                                    tmp_path: Path) -> None:
    """A content's tree entry must be a plain file: not a symlink (mode 120000), not
    a submodule or a directory, even when it names the right object."""
    runs = _pushed(cowsnap, tmp_path, remote, 3)
    manifest = Store.open(cowsnap.store).runs.load
    for run_id, mode in zip(runs, ("120000", "160000", "040000"), strict=True):
        blob = manifest(run_id).files[0].after.blob
        assert blob is not None
        oid = blob if mode != "040000" else git(remote.repository, "mktree", data=b"")
        forge_run(remote.repository, run_id,
                  files={f"contents/{blob[:2]}/{blob[2:]}": (mode, oid)})
    laptop = _laptop(tmp_path)
    report = _fetch_json(laptop, remote.url)
    assert [run["status"] for run in report["runs"]] == ["failed"] * 3
    assert all("content" in run["problem"] for run in report["runs"])
    assert _fetched(laptop) == set()


def test_a_manifest_far_larger_than_any_run(remote: Server, cowsnap: Cowsnap,
                                            tmp_path: Path) -> None:
    """A few kB on the wire that inflate to hundreds of MB: refused by its size before
    it is read."""
    [run_id] = _pushed(cowsnap, tmp_path, remote, 1)
    writer = subprocess.Popen(["git", "--git-dir", str(remote.repository), "hash-object",
                               "-w", "--stdin"], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    assert writer.stdin is not None
    writer.stdin.write(b"{")
    for _chunk in range(600):
        writer.stdin.write(b" " * 1024 * 1024)
    huge = writer.communicate(b"}")[0].decode().strip()
    forge_run(remote.repository, run_id, files={"manifest.json": ("100644", huge)})
    laptop = _laptop(tmp_path)
    _refused(laptop("fetch", remote.url, cwd=tmp_path, check=False), run_id, "manifest.json",
             "more than 512.0 MiB")
    assert _fetched(laptop) == set()


def test_a_run_planting_a_symlink_to_write_through(remote: Server, cowsnap: Cowsnap,
                                                   tmp_path: Path) -> None:
    """A run whose after-state makes `link` a symlink to a directory outside, then a
    file `link/planted`: the symlink is restored, and the file (which a real run would
    have seen through the symlink) is not written through it (restore/plan.py)."""
    [run_id] = _pushed(cowsnap, tmp_path, remote, 1)
    victim = tmp_path / "victim"
    victim.mkdir()

    def plant(manifest: dict[str, Any]) -> None:
        [entry] = manifest["files"]
        workspace = manifest["workspace"]
        link = {**entry, "path": f"{workspace}/link",
                "after": {"exists": True, "type": "symlink", "mode": 0o120777,
                          "size": len(str(victim)), "mtime_ns": 0, "uid": 0, "gid": None,
                          "blob": None, "blob_source": None, "target": str(victim)}}
        manifest["files"] = [link, {**entry, "path": f"{workspace}/link/planted"}]

    forge_run(remote.repository, run_id, manifest=plant)
    laptop = _laptop(tmp_path)
    laptop("fetch", remote.url, cwd=tmp_path)
    checkout = tmp_path / "checkout"
    checkout.mkdir()
    laptop("restore", run_id, "--to", "after", cwd=checkout)
    assert (checkout / "link").is_symlink()
    assert list(victim.iterdir()) == []
