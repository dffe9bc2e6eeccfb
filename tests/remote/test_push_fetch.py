"""Push runs to a real remote (file://, git daemon, smart HTTP, ssh), list them, fetch
them into another store, and read them there and restore them into another workspace,
byte for byte; with no `git` on PATH."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import Cowsnap
from tests.remote.conftest import Server


def path_without_git(directory: Path) -> str:
    """A PATH holding everything the current one does except git and its helpers."""
    directory.mkdir()
    for entry in os.environ["PATH"].split(os.pathsep):
        if not os.path.isdir(entry):
            continue
        for name in os.listdir(entry):
            if not name.startswith("git") and not (directory / name).exists():
                (directory / name).symlink_to(Path(entry) / name)
    return str(directory)


def _laptop(tmp_path: Path, server: Server) -> Cowsnap:
    laptop = Cowsnap(home=tmp_path / "laptop", store=tmp_path / "laptop-store")
    laptop.home.mkdir()
    server.admit(laptop.home)
    return laptop


def _tree(root: Path) -> dict[str, bytes]:
    return {str(path.relative_to(root)): path.read_bytes()
            for path in sorted(root.rglob("*")) if path.is_file()}


def _record(cowsnap: Cowsnap, workspace: Path, script: str) -> str:
    cowsnap("run", "--", "sh", "-c", script, cwd=workspace)
    runs = json.loads(cowsnap("log", "--json", cwd=workspace).stdout)
    return str(runs[0]["run_id"])


def test_push_list_fetch_show_diff_cat_restore(server: Server, cowsnap: Cowsnap,
                                               tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", path_without_git(tmp_path / "bin"))
    assert shutil.which("git") is None
    server.admit(cowsnap.home)
    workspace = tmp_path / "workspace"
    workspace.mkdir()
    (workspace / "kept.txt").write_bytes(b"one\ntwo\n")
    (workspace / "gone.bin").write_bytes(os.urandom(5000))
    (workspace / "sub").mkdir()
    before = _tree(workspace)
    cowsnap("run", "--versions", "kept.txt", "--", "sh", "-c",
            "printf 'one\\n' > kept.txt; printf 'one\\n2\\n' > kept.txt; rm gone.bin; "
            "head -c 70000 /dev/urandom > sub/new.bin", cwd=workspace)
    run_id = json.loads(cowsnap("log", "--json", cwd=workspace).stdout)[0]["run_id"]
    after = _tree(workspace)

    pushed = json.loads(cowsnap("push", server.url, "--json", cwd=workspace).stdout)
    assert [(run["run_id"], run["status"]) for run in pushed["runs"]] == [(run_id, "pushed")]
    again = json.loads(cowsnap("push", server.url, "--json", cwd=workspace).stdout)
    assert again["runs"] == []

    laptop = _laptop(tmp_path, server)
    listed = json.loads(laptop("log", "--remote", server.url, "--json", cwd=tmp_path).stdout)
    assert [item["run_id"] for item in listed] == [run_id]
    assert listed[0]["summary"]["command"][:2] == ["sh", "-c"]
    assert not laptop.store.joinpath("runs").exists() or not any(
        laptop.store.joinpath("runs").iterdir())

    fetched = json.loads(laptop("fetch", server.url, "--json", cwd=tmp_path).stdout)
    assert [(run["run_id"], run["status"]) for run in fetched["runs"]] == [(run_id, "fetched")]
    assert fetched["received_bytes"] > 70000
    published = laptop.store / "runs" / run_id
    assert json.loads((published / "fetched.json").read_bytes())["remote"] == server.url
    assert not (published / "origin").exists()

    kept = str(workspace / "kept.txt")
    for command in (("show", run_id), ("diff", run_id), ("show", run_id, "--json"),
                    ("versions", run_id, kept, "--json")):
        assert laptop(*command, cwd=tmp_path).stdout == cowsnap(*command, cwd=tmp_path).stdout
    assert laptop("cat", "--version", "2", run_id, kept, cwd=tmp_path).stdout == b"one\n"
    assert laptop("cat", run_id, str(workspace / "sub/new.bin"),
                  cwd=tmp_path).stdout == after["sub/new.bin"]
    assert laptop("cat", "--before", run_id, str(workspace / "gone.bin"),
                  cwd=tmp_path).stdout == before["gone.bin"]
    laptop("check", cwd=tmp_path)

    elsewhere = tmp_path / "laptop-checkout"
    shutil.copytree(workspace, elsewhere)
    laptop("restore", run_id, cwd=elsewhere)
    assert _tree(elsewhere) == before
    assert _tree(workspace) == after
    laptop("restore", run_id, "--to", "after", cwd=elsewhere)
    assert _tree(elsewhere) == after


def test_default_push_sends_only_this_workspaces_runs_not_on_the_remote(
        server: Server, cowsnap: Cowsnap, tmp_path: Path) -> None:
    mine, other = tmp_path / "mine", tmp_path / "other"
    mine.mkdir()
    other.mkdir()
    server.admit(cowsnap.home)
    first = _record(cowsnap, mine, "echo 1 > a")
    _record(cowsnap, other, "echo 1 > b")
    cowsnap("remote", "add", "origin", server.url, cwd=mine)
    assert json.loads(cowsnap("push", "--json", cwd=mine).stdout)["runs"][0]["run_id"] == first
    second = _record(cowsnap, mine, "echo 2 > a")
    pushed = json.loads(cowsnap("push", "origin", "--json", cwd=mine).stdout)
    assert [run["run_id"] for run in pushed["runs"]] == [second]
    listed = json.loads(cowsnap("log", "--remote", "origin", "--json", cwd=mine).stdout)
    assert [item["run_id"] for item in listed] == [second, first]


def test_large_contents_over_the_cap_are_listed_as_not_pushed(
        server: Server, cowsnap: Cowsnap, tmp_path: Path) -> None:
    server.admit(cowsnap.home)
    workspace = tmp_path / "workspace"
    workspace.mkdir()
    run_id = _record(cowsnap, workspace,
                     "head -c 300000 /dev/urandom > big; echo small > small")
    big = (workspace / "big").read_bytes()
    pushed = json.loads(cowsnap("push", server.url, "--max-content", "100K", "--json",
                                cwd=workspace).stdout)
    left_out = pushed["runs"][0]["not_pushed"]
    assert [item["size"] for item in left_out] == [len(big)]
    laptop = _laptop(tmp_path, server)
    fetched = json.loads(laptop("fetch", server.url, run_id[:12], "--json",
                                cwd=tmp_path).stdout)
    assert fetched["runs"][0]["not_pushed"] == left_out
    assert fetched["received_bytes"] < len(big)
    assert laptop("cat", run_id, str(workspace / "small"), cwd=tmp_path).stdout == b"small\n"
    missing = laptop("cat", run_id, str(workspace / "big"), cwd=tmp_path, check=False)
    assert missing.returncode == 1
    assert len(missing.stderr.decode().strip().splitlines()) == 1


def test_remote_names_live_in_config_toml(cowsnap: Cowsnap, tmp_path: Path) -> None:
    config = cowsnap.home / ".config" / "cowsnap" / "config.toml"
    config.parent.mkdir(parents=True)
    config.write_text("# mine\n[prune]\nkeep_last = 5\n")
    cowsnap("remote", "add", "ci", "git@example.com:team/runs.git", cwd=tmp_path)
    cowsnap("remote", "add", "backup", str(tmp_path), cwd=tmp_path)
    listed = json.loads(cowsnap("remote", "list", "--json", cwd=tmp_path).stdout)
    assert [(item["name"], item["url"]) for item in listed] == [
        ("backup", str(tmp_path)), ("ci", "git@example.com:team/runs.git")]
    cowsnap("remote", "remove", "ci", cwd=tmp_path)
    expected = f'# mine\n[prune]\nkeep_last = 5\n\n[remote.backup]\nurl = "{tmp_path}"\n'
    assert config.read_text() == expected
    duplicate = cowsnap("remote", "add", "backup", str(tmp_path), cwd=tmp_path, check=False)
    assert duplicate.returncode == 2 and b"exists already" in duplicate.stderr
    unknown = cowsnap("push", "nowhere", cwd=tmp_path, check=False)
    assert unknown.returncode != 0 and b"Traceback" not in unknown.stderr


def test_the_remote_is_plain_git(server: Server, cowsnap: Cowsnap, tmp_path: Path) -> None:
    """One ref per run, pointing at a commit; git itself can read the run."""
    server.admit(cowsnap.home)
    workspace = tmp_path / "workspace"
    workspace.mkdir()
    run_id = _record(cowsnap, workspace, "echo hello > greeting")
    cowsnap("push", server.url, cwd=workspace)
    git = ["git", "--git-dir", str(server.repository)]
    refs = subprocess.run([*git, "for-each-ref", "--format=%(objecttype) %(refname)"],
                          capture_output=True, check=True, text=True).stdout.split("\n")
    assert refs[0] == f"commit refs/cowsnap/runs/{run_id[-2:]}/{run_id}"
    manifest = subprocess.run([*git, "show", f"refs/cowsnap/runs/{run_id[-2:]}/{run_id}^:"
                                             "manifest.json"],
                              capture_output=True, check=True).stdout
    assert json.loads(manifest)["run_id"] == run_id
    fsck = subprocess.run([*git, "fsck", "--strict"], capture_output=True, text=True)
    assert fsck.returncode == 0, fsck.stderr


def test_clean_tracked_files_travel_with_the_run(cowsnap: Cowsnap, tmp_path: Path) -> None:
    """A CI checkout is a git repository: contents the store only references there
    (clean tracked files) are pushed too, so the fetching side needs no repository."""
    workspace = tmp_path / "checkout"
    workspace.mkdir()
    (workspace / "tracked.txt").write_bytes(b"as committed\n")
    git = ["git", "-C", str(workspace), "-c", "user.name=t", "-c", "user.email=t@t"]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "tracked.txt"], check=True)
    subprocess.run([*git, "commit", "-q", "-m", "one"], check=True)
    (workspace / "tracked.txt").write_bytes(b"edited\n")
    run_id = _record(cowsnap, workspace, "printf 'as committed\\n' > tracked.txt")
    manifest = json.loads(cowsnap("show", run_id, "--json", cwd=workspace).stdout)
    sources = {entry["after"].get("blob_source") for entry in manifest["files"]
               if entry["path"].endswith("tracked.txt")}
    assert sources == {"git"}
    remote = tmp_path / "runs.git"
    subprocess.run(["git", "init", "-q", "--bare", str(remote)], check=True)
    pushed = cowsnap("push", str(remote), cwd=workspace).stdout.decode()
    assert pushed.splitlines()[-1] == (f"pushed 1 of 1 runs to {remote} (bytes not measured "
                                       f"to a local path)")
    shutil.rmtree(workspace / ".git")
    laptop = Cowsnap(home=tmp_path / "laptop", store=tmp_path / "laptop-store")
    laptop.home.mkdir()
    laptop("fetch", str(remote), cwd=tmp_path)
    after = laptop("cat", run_id, str(workspace / "tracked.txt"), cwd=tmp_path)
    assert after.stdout == b"as committed\n"
