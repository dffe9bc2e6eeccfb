"""A snapshot keeps each path's attributes exactly, ACLs included, also where new files
are born with an ACL (a directory's default ACL): a copy made beneath a preserved
directory that has one, or in a snapshot directory that inherits one, must not show an
ACL its original never had (undoing the run would then give the file that ACL)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from cowsnap.model import Xattrs
from cowsnap.snapshot.base import Backend, Snapshot
from cowsnap.snapshot.registry import backend_named
from cowsnap.xattrs import read_xattrs
from tests.snapshot.conftest import CASES
from tests.snapshot.test_contract import write
from tests.snapshot.test_snapshot_unprivileged import NOBODY, run_as_nobody

ACCESS = "system.posix_acl_access"
DEFAULT = "system.posix_acl_default"


def setfacl(*args: str | bytes | Path) -> None:
    subprocess.run(["setfacl", *args], check=True, timeout=60)


def build(root: bytes) -> None:
    """A workspace whose directory hands new files an ACL, holding paths without one,
    a file with an ACL of its own, and a directory with another default ACL."""
    setfacl("-d", "-m", "u:nobody:r", root)
    for name in (b"plain", b"own"):
        write(os.path.join(root, name), b"before\n")
    os.mkdir(os.path.join(root, b"bare"))
    write(os.path.join(root, b"bare", b"inner"), b"before\n")
    setfacl("-R", "-b", os.path.join(root, b"bare"), os.path.join(root, b"plain"))
    setfacl("-b", os.path.join(root, b"own"))
    setfacl("-m", "u:nobody:-", os.path.join(root, b"own"))
    os.setxattr(os.path.join(root, b"own"), "user.note", b"own's")
    os.mkdir(os.path.join(root, b"shared"))
    setfacl("-d", "-m", "u:nobody:rw", os.path.join(root, b"shared"))
    write(os.path.join(root, b"shared", b"inner"), b"before\n")
    write(os.path.join(root, b"shared", b"plain"), b"before\n")
    setfacl("-b", os.path.join(root, b"shared", b"plain"))
    os.mkdir(os.path.join(root, b"moved"))
    write(os.path.join(root, b"moved", b"inner"), b"before\n")
    os.makedirs(os.path.join(root, b"deep", b"er"))
    write(os.path.join(root, b"deep", b"er", b"inner"), b"before\n")
    setfacl("-R", "-b", os.path.join(root, b"moved"), os.path.join(root, b"deep"))


def attributes_of(root: bytes) -> dict[bytes, Xattrs | None]:
    found: dict[bytes, Xattrs | None] = {root: read_xattrs(root)}
    for directory, subdirectories, files in os.walk(root):
        for name in subdirectories + files:
            path = os.path.join(directory, name)
            found[path] = read_xattrs(path)
    return found


def mutate(root: bytes, snapshot: Snapshot) -> None:
    """Rewrite every file (each captured first, as the tracer would; `deep/er/inner`
    before `deep`, which is first kept as a mere ancestor) and rename `moved`, then
    `deep`."""
    for relative in (b"plain", b"own", b"bare/inner", b"shared/inner", b"shared/plain",
                     b"deep/er/inner"):
        path = os.path.join(root, relative)
        snapshot.capture(path)
        write(path, b"after\n")
    moved = os.path.join(root, b"moved")
    snapshot.capture(moved, subtree=True)
    snapshot.capture(moved + b"-away")
    os.rename(moved, moved + b"-away")
    deep = os.path.join(root, b"deep")
    snapshot.capture(deep, subtree=True)
    snapshot.capture(deep + b"-away")
    os.rename(deep, deep + b"-away")


def assert_attributes_kept(root: bytes, snapshot: Snapshot,
                           before: dict[bytes, Xattrs | None]) -> None:
    assert before[os.path.join(root, b"plain")] == ()
    assert before[os.path.join(root, b"bare")] == ()
    assert {name for name, _ in before[os.path.join(root, b"shared", b"inner")] or ()} \
        == {ACCESS}
    for path, attributes in before.items():
        located = snapshot.locate(path)
        assert located is not None, path
        assert read_xattrs(located) == attributes, path


@pytest.mark.parametrize("handed_down_by", ["workspace", "a directory in it"])
def test_attributes_are_kept_exactly_beneath_a_default_acl(
        backend: Backend, workspace: Path, handed_down_by: str) -> None:
    root = os.fsencode(workspace)
    build(root)
    if handed_down_by != "workspace":
        setfacl("-k", root)  # only `shared` hands ACLs down
    before = attributes_of(root)
    with backend.prepare(workspace) as snapshot:
        mutate(root, snapshot)
        assert_attributes_kept(root, snapshot, before)


@pytest.mark.parametrize("case", [case for case in CASES if case.backend == "copy"],
                         ids=lambda case: case.id)
def test_attributes_are_kept_exactly_where_snapshots_inherit_an_acl(
        backend: Backend, workspace: Path, isolated_home: Path) -> None:
    """The copy backend keeps its snapshots in the user's cache: one given a default ACL
    (as a shared home may be) hands it to every copy."""
    setfacl("-d", "-m", "u:nobody:r", isolated_home)
    root = os.fsencode(workspace)
    build(root)
    setfacl("-k", root)  # only `shared` and the snapshot's directory hand ACLs down
    before = attributes_of(root)
    with backend.prepare(workspace) as snapshot:
        location = snapshot.location
        assert location is not None and isolated_home in location.parents
        assert DEFAULT in os.listxattr(location)
        mutate(root, snapshot)
        assert_attributes_kept(root, snapshot, before)


@pytest.mark.usefixtures("root_required")
def test_a_non_root_owner_keeps_attributes_exactly(
        ext4_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """As the workspace's unprivileged owner, whose home hands its snapshots a default
    ACL too (a copy's inherited ACL is the owner's to remove)."""
    os.chmod(ext4_dir, 0o755)
    home, workspace = ext4_dir / "home", ext4_dir / "workspace"
    home.mkdir()
    workspace.mkdir()
    root = os.fsencode(workspace)
    build(root)
    setfacl("-d", "-m", "u:root:r", home)
    subprocess.run(["chown", "-R", f"{NOBODY}:{NOBODY}", str(home), str(workspace)],
                   check=True, timeout=60)
    before = attributes_of(root)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)

    def mutate_and_check() -> None:
        with backend_named("copy").prepare(workspace) as snapshot:
            mutate(root, snapshot)
            assert_attributes_kept(root, snapshot, before)

    assert run_as_nobody(mutate_and_check) == ""
