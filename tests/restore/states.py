"""Manifest data for the pure restore tests: states, entries and manifests in a few words."""

from __future__ import annotations

import os
from collections.abc import Sequence

from cowsnap.model import FileEntry, FileState, Manifest, Operation

WS = b"/ws"
BLOB_A = "a" * 40
BLOB_B = "b" * 40


def file(blob: str | None = BLOB_A, mode: int = 0o100644, mtime: int = 1, size: int = 3,
         not_captured: str | None = None) -> FileState:
    return FileState(exists=True, type="file", mode=mode, size=size, mtime_ns=mtime, uid=0,
                     blob=blob, blob_source="store" if blob else None,
                     not_captured=not_captured)


def directory(mode: int = 0o40755) -> FileState:
    return FileState(exists=True, type="directory", mode=mode, mtime_ns=1, uid=0)


def symlink(target: bytes) -> FileState:
    return FileState(exists=True, type="symlink", mode=0o120777, size=len(target),
                     mtime_ns=1, uid=0, target=target)


def entry(name: str, before: FileState, after: FileState,
          operations: Sequence[Operation] = (Operation.WRITE,)) -> FileEntry:
    return FileEntry(path=WS + b"/" + os.fsencode(name), operations=tuple(operations),
                     before=before, after=after)


def manifest(*entries: FileEntry) -> Manifest:
    return Manifest(run_id="r", tool_version="0", command=("x",), exit_status=0,
                    start_cwd="/ws", workspace="/ws", backend="copy", uid=0, gid=0,
                    started_at="", finished_at="",
                    files=tuple(sorted(entries, key=lambda item: item.path)))


ABSENT_FILE = FileState(exists=False)
