"""The restore's own run names what it does to each path as `compare` sees it."""

from __future__ import annotations

import dataclasses
import itertools

from cowsnap.model import (
    ABSENT,
    Aspect,
    FileState,
    Operation,
    compare,
    sort_operations,
    stored,
)
from cowsnap.restore.journal import restore_operations

FILE = FileState(exists=True, type="file", mode=0o100644, size=3, mtime_ns=10, uid=1,
                 gid=1, blob="a" * 40)
STATES = [
    ABSENT, FILE,
    dataclasses.replace(FILE, blob="b" * 40),
    dataclasses.replace(FILE, mode=0o100600),
    dataclasses.replace(FILE, blob=None, size=4),
    dataclasses.replace(FILE, blob=None, mtime_ns=11),
    dataclasses.replace(FILE, blob=None),
    dataclasses.replace(FILE, blob="large-1"),
    FileState(exists=True, type="symlink", mode=0o120777, size=1, mtime_ns=10, target=b"x"),
    FileState(exists=True, type="symlink", mode=0o120777, size=1, mtime_ns=12, target=b"y"),
    FileState(exists=True, type="directory", mode=0o40755, mtime_ns=10, uid=1),
    FileState(exists=True, type="directory", mode=0o40700, mtime_ns=10, uid=1),
    FileState(exists=True, type="fifo", mode=0o10644, mtime_ns=10),
]


def _by_compare(current: FileState, want: FileState) -> tuple[Operation, ...]:
    """The definition: the operations that `compare(current, want)` calls for."""
    made = Operation.MKDIR if want.type == "directory" else Operation.CREATE
    if not want.exists:
        return (Operation.DELETE,)
    if not current.exists:
        return (made,)
    if current.type != want.type:
        return sort_operations({Operation.DELETE, made})
    if compare(current, want) & {Aspect.CONTENT, Aspect.TARGET}:
        return (Operation.WRITE,)
    return (Operation.METADATA,)


def test_operations_agree_with_compare_for_every_pair_of_states() -> None:
    for current, want in itertools.product(STATES, repeat=2):
        assert restore_operations(current, want) == _by_compare(current, want), \
            (current, want)


def test_stored_changes_only_where_the_content_is_kept() -> None:
    every_field = FileState(
        exists=True, type="file", mode=0o100644, size=3, mtime_ns=10, uid=1, gid=2,
        blob="a" * 40, blob_source="git", target=b"t", xattrs=(("user.a", b"1"),),
        links=(b"/w/b",), tombstone=True, not_captured="why")
    assert all(getattr(every_field, field.name) != field.default
               for field in dataclasses.fields(FileState) if field.name != "exists")
    assert stored(every_field, "c" * 40) == dataclasses.replace(
        every_field, blob="c" * 40, blob_source="store")
