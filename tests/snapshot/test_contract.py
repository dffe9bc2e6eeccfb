"""One contract, every backend, on real filesystems.

The live tree is changed in every way a command can change it, each mutation
preceded by `capture` exactly as the tracer's pre-mutation hook would do; the
snapshot must still show the exact before-state.
"""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from cowsnap.snapshot.base import Backend, Snapshot
from tests.snapshot.conftest import wait_until_deleted

NON_UTF8 = b"caf\xe9.txt"


@dataclass(frozen=True)
class Node:
    """What a path looked like: type, permission bits, mtime, and content or target."""

    kind: str
    mode: int
    mtime_ns: int
    payload: bytes | None


def describe(path: bytes) -> Node:
    status = os.lstat(path)
    if stat.S_ISLNK(status.st_mode):
        return Node("symlink", 0, status.st_mtime_ns, os.readlink(path))
    mode = stat.S_IMODE(status.st_mode)
    if stat.S_ISDIR(status.st_mode):
        return Node("directory", mode, status.st_mtime_ns, None)
    with open(path, "rb") as file:
        return Node("file", mode, status.st_mtime_ns, file.read())


def describe_tree(root: bytes) -> dict[bytes, Node]:
    nodes = {root: describe(root)}
    for directory, subdirectories, files in os.walk(root):
        for name in subdirectories + files:
            path = os.path.join(directory, name)
            nodes[path] = describe(path)
    return nodes


def write(path: bytes, content: bytes, mode: int = 0o644) -> None:
    with open(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode), "wb") as file:
        file.write(content)


def build_tree(root: bytes) -> None:
    def at(*parts: bytes) -> bytes:
        return os.path.join(root, *parts)

    for name in [b"keep", b"overwrite", b"append", b"truncate", b"delete", b"rename-from",
                 b"rename-to", b"becomes-symlink", NON_UTF8]:
        write(at(name), b"before: " + name + b"\n")
    write(at(b"script.sh"), b"#!/bin/sh\n", 0o755)
    os.symlink(b"keep", at(b"link"))
    os.makedirs(at(b"becomes-file"))
    write(at(b"becomes-file", b"inner"), b"inner\n")
    os.makedirs(at(b"tree", b"a", b"b"))
    write(at(b"tree", b"a", b"b", b"deep"), b"deep\n", 0o600)
    write(at(b"tree", b"a", b"sibling"), b"sibling\n")
    os.symlink(b"../sibling", at(b"tree", b"a", b"b", b"up"))
    os.makedirs(at(b"moved", b"sub"))
    write(at(b"moved", b"sub", b"file"), b"moved\n")
    os.chmod(at(b"moved", b"sub"), 0o750)
    os.utime(root, ns=(1_000_000_000, 1_000_000_000))


class Mutator:
    """Mutations, each preceded by the captures the tracer would make."""

    def __init__(self, root: bytes, snapshot: Snapshot) -> None:
        self.root = root
        self.snapshot = snapshot

    def at(self, *parts: bytes) -> bytes:
        return os.path.join(self.root, *parts)

    def write(self, path: bytes, content: bytes, *, append: bool = False) -> None:
        self.snapshot.capture(path)
        flags = os.O_WRONLY | os.O_CREAT | (os.O_APPEND if append else os.O_TRUNC)
        with open(os.open(path, flags, 0o644), "wb") as file:
            file.write(content)

    def truncate(self, path: bytes, size: int) -> None:
        self.snapshot.capture(path)
        os.truncate(path, size)

    def unlink(self, path: bytes) -> None:
        self.snapshot.capture(path)
        os.unlink(path)

    def rename(self, source: bytes, destination: bytes) -> None:
        self.snapshot.capture(source, subtree=os.path.isdir(source))
        self.snapshot.capture(destination)
        os.rename(source, destination)

    def symlink(self, target: bytes, path: bytes) -> None:
        self.snapshot.capture(path)
        os.symlink(target, path)

    def mkdir(self, path: bytes) -> None:
        self.snapshot.capture(path)
        os.mkdir(path)

    def chmod(self, path: bytes, mode: int) -> None:
        self.snapshot.capture(path)
        os.chmod(path, mode)

    def remove_tree(self, top: bytes) -> None:
        """Like rm -rf: children first, each unlink and rmdir captured."""
        for directory, subdirectories, files in os.walk(top, topdown=False):
            for name in files + [d for d in subdirectories
                                 if os.path.islink(os.path.join(directory, d))]:
                self.unlink(os.path.join(directory, name))
            for name in subdirectories:
                path = os.path.join(directory, name)
                if not os.path.islink(path):
                    self.snapshot.capture(path)
                    os.rmdir(path)
        self.snapshot.capture(top)
        os.rmdir(top)


NEW_PATHS = [b"new-file", b"new-dir", b"new-dir/child", b"moved-away",
             b"moved-away/sub/file", b"rename-from", b"tree", b"tree/a/sibling"]


def mutate_everything(m: Mutator) -> None:
    m.write(m.at(b"overwrite"), b"after\n")
    m.write(m.at(b"append"), b"more\n", append=True)
    m.truncate(m.at(b"truncate"), 3)
    m.unlink(m.at(b"delete"))
    m.rename(m.at(b"rename-from"), m.at(b"rename-to"))
    m.unlink(m.at(b"becomes-symlink"))
    m.symlink(b"/etc/hostname", m.at(b"becomes-symlink"))
    m.remove_tree(m.at(b"becomes-file"))
    m.write(m.at(b"becomes-file"), b"now a file\n")
    m.chmod(m.at(b"script.sh"), 0o600)
    m.remove_tree(m.at(b"tree"))
    m.unlink(m.at(b"link"))
    m.symlink(b"overwrite", m.at(b"link"))
    m.write(m.at(NON_UTF8), b"after\n")
    m.write(m.at(b"new-file"), b"new\n")
    m.mkdir(m.at(b"new-dir"))
    m.write(m.at(b"new-dir", b"child"), b"child\n")
    m.rename(m.at(b"moved"), m.at(b"moved-away"))
    m.write(m.at(b"moved-away", b"sub", b"file"), b"changed after the move\n")


def test_before_state_survives_every_mutation(backend: Backend, workspace: Path) -> None:
    root = os.fsencode(workspace)
    build_tree(root)
    before = describe_tree(root)
    snapshot = backend.prepare(workspace)
    try:
        mutate_everything(Mutator(root, snapshot))
        for path, node in before.items():
            located = snapshot.locate(path)
            assert located is not None, f"{path!r} existed before but is not located"
            assert describe(located) == node, path
        for relative in NEW_PATHS:
            if os.path.join(root, relative) not in before:
                assert snapshot.locate(os.path.join(root, relative)) is None, relative
    finally:
        snapshot.release()


def test_paths_beneath_a_symlink_loop_did_not_exist(backend: Backend, workspace: Path) -> None:
    root = os.fsencode(workspace)
    loop = os.path.join(root, b"d")
    os.symlink(b"d", loop)
    with backend.prepare(workspace) as snapshot:
        snapshot.capture(os.path.join(loop, b"e"))
        assert snapshot.locate(os.path.join(loop, b"e")) is None
        snapshot.capture(loop)
        os.unlink(loop)
        located = snapshot.locate(loop)
        assert located is not None and os.readlink(located) == b"d"


def test_outside_paths_are_ignored(backend: Backend, workspace: Path) -> None:
    with backend.prepare(workspace) as snapshot:
        snapshot.capture(b"/etc/hostname")
        assert snapshot.locate(b"/etc/hostname") is None


def test_before_state_is_read_only(backend: Backend, workspace: Path) -> None:
    target = os.path.join(os.fsencode(workspace), b"file")
    write(target, b"before\n")
    with backend.prepare(workspace) as snapshot:
        snapshot.capture(target)
        os.unlink(target)
        located = snapshot.locate(target)
        assert located is not None
        with pytest.raises(OSError):
            write(located, b"tampered\n")
        with open(located, "rb") as file:
            assert file.read() == b"before\n"


def test_release_leaves_nothing_behind(backend: Backend, workspace: Path) -> None:
    write(os.path.join(os.fsencode(workspace), b"file"), b"x")
    snapshot = backend.prepare(workspace)
    assert snapshot.backend == backend.name
    snapshot.capture(os.path.join(os.fsencode(workspace), b"file"))
    location = snapshot.location
    assert location is not None and location.exists()
    assert stat.S_IMODE(location.stat().st_mode) == 0o700
    staging = location.parent
    before = set(os.listdir(staging))
    snapshot.release()
    snapshot.release()
    assert not location.exists()
    assert sorted(os.listdir(workspace)) == ["file"]
    wait_until_deleted(staging, set(os.listdir(staging)) - before)


PREPARE_AND_WAIT = """
import sys
from pathlib import Path
from cowsnap.snapshot.registry import backend_named
snapshot = backend_named(sys.argv[1]).prepare(Path(sys.argv[2]))
snapshot.capture(sys.argv[3].encode())
print(snapshot.location, flush=True)
sys.stdin.read()
"""


def test_leftovers_of_a_killed_process_are_removed_at_next_start(
        backend: Backend, workspace: Path) -> None:
    victim = os.path.join(os.fsencode(workspace), b"file")
    write(victim, b"x")
    child = subprocess.Popen(
        [sys.executable, "-c", PREPARE_AND_WAIT, backend.name, str(workspace),
         os.fsdecode(victim)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None
        leftover = Path(child.stdout.readline().strip())
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)
    assert leftover.exists()
    with backend.prepare(workspace) as snapshot:
        assert not leftover.exists()
        assert snapshot.location is not None and snapshot.location.exists()
    assert backend.cleanup_stale(workspace) == []


def test_cleanup_spares_live_owners(backend: Backend, workspace: Path) -> None:
    with backend.prepare(workspace) as snapshot:
        assert backend.cleanup_stale(workspace) == []
        assert snapshot.location is not None and snapshot.location.exists()


def test_every_name_of_a_file_keeps_the_first_preserved_state(backend: Backend,
                                                              workspace: Path) -> None:
    """Written, chmod-ed and removed through one name, a second name preserved afterwards
    (with its renamed directory) still shows the file as it was, and the same inode."""
    root = os.fsencode(workspace)
    for name in (b"d1", b"d2"):
        os.mkdir(os.path.join(root, name))
    first, second = os.path.join(root, b"d1", b"a"), os.path.join(root, b"d2", b"b")
    write(first, b"one\n", 0o640)
    os.link(first, second)
    before = describe(first)
    inode = os.lstat(first).st_ino
    with backend.prepare(workspace) as snapshot:
        snapshot.capture(first)
        write(first, b"two\n")
        os.chmod(first, 0o600)
        os.unlink(first)  # the second name is now the only one
        snapshot.capture(os.path.join(root, b"d2"), subtree=True)
        os.rename(os.path.join(root, b"d2"), os.path.join(root, b"d3"))
        for name in (first, second):
            located = snapshot.locate(name)
            assert located is not None and describe(located) == before, name
            found = snapshot.inode_before(name)
            assert found is not None and (found[0][1], found[1]) == (inode, 2), name
