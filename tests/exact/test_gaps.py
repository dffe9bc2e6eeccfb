"""Issue 11's gaps, end to end on every backend: each run compared with an independent
walk of the tree before and after it, then undone and redone back to those walks."""

from __future__ import annotations

import errno
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import Cowsnap
from tests.exact.support import entry, manifest, redo, runs, undo
from tests.exact.walk import Node, differences, walk


def _run(cowsnap: Cowsnap, backend: str, workspace: Path, script: str) -> None:
    cowsnap("run", "--backend", backend, "--", "sh", "-c", script, cwd=workspace)


def _round_trip(cowsnap: Cowsnap, backend: str, workspace: Path, script: str,
                root: Path | None = None) -> None:
    """Run `script`; undo must give back the walk from before, redo the walk after."""
    tree = root or workspace
    before = walk(tree)
    _run(cowsnap, backend, workspace, script)
    after = walk(tree)
    assert after != before
    undo(cowsnap, workspace)
    assert differences(before, walk(tree)) == []
    redo(cowsnap, workspace)
    assert differences(after, walk(tree)) == []


def test_every_name_of_a_written_file(cowsnap: Cowsnap,
                                      backend_workspace: tuple[str, Path]) -> None:
    backend, workspace = backend_workspace
    (workspace / "a.txt").write_text("one\n")
    os.link(workspace / "a.txt", workspace / "b.txt")
    _round_trip(cowsnap, backend, workspace, "echo two >> b.txt")
    data = manifest(cowsnap, workspace, runs(cowsnap, workspace)[2])
    first = entry(data, workspace / "a.txt")
    assert "write" in first["operations"], "written through its other name"
    assert [link["path"] for link in first["before"]["links"]] == [str(workspace / "b.txt")]


@pytest.mark.parametrize("script", ["echo x >> old/f1; echo y >> old/link1",
                                    "echo y >> old/link1; echo x >> old/f1",
                                    "echo x >> old/f1; rm old/f1; echo y >> old/link1"])
def test_a_file_written_through_each_of_its_names(cowsnap: Cowsnap,
                                                 backend_workspace: tuple[str, Path],
                                                 script: str) -> None:
    """Undo, redo and undoing the redo bring the content back under both names, still
    one file, whichever name was written first (even when it was removed before the
    other was written: a single name left), and `old` its time."""
    backend, workspace = backend_workspace
    (workspace / "old").mkdir()
    (workspace / "old" / "f1").write_text("one\n")
    os.link(workspace / "old" / "f1", workspace / "old" / "link1")
    before = walk(workspace)
    _run(cowsnap, backend, workspace, script)
    after = walk(workspace)
    undo(cowsnap, workspace)
    assert differences(before, walk(workspace)) == []
    redo(cowsnap, workspace)
    assert differences(after, walk(workspace)) == []
    undo(cowsnap, workspace)  # the redo, by its own run: it too keeps the names linked
    assert differences(before, walk(workspace)) == []
    assert os.lstat(workspace / "old" / "f1").st_nlink == 2


def _but_outside_time(tree: dict[bytes, Node]) -> dict[bytes, Node]:
    """`tree` without the time of the directory outside the workspace: a restore writes
    outside paths through a new name and a rename, and does not give it back."""
    return {path: node for path, node in tree.items() if path != b"out"}


def test_a_file_written_through_its_name_outside_the_workspace(
        cowsnap: Cowsnap, backend_workspace: tuple[str, Path]) -> None:
    """out/x and ws/y are one file; the command appends through out/x. ws/y is listed
    as written, linked to out/x, with the content it had; undo, redo and undoing the
    redo bring the content back under both names, still one file."""
    backend, workspace = backend_workspace
    outside = workspace.parent / "out"
    outside.mkdir()
    (outside / "x").write_text("one\n")
    if backend == "btrfs":  # the workspace is a subvolume: no hard link crosses into it
        with pytest.raises(OSError) as crossing:
            os.link(outside / "x", workspace / "y")
        assert crossing.value.errno == errno.EXDEV
        return
    os.link(outside / "x", workspace / "y")
    before = _but_outside_time(walk(workspace.parent))
    _run(cowsnap, backend, workspace, f"echo more >> {outside}/x")
    assert (workspace / "y").read_text() == "one\nmore\n"
    after = _but_outside_time(walk(workspace.parent))
    inside = entry(manifest(cowsnap, workspace), workspace / "y")
    assert "write" in inside["operations"], "written through its name outside"
    assert inside["before"]["size"] == len("one\n")
    assert [link["path"] for link in inside["before"]["links"]] == [str(outside / "x")]
    undo(cowsnap, workspace)
    assert differences(before, _but_outside_time(walk(workspace.parent))) == []
    redo(cowsnap, workspace)
    assert differences(after, _but_outside_time(walk(workspace.parent))) == []
    undo(cowsnap, workspace)  # the redo, by its own run
    assert differences(before, _but_outside_time(walk(workspace.parent))) == []
    assert os.lstat(workspace / "y").st_nlink == 2


def _directory_times(workspace: Path) -> list[int]:
    return [os.stat(path).st_mtime_ns for path in (workspace, workspace / "d")]


@pytest.mark.parametrize("renames", [False, True])
def test_directories_a_restore_writes_in_keep_their_times(
        cowsnap: Cowsnap, backend_workspace: tuple[str, Path], renames: bool) -> None:
    """Undo and redo write d/f through a temporary file and a rename: d, and the
    workspace holding it, get back the times they had before the restore when the run
    did not change them (d/f rewritten in place), and their recorded times when it did
    (sed -i renames a new d/g over the old)."""
    backend, workspace = backend_workspace
    (workspace / "d").mkdir()
    for name in ("f", "g"):
        (workspace / "d" / name).write_text("old\n")
    for path in (workspace / "d", workspace):
        os.utime(path, ns=(10**18, 10**18))
    times_before, before = _directory_times(workspace), walk(workspace)
    _run(cowsnap, backend, workspace,
         "printf new > d/f" + (" && sed -i s/o/O/ d/g" if renames else ""))
    times_after, after = _directory_times(workspace), walk(workspace)
    assert (times_after == times_before) != renames
    undo(cowsnap, workspace)
    assert _directory_times(workspace) == times_before
    assert differences(before, walk(workspace)) == []
    redo(cowsnap, workspace)
    assert _directory_times(workspace) == times_after
    assert differences(after, walk(workspace)) == []
    undo(cowsnap, workspace)  # the redo, by its own run
    assert _directory_times(workspace) == times_before


def test_a_directory_keeps_its_time_when_a_deeper_path_changes_after_it(
        cowsnap: Cowsnap, backend_workspace: tuple[str, Path]) -> None:
    """d is preserved at its first mutation (a new entry), then d/a/b/f at its own: on
    the lazy backends the kept d gained d/a then, and with it the time of that capture
    (as .git/logs did in git runs: a lock file in it, then logs/refs/heads/x)."""
    backend, workspace = backend_workspace
    (workspace / "d" / "a" / "b").mkdir(parents=True)
    (workspace / "d" / "a" / "b" / "f").write_text("old\n")
    for path in (workspace / "d" / "a" / "b", workspace / "d" / "a", workspace / "d"):
        os.utime(path, ns=(10**18, 10**18))
    _round_trip(cowsnap, backend, workspace, "touch d/new && echo new > d/a/b/f")
    data = manifest(cowsnap, workspace, runs(cowsnap, workspace)[2])
    assert entry(data, workspace / "d")["before"]["mtime_ns"] == 10**18


def test_links_made_and_removed_come_back_as_links(cowsnap: Cowsnap,
                                                   backend_workspace: tuple[str, Path]) -> None:
    backend, workspace = backend_workspace
    (workspace / "a.txt").write_text("one\n")
    os.link(workspace / "a.txt", workspace / "gone.txt")
    _round_trip(cowsnap, backend, workspace, "ln a.txt c.txt && rm gone.txt")


def test_a_file_written_through_a_link_the_run_made(cowsnap: Cowsnap,
                                                   backend_workspace: tuple[str, Path]) -> None:
    """The old name was only linked from, never written by name: it changed all the same
    (found by the restore property test on the lazy backends)."""
    backend, workspace = backend_workspace
    (workspace / "b.txt").write_text("")
    _round_trip(cowsnap, backend, workspace, "ln b.txt a.txt && printf x > a.txt")
    data = manifest(cowsnap, workspace, runs(cowsnap, workspace)[2])
    assert "write" in entry(data, workspace / "b.txt")["operations"]


def test_content_survives_the_run_pruning_git(cowsnap: Cowsnap,
                                              backend_workspace: tuple[str, Path]) -> None:
    backend, workspace = backend_workspace
    env = {**cowsnap.env(), "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com"}
    (workspace / "f.txt").write_text("committed\n")
    for command in (["git", "init", "-q"], ["git", "add", "f.txt"],
                    ["git", "commit", "-q", "-m", "c"]):
        subprocess.run(command, cwd=workspace, env=env, check=True, timeout=30)
    script = ("git rm -q f.txt && git commit -q -m gone && "
              "git reset -q --hard HEAD && git reflog expire --expire=now --all && "
              "git gc -q --prune=now && git checkout -q -b other")
    before = walk(workspace)
    subprocess.run([sys.executable, "-m", "cowsnap", "run", "--backend", backend, "--",
                    "sh", "-c", script], cwd=workspace, env=env, check=True, timeout=120)
    after = walk(workspace)
    assert not (workspace / "f.txt").exists()
    assert cowsnap("cat", "--before", "f.txt", cwd=workspace).stdout == b"committed\n"
    undo(cowsnap, workspace)
    assert differences(before, walk(workspace)) == []
    redo(cowsnap, workspace)
    assert differences(after, walk(workspace)) == []


def test_directories_renamed_across_the_workspace_boundary(
        cowsnap: Cowsnap, backend_workspace: tuple[str, Path]) -> None:
    backend, workspace = backend_workspace
    outside = workspace.parent / "outside"
    (outside / "d" / "sub").mkdir(parents=True)
    (outside / "d" / "sub" / "x.txt").write_text("from outside\n")
    (workspace / "w" / "sub").mkdir(parents=True)
    (workspace / "w" / "sub" / "y.txt").write_text("from inside\n")
    _round_trip(cowsnap, backend, workspace, f"mv {outside}/d indir && mv w {outside}/w",
                root=workspace.parent)
    if backend != "btrfs":  # a subvolume boundary: mv copies and deletes instead
        data = manifest(cowsnap, workspace, runs(cowsnap, workspace)[2])
        moved = entry(data, workspace / "indir" / "sub" / "x.txt")
        assert moved["renamed_from"] == str(outside / "d" / "sub" / "x.txt")


def test_files_the_command_inherits_open_for_writing(
        cowsnap: Cowsnap, backend_workspace: tuple[str, Path]) -> None:
    backend, workspace = backend_workspace
    (workspace / "build.log").write_text("old\n")
    (workspace / "f").write_text("f\n")
    before = walk(workspace)
    command = (f"{sys.executable} -m cowsnap run --backend {backend} -- "
               "sh -c 'echo more; echo three >&3' >> build.log 3>> f")
    subprocess.run(["sh", "-c", command], cwd=workspace, env=cowsnap.env(), check=True,
                   timeout=60)
    after = walk(workspace)
    assert (workspace / "build.log").read_text() == "old\nmore\n"
    assert (workspace / "f").read_text() == "f\nthree\n"
    data = manifest(cowsnap, workspace)
    assert entry(data, workspace / "build.log")["operations"] == ["write"]
    undo(cowsnap, workspace)
    assert differences(before, walk(workspace)) == []
    redo(cowsnap, workspace)
    assert differences(after, walk(workspace)) == []


def test_fifos_come_back(cowsnap: Cowsnap, backend_workspace: tuple[str, Path]) -> None:
    backend, workspace = backend_workspace
    os.mkfifo(workspace / "old")
    _round_trip(cowsnap, backend, workspace, "rm old && mkfifo new")
    assert stat.S_ISFIFO(os.lstat(workspace / "new").st_mode)


def test_group_xattrs_acls_and_directory_times_come_back(
        cowsnap: Cowsnap, backend_workspace: tuple[str, Path], root_required: None) -> None:
    backend, workspace = backend_workspace
    (workspace / "d").mkdir()
    (workspace / "d" / "f.txt").write_text("a\n")
    os.chown(workspace / "d" / "f.txt", 0, 4321)
    os.setxattr(workspace / "d" / "f.txt", "user.note", b"kept")
    subprocess.run(["setfacl", "-m", "u:nobody:r", str(workspace / "d" / "f.txt")], check=True)
    (workspace / "d" / "g.txt").write_text("g\n")
    _round_trip(cowsnap, backend, workspace,
                "sed -i s/a/b/ d/f.txt && rm d/g.txt && touch d/h.txt && "
                "chgrp 1234 d/f.txt && setfattr -n user.note -v changed d/f.txt")
    data = manifest(cowsnap, workspace, runs(cowsnap, workspace)[2])
    kept = entry(data, workspace / "d" / "f.txt")["before"]
    assert kept["gid"] == 4321
    assert {"user.note", "system.posix_acl_access"} <= set(kept["xattrs"])


def test_renames_are_linked_and_diffed_as_renames(
        cowsnap: Cowsnap, backend_workspace: tuple[str, Path]) -> None:
    backend, workspace = backend_workspace
    (workspace / "x").write_text("moved\n")
    (workspace / "y").write_text("replaced\n")
    _round_trip(cowsnap, backend, workspace, "mv x y")
    data = manifest(cowsnap, workspace, runs(cowsnap, workspace)[2])
    destination = entry(data, workspace / "y")
    assert "rename" in destination["operations"] and "create" not in destination["operations"]
    assert destination["renamed_from"] == str(workspace / "x")
    assert entry(data, workspace / "x")["renamed_to"] == str(workspace / "y")
    text = cowsnap("diff", runs(cowsnap, workspace)[2], cwd=workspace).stdout
    assert b"rename from x\nrename to y\n" in text


def test_a_missing_content_is_listed_and_skipped(cowsnap: Cowsnap,
                                                 backend_workspace: tuple[str, Path]) -> None:
    backend, workspace = backend_workspace
    (workspace / "a.txt").write_text("a before\n")
    (workspace / "b.txt").write_text("b before\n")
    _run(cowsnap, backend, workspace, "echo after > a.txt; echo after > b.txt")
    blob = entry(manifest(cowsnap, workspace), workspace / "a.txt")["before"]["blob"]
    (cowsnap.store / "objects.git" / "objects" / blob[:2] / blob[2:]).unlink()
    result = cowsnap("restore", cwd=workspace, check=False)
    assert result.returncode == 1
    assert b"a.txt: content not available" in result.stderr
    assert (workspace / "b.txt").read_text() == "b before\n"
    assert (workspace / "a.txt").read_text() == "after\n"


@pytest.mark.parametrize("shown", ["utime", "touch"])
def test_show_diff_and_restore_agree_on_a_time_change(
        cowsnap: Cowsnap, backend_workspace: tuple[str, Path], shown: str) -> None:
    backend, workspace = backend_workspace
    (workspace / "f").write_text("same\n")
    os.utime(workspace / "f", ns=(10**18, 10**18))
    script = {"utime": f"{sys.executable} -c \"import os; os.utime('f', ns=(1, 1))\"",
              "touch": "touch f"}[shown]
    _run(cowsnap, backend, workspace, script)
    assert b"\n.m f  [" in cowsnap("show", cwd=workspace).stdout
    assert cowsnap("diff", "--name-status", cwd=workspace).stdout == b"M\tf\n"
    preview = cowsnap("restore", "--dry-run", cwd=workspace).stdout.split()
    assert preview == [b"metadata", b"f"]


@pytest.mark.parametrize("script", ["echo two >> d2/b && mv d1 d3",
                                    "mv d1 d3 && echo two >> d3/a && rm d2/b"])
def test_names_of_a_file_beneath_a_renamed_directory(cowsnap: Cowsnap,
                                                     backend_workspace: tuple[str, Path],
                                                     script: str) -> None:
    """A name moved with its directory is preserved with the directory, never hooked on
    its own: written through its other name before the move, or through the moved name
    before the other is removed, both names still come back as one file with the
    content from before the run."""
    backend, workspace = backend_workspace
    for name in ("d1", "d2"):
        (workspace / name).mkdir()
    (workspace / "d1" / "a").write_text("one\n")
    os.link(workspace / "d1" / "a", workspace / "d2" / "b")
    _round_trip(cowsnap, backend, workspace, script)
    data = manifest(cowsnap, workspace, runs(cowsnap, workspace)[2])
    assert [link["path"] for link in entry(data, workspace / "d1" / "a")["before"]["links"]] \
        == [str(workspace / "d2" / "b")]


def test_a_log_taking_cowsnaps_own_messages_too(cowsnap: Cowsnap,
                                                backend_workspace: tuple[str, Path]) -> None:
    """`cowsnap run -- make >> build.log 2>&1`: cowsnap's summary, printed after the log's
    after-state was taken, would make the log differ from it and the undo refuse."""
    backend, workspace = backend_workspace
    (workspace / "build.log").write_text("old\n")
    before = walk(workspace)
    command = (f"{sys.executable} -m cowsnap run --backend {backend} -- "
               "sh -c 'echo built; echo warned >&2' >> build.log 2>&1")
    subprocess.run(["sh", "-c", command], cwd=workspace, env=cowsnap.env(), check=True,
                   timeout=60)
    after = walk(workspace)
    assert (workspace / "build.log").read_text() == "old\nbuilt\nwarned\n"
    undo(cowsnap, workspace)
    assert differences(before, walk(workspace)) == []
    redo(cowsnap, workspace)
    assert differences(after, walk(workspace)) == []


def test_a_directory_keeps_its_time_when_the_run_left_nothing_in_it(
        cowsnap: Cowsnap, backend_workspace: tuple[str, Path]) -> None:
    """A lock file made and removed (git's refs/heads/main.lock) changes only its
    directory's time: nothing else needs restoring there, the time still does."""
    backend, workspace = backend_workspace
    (workspace / "d").mkdir()
    os.utime(workspace / "d", ns=(10**18, 10**18))
    _round_trip(cowsnap, backend, workspace, "touch d/main.lock && rm d/main.lock")


BY_HANDLE = """
import ctypes, os, sys
libc = ctypes.CDLL(None, use_errno=True)
class Handle(ctypes.Structure):
    _fields_ = [("size", ctypes.c_uint), ("type", ctypes.c_int),
                ("data", ctypes.c_ubyte * 128)]
handle, mount = Handle(size=128), ctypes.c_int()
assert libc.name_to_handle_at(-100, b"f", ctypes.byref(handle), ctypes.byref(mount), 0) == 0
fd = libc.open_by_handle_at(os.open(".", os.O_RDONLY), ctypes.byref(handle),
                            os.O_WRONLY | os.O_APPEND)
assert fd >= 0, os.strerror(ctypes.get_errno())
os.write(fd, b"by handle")
"""


def test_a_file_opened_by_handle_is_a_warning(cowsnap: Cowsnap, ext4_workspace: Path,
                                              root_required: None) -> None:
    """open_by_handle_at names no path: what the tracer cannot see is said."""
    (ext4_workspace / "f").write_text("old\n")
    cowsnap("run", "--", sys.executable, "-c", BY_HANDLE, cwd=ext4_workspace)
    assert (ext4_workspace / "f").read_text() == "old\nby handle"
    [warning] = manifest(cowsnap, ext4_workspace)["warnings"]
    assert "open_by_handle_at" in warning and "not recorded" in warning


def test_diff_now_sees_group_and_attributes_as_a_run_diff_does(
        cowsnap: Cowsnap, ext4_workspace: Path, root_required: None) -> None:
    """`diff --now` compares the run's after-state with the workspace in the same terms
    as `diff` compares a run's two states: a group or extended attribute changed since
    is a change (the state read now left them out)."""
    (ext4_workspace / "f").write_text("a\n")
    _run(cowsnap, "copy", ext4_workspace, "echo b > f")
    assert cowsnap("diff", "--now", cwd=ext4_workspace).stdout == b""
    os.chown(ext4_workspace / "f", -1, 4321)
    os.setxattr(ext4_workspace / "f", "user.note", b"later")
    assert cowsnap("diff", "--now", cwd=ext4_workspace).stdout == \
        b"diff --git a/f b/f\nmetadata changed: group, xattrs\n"
    os.chmod(ext4_workspace / "f", 0o600)  # the mode lines do not hide the rest
    assert cowsnap("diff", "--now", cwd=ext4_workspace).stdout == \
        b"diff --git a/f b/f\nold mode 100644\nnew mode 100600\n" \
        b"metadata changed: group, xattrs\n"
