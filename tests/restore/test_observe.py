"""Examining the current state of the paths to restore: what is at each path, never
through a symlink, and a directory found not there looked for once, not once per path
in it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from cowsnap.model import ABSENT, FileEntry, FileState, Operation
from cowsnap.restore.beneath import Roots
from cowsnap.restore.observe import observe_all
from cowsnap.restore.plan import Target
from cowsnap.store.content import blob_id


def target(path: bytes) -> Target:
    want = FileState(exists=True, type="file", mode=0o100644, size=2, mtime_ns=1, uid=0,
                     blob="a" * 40, blob_source="store", xattrs=())
    entry = FileEntry(path=path, operations=(Operation.WRITE,), before=want, after=ABSENT)
    return Target(entry, want, ABSENT)


def test_paths_in_a_directory_not_there_are_absent_and_it_is_looked_for_once(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    workspace = tmp_path / "ws"
    (workspace / "sub").mkdir(parents=True)
    (workspace / "a").write_bytes(b"a\n")
    (workspace / "sub" / "b").write_bytes(b"bb\n")
    (workspace / "plain").write_bytes(b"")
    (workspace / "link").symlink_to("sub")
    root = os.fsencode(workspace)
    names = [b"a", b"new/x", b"new/y", b"new/deeper/z", b"new/deeper/w", b"link/b",
             b"plain/c", b"sub/b"]
    opened: list[bytes] = []
    open_parent = Roots.open_parent

    def counted(roots: Roots, path: bytes) -> tuple[int, bytes]:
        opened.append(os.path.relpath(path, root))
        return open_parent(roots, path)

    monkeypatch.setattr(Roots, "open_parent", counted)
    with Roots(root) as roots:
        found = observe_all(roots, [target(root + b"/" + name) for name in names],
                            recorded_here=False)
    states = {os.path.relpath(path, root): current.state for path, current in found.items()}
    assert states[b"a"].blob == blob_id(b"a\n") and states[b"a"].size == 2
    assert states[b"sub/b"].blob == blob_id(b"bb\n")
    assert all(current.problem is None for current in found.values())
    assert {name for name, state in states.items() if not state.exists} == {
        b"new/x", b"new/y", b"new/deeper/z", b"new/deeper/w", b"link/b", b"plain/c"}
    assert sorted(opened) == [b"a", b"link/b", b"new/deeper/z", b"new/x", b"plain/c",
                              b"sub/b"]
