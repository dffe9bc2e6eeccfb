"""What changed between two states of one path: the one definition that `show`, `diff`,
`restore` and the restore's own record all use, and the status letters it prints as.

A content is compared by its id when both sides carry a hash id; otherwise by size
and modification time (git's stat rule), unless the caller knows nothing could have
rewritten it (no content-changing operation happened in between): then equal sizes
mean an equal content, so `os.utime` or `chmod` is a metadata change, never a content one.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum

from cowsnap.model.entry import FileEntry
from cowsnap.model.operations import CHANGES_CONTENT, Operation
from cowsnap.model.state import LARGE_PREFIX, FileState


class Aspect(StrEnum):
    """One way a path can differ between two states."""

    CREATED = "created"
    DELETED = "deleted"
    TYPE = "type"
    CONTENT = "content"
    TARGET = "target"
    MODE = "mode"
    OWNER = "owner"
    GROUP = "group"
    TIMES = "times"
    XATTRS = "xattrs"


Change = frozenset[Aspect]
UNCHANGED: Change = frozenset()
METADATA: Change = frozenset({Aspect.MODE, Aspect.OWNER, Aspect.GROUP, Aspect.TIMES,
                              Aspect.XATTRS})
"""What a restore sets on a path in place, without rewriting its content."""
_CREATED, _DELETED, _TYPE = (frozenset({aspect}) for aspect in (
    Aspect.CREATED, Aspect.DELETED, Aspect.TYPE))
_TARGET, _CONTENT, _MODE, _OWNER, _GROUP, _TIMES, _XATTRS = (
    Aspect.TARGET, Aspect.CONTENT, Aspect.MODE, Aspect.OWNER, Aspect.GROUP, Aspect.TIMES,
    Aspect.XATTRS)
"""Looked up once: `compare` runs several times per path of a restore."""
_FIRST_LETTERS = ((Aspect.CREATED, "+"), (Aspect.DELETED, "-"), (Aspect.TYPE, "t"),
                  (Aspect.CONTENT, "c"), (Aspect.TARGET, "c"))
_METADATA_BUT_TIMES = METADATA - {Aspect.TIMES}


def same_content(a: FileState, b: FileState, *, rewritten: bool = True) -> bool:
    """Whether two regular files hold the same bytes, as far as the states tell.

    `rewritten=False`: nothing wrote to the file between the two states."""
    first, second = a.blob, b.blob
    if first is not None and second is not None and not first.startswith(LARGE_PREFIX) \
            and not second.startswith(LARGE_PREFIX):
        return first == second
    if a.size != b.size:
        return False
    return not rewritten or a.mtime_ns == b.mtime_ns


_PERMISSIONS = 0o7777
"""`stat.S_IMODE`'s bits, tested inline: `compare` runs several times per path of a
restore."""


def compare(before: FileState, after: FileState, *,
            operations: Iterable[Operation] | None = None) -> Change:
    """Every aspect in which `after` differs from `before`.

    `operations`, when known, are what happened in between (see the module docstring)."""
    if before.exists != after.exists:
        return _CREATED if after.exists else _DELETED
    if not before.exists:
        return UNCHANGED
    kind = before.type
    if kind != after.type:
        return _TYPE
    found: list[Aspect] = []
    if kind == "symlink":
        if before.target != after.target:
            found.append(_TARGET)
    else:
        if kind == "file" and not same_content(
                before, after,
                rewritten=operations is None or not CHANGES_CONTENT.isdisjoint(operations)):
            found.append(_CONTENT)
        if (one := before.mode) is not None and (other := after.mode) is not None \
                and (one ^ other) & _PERMISSIONS:
            found.append(_MODE)
    # Unknown (None) on either side is never a difference.
    if (one := before.uid) is not None and (other := after.uid) is not None and one != other:
        found.append(_OWNER)
    if (one := before.gid) is not None and (other := after.gid) is not None and one != other:
        found.append(_GROUP)
    if (one := before.mtime_ns) is not None and (other := after.mtime_ns) is not None \
            and one != other:
        found.append(_TIMES)
    if (xattrs := before.xattrs) is not None and (others := after.xattrs) is not None \
            and xattrs != others:
        found.append(_XATTRS)
    return frozenset(found) if found else UNCHANGED


def entry_change(entry: FileEntry) -> Change:
    """What the run changed at `entry`'s path: what `show`, `diff` and `restore` list.

    A directory's time follows its entries, so it counts only when the run set it
    (`metadata`): otherwise every parent of a created file would be listed."""
    change = compare(entry.before, entry.after, operations=entry.operations)
    if entry.after.type == "directory" and Operation.METADATA not in entry.operations:
        change -= {Aspect.TIMES}
    return change


def status_letters(change: Change) -> str:
    """Two letters, in the spirit of snapper's: first `+` created, `-` deleted, `t` type
    changed, `c` content (or symlink target) changed; then `p` permissions changed, else
    `m` other metadata (owner, group, extended attributes, or times when the content did
    not change: writing always moves them); `.` for none."""
    if not change:
        return ".."
    first = "."
    for aspect, letter in _FIRST_LETTERS:
        if aspect in change:
            first = letter
            break
    metadata = _METADATA_BUT_TIMES if first == "c" else METADATA
    second = "p" if _MODE in change else "." if change.isdisjoint(metadata) else "m"
    return first + second


def status_code(entry: FileEntry) -> str:
    """`entry`'s status letters (see `status_letters`)."""
    return status_letters(entry_change(entry))


def effect_counts(entries: Iterable[FileEntry]) -> dict[str, int]:
    """How many of `entries` the run created, modified (content, type or permissions),
    deleted and read: the counts `run`'s summary, `show` and `log` print."""
    counts = {"created": 0, "modified": 0, "deleted": 0, "read": 0}
    read = Operation.READ
    for entry in entries:
        status = status_code(entry)
        if status[0] == "+":
            counts["created"] += 1
        elif status[0] == "-":
            counts["deleted"] += 1
        elif status != "..":
            counts["modified"] += 1
        counts["read"] += read in entry.operations
    return counts


def explain(change: Change, have: FileState, expected: FileState) -> str | None:
    """The first way `have` differs from `expected`, in words (`change` is
    `compare(expected, have)`); None when it does not."""
    if not change:
        return None
    words = {
        Aspect.CREATED: "exists now", Aspect.DELETED: "no longer exists",
        Aspect.TYPE: f"is now a {have.type}, was a {expected.type}",
        Aspect.TARGET: "symlink points elsewhere", Aspect.CONTENT: "content differs",
        Aspect.MODE: "permissions differ", Aspect.OWNER: "owner differs",
        Aspect.GROUP: "group differs", Aspect.XATTRS: "extended attributes differ",
        Aspect.TIMES: "modification time differs",
    }
    return next((text for aspect, text in words.items() if aspect in change), None)
