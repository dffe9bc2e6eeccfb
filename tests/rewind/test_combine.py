"""Folding runs into one manifest: oldest before-state, newest after-state, per path."""

from __future__ import annotations

import pytest

from cowsnap.model import FileEntry, FileState, Manifest, Operation
from cowsnap.restore.rewind import combine

ABSENT = FileState(exists=False)


def content(blob: str) -> FileState:
    return FileState(exists=True, type="file", mode=0o100644, size=1, mtime_ns=1, uid=0,
                     blob=blob, blob_source="store")


def run(run_id: str, *entries: FileEntry, workspace: str = "/w") -> Manifest:
    return Manifest(run_id=run_id, tool_version="t", command=("x",), exit_status=0,
                    start_cwd=workspace, workspace=workspace, backend="copy", uid=0, gid=0,
                    started_at=run_id, finished_at=run_id + "-end", files=entries)


def entry(path: bytes, before: FileState, after: FileState,
          *operations: Operation) -> FileEntry:
    return FileEntry(path=path, operations=operations, before=before, after=after)


A, B, C = "a" * 40, "b" * 40, "c" * 40


def test_each_path_goes_from_its_first_before_to_its_last_after() -> None:
    first = run("1", entry(b"/w/f", content(A), content(B), Operation.WRITE),
                entry(b"/w/read", content(A), content(A), Operation.READ))
    second = run("2", entry(b"/w/f", content(B), ABSENT, Operation.DELETE),
                 entry(b"/w/g", ABSENT, content(C), Operation.CREATE),
                 entry(b"/w/read", content(C), content(C), Operation.READ))
    combined = combine([first, second])
    by_path = {item.path: item for item in combined.files}
    assert set(by_path) == {b"/w/f", b"/w/g"}
    assert by_path[b"/w/f"].before == content(A) and by_path[b"/w/f"].after == ABSENT
    assert set(by_path[b"/w/f"].operations) == {Operation.WRITE, Operation.DELETE}
    assert by_path[b"/w/g"].before == ABSENT and by_path[b"/w/g"].after == content(C)
    assert combined.run_id == "1" and combined.finished_at == "2-end"


def test_a_path_only_read_later_keeps_the_state_its_writer_left() -> None:
    first = run("1", entry(b"/w/f", content(A), content(B), Operation.WRITE))
    second = run("2", entry(b"/w/f", content(B), content(B), Operation.READ))
    (only,) = combine([first, second]).files
    assert only.after == content(B)


def test_runs_of_several_workspaces_are_refused() -> None:
    with pytest.raises(ValueError, match="several workspaces"):
        combine([run("1"), run("2", workspace="/other")])
    with pytest.raises(ValueError):
        combine([])
