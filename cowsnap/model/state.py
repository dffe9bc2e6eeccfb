"""A path's state at one moment (before or after a run), and why a content may be missing."""

from __future__ import annotations

import stat
from dataclasses import dataclass
from typing import Literal

FileType = Literal["file", "directory", "symlink", "fifo", "other"]
BlobSource = Literal["store", "git"]

TOO_LARGE = "too large"
SPECIAL_FILE = "special file"
SYSTEM_FILE = "system file"
CREATED_AND_DELETED = "created and deleted within the run"
UNREADABLE = "unreadable"
UNKNOWN_BEFORE = "before-state not seen: no pre-mutation hook for this path"
"""Reasons (`not_captured`) a wanted content or state was not kept."""


def file_type(mode: int) -> FileType:
    if stat.S_ISREG(mode):
        return "file"
    if stat.S_ISDIR(mode):
        return "directory"
    if stat.S_ISLNK(mode):
        return "symlink"
    if stat.S_ISFIFO(mode):
        return "fifo"
    return "other"


LARGE_PREFIX = "large-"
"""How the random id of a large content cloned into the store begins."""


def is_hash_id(blob: str | None) -> bool:
    """Whether `blob` names its content by hash (so a content can be compared by id)."""
    return blob is not None and not blob.startswith(LARGE_PREFIX)


Xattrs = tuple[tuple[str, bytes], ...]
"""Extended attributes (`user.*` and ACLs) as sorted (name, value) pairs."""


@dataclass(frozen=True, slots=True)
class FileState:
    """Before or after state of one path, with where its content is kept (if anywhere).

    `gid` and `xattrs` are None in manifests recorded before cowsnap kept them: unknown,
    so never compared nor restored."""

    exists: bool
    type: FileType | None = None
    mode: int | None = None
    size: int | None = None
    mtime_ns: int | None = None
    uid: int | None = None
    gid: int | None = None
    blob: str | None = None
    blob_source: BlobSource | None = None
    target: bytes | None = None
    xattrs: Xattrs | None = None
    links: tuple[bytes, ...] = ()
    """The file's other names (hard links) inside the workspace, and the name outside
    it the run wrote the file through, sorted."""
    tombstone: bool = False
    not_captured: str | None = None


ABSENT = FileState(exists=False)


def stored(state: FileState, blob: str) -> FileState:
    """`state` with its content kept in the store as `blob` (`dataclasses.replace`, made
    by hand: a restore makes one per file it replaces, and `replace` is slow)."""
    return FileState(
        exists=state.exists, type=state.type, mode=state.mode, size=state.size,
        mtime_ns=state.mtime_ns, uid=state.uid, gid=state.gid, blob=blob,
        blob_source="store", target=state.target, xattrs=state.xattrs, links=state.links,
        tombstone=state.tombstone, not_captured=state.not_captured)
