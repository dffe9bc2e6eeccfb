"""`cowsnap restore` end to end through the real CLI, on real filesystems."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import zlib
from pathlib import Path

import pytest

from tests.conftest import Cowsnap, rewrite_manifest
from tests.restore.conftest import read_tree

SCENARIO = (
    "echo new > changed.txt; echo more >> appended.txt; rm deleted.txt; "
    "mv old-name.txt new-name.txt; mkdir -p made/deeper; echo x > made/deeper/file.txt; "
    "ln -s changed.txt link; chmod 600 mode.txt; rm -r tree; echo now-a-file > tree; "
    "rm retarget; ln -s new-name.txt retarget; rm gone-dir/inner.txt; rmdir gone-dir; "
    "printf 'caf\\351' > \"$(printf 'caf\\351.txt')\""
)


def populate(workspace: Path) -> None:
    for name, text in {"changed.txt": "old\n", "appended.txt": "start\n",
                       "deleted.txt": "bye\n", "old-name.txt": "moving\n",
                       "mode.txt": "m\n", "tree/a.txt": "a\n", "tree/sub/b.txt": "b\n",
                       "gone-dir/inner.txt": "inner\n"}.items():
        (workspace / name).parent.mkdir(parents=True, exist_ok=True)
        (workspace / name).write_text(text)
    os.chmod(workspace / "mode.txt", 0o644)
    os.symlink("changed.txt", workspace / "retarget")
    os.chmod(workspace / "gone-dir", 0o750)


def last_run(cowsnap: Cowsnap, workspace: Path, index: int = 0) -> str:
    runs = json.loads(cowsnap("log", "--json", cwd=workspace).stdout)
    return str(runs[index]["run_id"])


def run_count(cowsnap: Cowsnap, workspace: Path) -> int:
    return len(json.loads(cowsnap("log", "--json", cwd=workspace).stdout))


def test_undo_then_redo_gives_back_each_tree(cowsnap: Cowsnap,
                                            backend_workspace: tuple[str, Path]) -> None:
    backend, workspace = backend_workspace
    populate(workspace)
    before = read_tree(workspace)
    cowsnap("run", "--backend", backend, "--", "sh", "-c", SCENARIO, cwd=workspace)
    after = read_tree(workspace)
    assert after != before
    undo = cowsnap("restore", cwd=workspace)
    assert read_tree(workspace) == before
    assert b"undo this with: cowsnap restore " in undo.stderr
    cowsnap("restore", last_run(cowsnap, workspace, 1), "--to", "after", cwd=workspace)
    assert read_tree(workspace) == after


def test_mtime_and_content_come_back(cowsnap: Cowsnap, ext4_workspace: Path) -> None:
    target = ext4_workspace / "f.txt"
    target.write_text("one\n")
    os.utime(target, ns=(1_000_000_000, 1_500_000_000))
    cowsnap("run", "--", "sh", "-c", "echo two > f.txt", cwd=ext4_workspace)
    cowsnap("restore", cwd=ext4_workspace)
    assert target.read_text() == "one\n"
    assert os.lstat(target).st_mtime_ns == 1_500_000_000


def test_restore_of_a_restore_redoes_the_run(cowsnap: Cowsnap, ext4_workspace: Path) -> None:
    populate(ext4_workspace)
    cowsnap("run", "--", "sh", "-c", SCENARIO, cwd=ext4_workspace)
    after = read_tree(ext4_workspace)
    cowsnap("restore", cwd=ext4_workspace)
    undo_run = last_run(cowsnap, ext4_workspace)
    manifest = json.loads(cowsnap("show", "--json", undo_run, cwd=ext4_workspace).stdout)
    assert manifest["backend"] == "restore"
    cowsnap("restore", undo_run, cwd=ext4_workspace)
    assert read_tree(ext4_workspace) == after


def test_conflict_refuses_the_whole_restore(cowsnap: Cowsnap, ext4_workspace: Path) -> None:
    (ext4_workspace / "a.txt").write_text("a0\n")
    (ext4_workspace / "b.txt").write_text("b0\n")
    cowsnap("run", "--", "sh", "-c", "echo a1 > a.txt; echo b1 > b.txt", cwd=ext4_workspace)
    (ext4_workspace / "b.txt").write_text("mine\n")
    runs = run_count(cowsnap, ext4_workspace)
    refused = cowsnap("restore", cwd=ext4_workspace, check=False)
    assert refused.returncode == 1
    assert b"conflict: " in refused.stderr and b"b.txt: changed since the run" in refused.stderr
    assert refused.stderr.strip().splitlines()[-1].startswith(b"cowsnap: error: 1 path has")
    assert (ext4_workspace / "a.txt").read_text() == "a1\n"
    assert (ext4_workspace / "b.txt").read_text() == "mine\n"
    assert run_count(cowsnap, ext4_workspace) == runs
    cowsnap("restore", "--force", cwd=ext4_workspace)
    assert (ext4_workspace / "a.txt").read_text() == "a0\n"
    assert (ext4_workspace / "b.txt").read_text() == "b0\n"
    cowsnap("restore", cwd=ext4_workspace)
    assert (ext4_workspace / "b.txt").read_text() == "mine\n", "the forced restore is undoable"


def test_files_added_since_keep_their_directory(cowsnap: Cowsnap,
                                                ext4_workspace: Path) -> None:
    cowsnap("run", "--", "sh", "-c", "mkdir made; echo x > made/x", cwd=ext4_workspace)
    (ext4_workspace / "made" / "mine.txt").write_text("my work\n")
    refused = cowsnap("restore", cwd=ext4_workspace, check=False)
    assert refused.returncode == 1 and b"mine.txt" in refused.stderr
    forced = cowsnap("restore", "--force", cwd=ext4_workspace, check=False)
    assert forced.returncode == 1
    assert b"not restored: " in forced.stderr and b"made: directory not empty" in forced.stderr
    assert (ext4_workspace / "made" / "mine.txt").read_text() == "my work\n"
    assert not (ext4_workspace / "made" / "x").exists()


def test_partial_restore_by_path(cowsnap: Cowsnap, ext4_workspace: Path) -> None:
    (ext4_workspace / "d").mkdir()
    for name in ("top.txt", "d/x.txt", "d/y.txt"):
        (ext4_workspace / name).write_text("0\n")
    cowsnap("run", "--", "sh", "-c", "for f in top.txt d/x.txt d/y.txt; do echo 1 > $f; done",
            cwd=ext4_workspace)
    run = last_run(cowsnap, ext4_workspace)
    cowsnap("restore", "d", cwd=ext4_workspace)
    assert (ext4_workspace / "top.txt").read_text() == "1\n"
    assert (ext4_workspace / "d/x.txt").read_text() == "0\n"
    assert (ext4_workspace / "d/y.txt").read_text() == "0\n"
    cowsnap("restore", run, "top.txt", cwd=ext4_workspace / "d" / "..")
    assert (ext4_workspace / "top.txt").read_text() == "0\n"
    missing = cowsnap("restore", run, "nowhere.txt", cwd=ext4_workspace, check=False)
    assert missing.returncode == 1 and b"touched nothing at" in missing.stderr


def test_dry_run_changes_nothing(cowsnap: Cowsnap, ext4_workspace: Path) -> None:
    populate(ext4_workspace)
    cowsnap("run", "--", "sh", "-c", SCENARIO, cwd=ext4_workspace)
    after = read_tree(ext4_workspace)
    runs = run_count(cowsnap, ext4_workspace)
    planned = cowsnap("restore", "--dry-run", cwd=ext4_workspace)
    assert read_tree(ext4_workspace) == after
    assert run_count(cowsnap, ext4_workspace) == runs
    lines = planned.stdout.decode().splitlines()
    assert any(line.split() == ["write", "deleted.txt"] for line in lines)
    assert any(line.split() == ["remove", "made"] for line in lines)


def test_symlink_swap_is_undone_without_touching_its_target(
        cowsnap: Cowsnap, backend_workspace: tuple[str, Path], tmp_path: Path) -> None:
    backend, workspace = backend_workspace
    outside = tmp_path / "etc"
    outside.mkdir()
    (outside / "passwd").write_text("system\n")
    (workspace / "conf").mkdir()
    (workspace / "conf" / "passwd").write_text("workspace\n")
    swap = f"rm -r conf; ln -s {outside} conf"
    cowsnap("run", "--backend", backend, "--", "sh", "-c", swap, cwd=workspace)
    cowsnap("restore", cwd=workspace)
    assert not (workspace / "conf").is_symlink()
    assert (workspace / "conf" / "passwd").read_text() == "workspace\n"
    assert (outside / "passwd").read_text() == "system\n"
    assert sorted(os.listdir(outside)) == ["passwd"]
    cowsnap("restore", last_run(cowsnap, workspace, 1), "--to", "after", cwd=workspace)
    assert os.readlink(workspace / "conf") == str(outside)
    assert (outside / "passwd").read_text() == "system\n"


def test_symlink_in_the_way_is_never_followed(cowsnap: Cowsnap, ext4_workspace: Path,
                                             tmp_path: Path) -> None:
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "f.txt").write_text("not yours\n")
    (ext4_workspace / "d").mkdir()
    (ext4_workspace / "d" / "f.txt").write_text("0\n")
    cowsnap("run", "--", "sh", "-c", "echo 1 > d/f.txt", cwd=ext4_workspace)
    (ext4_workspace / "d" / "f.txt").unlink()
    (ext4_workspace / "d").rmdir()
    os.symlink(outside, ext4_workspace / "d")
    result = cowsnap("restore", "--force", cwd=ext4_workspace, check=False)
    assert result.returncode == 1
    assert b"d/f.txt: a symlink or a file is in the way" in result.stderr
    assert (outside / "f.txt").read_text() == "not yours\n"
    assert sorted(os.listdir(outside)) == ["f.txt"]


def test_outside_workspace_paths_get_their_captured_state(cowsnap: Cowsnap,
                                                          ext4_workspace: Path,
                                                          tmp_path: Path) -> None:
    outside = tmp_path / "outside.txt"
    outside.write_text("before\n")
    cowsnap("run", "--", "sh", "-c", f"echo after > {outside}; echo w > w.txt",
            cwd=ext4_workspace)
    cowsnap("restore", cwd=ext4_workspace)
    assert outside.read_text() == "before\n"
    assert not (ext4_workspace / "w.txt").exists()


def test_unrestorable_paths_are_listed_and_exit_1(cowsnap: Cowsnap,
                                                  ext4_workspace: Path) -> None:
    (ext4_workspace / "big.txt").write_text("x" * 100)
    (ext4_workspace / "small.txt").write_text("s\n")
    os.mkfifo(ext4_workspace / "pipe")
    cowsnap("run", "--max-file-size", "10", "--", "sh", "-c",
            "echo y > big.txt; echo t > small.txt; rm pipe", cwd=ext4_workspace)
    result = cowsnap("restore", cwd=ext4_workspace, check=False)
    assert result.returncode == 1
    assert b"not restored: " in result.stderr
    assert b"big.txt: content not captured: too large" in result.stderr
    assert b"pipe" not in result.stderr
    assert (ext4_workspace / "small.txt").read_text() == "s\n"
    assert stat.S_ISFIFO(os.lstat(ext4_workspace / "pipe").st_mode), "FIFOs are recreated"


def test_owner_comes_back_as_root(cowsnap: Cowsnap, ext4_workspace: Path,
                                  root_required: None) -> None:
    target = ext4_workspace / "owned.txt"
    target.write_text("mine\n")
    os.chown(target, 1234, -1)
    os.chmod(target, 0o640)
    cowsnap("run", "--", "sh", "-c", "rm owned.txt; echo root > owned.txt",
            cwd=ext4_workspace)
    assert os.lstat(target).st_uid == 0
    cowsnap("restore", cwd=ext4_workspace)
    info = os.lstat(target)
    assert (info.st_uid, info.st_mode & 0o7777) == (1234, 0o640)
    assert target.read_text() == "mine\n"


def _bundle_run(cowsnap: Cowsnap, workspace: Path, bundle: Path) -> None:
    (workspace / "f.txt").write_text("original\n")
    cowsnap("run", "--output", str(bundle), "--", "sh", "-c", "echo changed > f.txt",
            cwd=workspace)


def _bundle_cli(cowsnap: Cowsnap, bundle: Path, *args: str,
                cwd: Path) -> subprocess.CompletedProcess[bytes]:
    return cowsnap("restore", "--store", str(bundle), *args, cwd=cwd, check=False)


def test_bundle_restores_like_its_store(cowsnap: Cowsnap, ext4_workspace: Path,
                                        tmp_path: Path) -> None:
    bundle = tmp_path / "bundle"
    _bundle_run(cowsnap, ext4_workspace, bundle)
    run = json.loads(cowsnap("log", "--json", "--store", str(bundle),
                             cwd=ext4_workspace).stdout)[0]["run_id"]
    result = _bundle_cli(cowsnap, bundle, run, cwd=ext4_workspace)
    assert result.returncode == 0, result.stderr
    assert (ext4_workspace / "f.txt").read_text() == "original\n"


def test_tampered_bundle_content_is_refused(cowsnap: Cowsnap, ext4_workspace: Path,
                                            tmp_path: Path) -> None:
    bundle = tmp_path / "bundle"
    _bundle_run(cowsnap, ext4_workspace, bundle)
    objects = bundle / "objects.git" / "objects"
    evil = b"evil\n"
    tampered = 0
    for loose in objects.glob("??/*"):
        _header, _, data = zlib.decompress(loose.read_bytes()).partition(b"\x00")
        if data == b"original\n":
            os.chmod(loose, 0o600)
            loose.write_bytes(zlib.compress(b"blob %d\x00" % len(evil) + evil))
            tampered += 1
    assert tampered == 1
    result = _bundle_cli(cowsnap, bundle, cwd=ext4_workspace)
    assert result.returncode == 1
    assert b"does not match its id" in result.stderr
    assert (ext4_workspace / "f.txt").read_text() == "changed\n"


@pytest.mark.parametrize(("field", "value", "message"), [
    ("path", "/etc/cowsnap-test-passwd", b"outside the workspace but recorded inside"),
    ("path", "{ws}/../escape.txt", b"is not normalised"),
    ("mode", 0o120644, b"mode that is not a file's"),
    ("schema", "cowsnap.manifest/99", b"corrupt manifest"),
])
def test_tampered_bundle_manifest_is_refused(cowsnap: Cowsnap, ext4_workspace: Path,
                                             tmp_path: Path, field: str, value: object,
                                             message: bytes) -> None:
    bundle = tmp_path / "bundle"
    _bundle_run(cowsnap, ext4_workspace, bundle)
    (manifest_path,) = (bundle / "runs").glob("*/manifest.json")
    manifest = json.loads(manifest_path.read_bytes())
    (entry,) = [entry for entry in manifest["files"] if entry["path"].endswith("/f.txt")]
    if field == "path":
        entry["path"] = str(value).format(ws=ext4_workspace)
    elif field == "schema":
        manifest["schema"] = value
    else:
        entry["before"]["mode"] = value
    manifest["files"].sort(key=lambda item: item["path"].encode())
    rewrite_manifest(manifest_path, json.dumps(manifest).encode())
    result = _bundle_cli(cowsnap, bundle, "--force", cwd=ext4_workspace)
    assert result.returncode == 1
    assert message in result.stderr
    assert (ext4_workspace / "f.txt").read_text() == "changed\n"
    assert not Path("/etc/cowsnap-test-passwd").exists()


def test_progress_bar_on_a_terminal_for_large_restores(cowsnap: Cowsnap,
                                                       ext4_workspace: Path) -> None:
    for number in range(250):
        (ext4_workspace / f"f{number}.txt").write_text("0\n")
    cowsnap("run", "--", "sh", "-c", "for f in f*.txt; do echo 1 > $f; done",
            cwd=ext4_workspace)
    status, output = cowsnap.on_terminal("restore", cwd=ext4_workspace)
    assert status == 0
    assert b"restoring" in output and b"100%" in output
    assert (ext4_workspace / "f7.txt").read_text() == "0\n"
    quiet = cowsnap("restore", last_run(cowsnap, ext4_workspace), cwd=ext4_workspace)
    assert b"restoring" not in quiet.stderr


def test_clean_tracked_files_come_back_from_their_repository(cowsnap: Cowsnap,
                                                             ext4_workspace: Path) -> None:
    env = {**cowsnap.env(), "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com"}
    (ext4_workspace / "tracked.txt").write_text("committed\n")
    for command in (["git", "init", "-q"], ["git", "add", "tracked.txt"],
                    ["git", "commit", "-q", "-m", "c"]):
        subprocess.run(command, cwd=ext4_workspace, env=env, check=True, timeout=30)
    (ext4_workspace / "tracked.txt").write_text("edited\n")
    cowsnap("run", "--", "git", "checkout", "--", "tracked.txt", cwd=ext4_workspace)
    manifest = json.loads(cowsnap("show", "--json", cwd=ext4_workspace).stdout)
    (entry,) = [item for item in manifest["files"] if item["path"].endswith("/tracked.txt")]
    assert entry["before"]["blob_source"] == "store", "the run changed it"
    assert entry["after"]["blob_source"] == "git", "clean afterwards: a reference"
    cowsnap("restore", cwd=ext4_workspace)
    assert (ext4_workspace / "tracked.txt").read_text() == "edited\n"
    cowsnap("restore", last_run(cowsnap, ext4_workspace, 1), "--to", "after",
            cwd=ext4_workspace)
    assert (ext4_workspace / "tracked.txt").read_text() == "committed\n"


def test_nothing_is_deleted_when_a_write_failed(cowsnap: Cowsnap, ext4_workspace: Path,
                                                 tmp_path: Path) -> None:
    (ext4_workspace / "d").mkdir()
    (ext4_workspace / "d" / "a.txt").write_text("moved\n")
    cowsnap("run", "--", "sh", "-c", "mv d/a.txt b.txt", cwd=ext4_workspace)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (ext4_workspace / "d").rmdir()
    os.symlink(elsewhere, ext4_workspace / "d")
    result = cowsnap("restore", cwd=ext4_workspace, check=False)
    assert result.returncode == 1
    assert b"d/a.txt: a symlink or a file is in the way" in result.stderr
    assert b"b.txt: not removed, because an earlier write failed" in result.stderr
    assert (ext4_workspace / "b.txt").read_text() == "moved\n"
    assert os.listdir(elsewhere) == []
