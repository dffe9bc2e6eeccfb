"""One FileDiff per changed path, from manifest entries and their stored contents.

The line diff itself comes from libgit2 (`cowsnap.gitlib.patch`); this module
decides what to compare: file contents, or a symlink's target as git does; a
directory or a missing path has no content.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from cowsnap.errors import ContentNotFoundError, StoreDamagedError, StoreError
from cowsnap.gitlib.patch import Hunk, content_patch
from cowsnap.model import (
    METADATA,
    Change,
    FileEntry,
    FileState,
    Manifest,
    compare,
    entry_change,
    status_letters,
)
from cowsnap.paths import within
from cowsnap.restore.plan import seen_entries

MAX_SHOWN = 16 * 1024 * 1024
"""Contents larger than this are summarised, not diffed line by line."""

ReadContent = Callable[[FileEntry, str], bytes]
"""Reads the before- or after-content of an entry; raises ContentNotFoundError."""


@dataclass(frozen=True)
class FileDiff:
    path: bytes
    name: bytes
    """The path relative to the workspace; the absolute path when outside it."""
    status: str
    """Two status letters, as `cowsnap show` prints them (model.changes)."""
    change: Change
    old: FileState
    new: FileState
    binary: bool = False
    hunks: tuple[Hunk, ...] = ()
    additions: int = 0
    deletions: int = 0
    unavailable: str | None = None
    """Why the content change cannot be shown, when it cannot."""
    old_path: bytes | None = None
    old_name: bytes | None = None
    """For a rename: the path it came from (`old` is that path's before-state)."""


@dataclass(frozen=True)
class RunDiff:
    run_id: str
    workspace: str
    files: tuple[FileDiff, ...]


def display_name(path: bytes, workspace: bytes) -> bytes:
    if within(path, workspace) and path != workspace:
        return path[len(workspace.rstrip(b"/")) + 1:]
    return path


def _content(entry: FileEntry, side: str, state: FileState, read: ReadContent) -> bytes | None:
    if not state.exists or state.type == "directory":
        return None
    if state.type == "symlink":
        return state.target
    if state.type != "file":
        raise ContentNotFoundError(f"a {state.type} has no content")
    if state.size is not None and state.size > MAX_SHOWN:
        raise ContentNotFoundError(f"{state.size} bytes, too large to show")
    return read(entry, side)


def file_diff(entry: FileEntry, workspace: bytes, read: ReadContent,
              source: FileEntry | None = None) -> FileDiff:
    """What changed at one path; contents are read only when they changed. With
    `source`, the path was renamed from `source`'s: compared with its before-state."""
    name = display_name(entry.path, workspace)
    origin = source or entry
    change = compare(origin.before, entry.after, operations=entry.operations)
    status = status_letters(change)
    base = FileDiff(path=entry.path, name=name, status=status, change=change,
                    old=origin.before, new=entry.after)
    if source is not None:
        base = dataclasses.replace(base, status="r" + status[1] if status[0] == "." else status,
                                   old_path=source.path,
                                   old_name=display_name(source.path, workspace))
    if not change - METADATA:
        return base
    try:
        old = _content(origin, "before", origin.before, read)
        new = _content(entry, "after", entry.after, read)
    except StoreDamagedError:
        raise
    except (ContentNotFoundError, StoreError) as error:
        return dataclasses.replace(base, unavailable=str(error))
    patch = content_patch(old, new)
    return dataclasses.replace(base, binary=patch.binary, hunks=patch.hunks,
                               additions=patch.additions, deletions=patch.deletions)


def run_diff(manifest: Manifest, read: ReadContent,
             paths: Sequence[bytes] | None = None) -> RunDiff:
    """Every path the run changed (under `paths`, when given), in path order."""
    workspace = os.fsencode(manifest.workspace)
    entries = [entry for entry in seen_entries(manifest)
               if paths is None or any(within(entry.path, path) for path in paths)]
    sources = _rename_sources(entries)
    shown_as_renames = {source.path for source in sources.values()}
    files = tuple(
        file_diff(entry, workspace, read, sources.get(entry.path)) for entry in entries
        if entry.path not in shown_as_renames
        and (entry.path in sources or entry_change(entry))
    )
    return RunDiff(run_id=manifest.run_id, workspace=manifest.workspace, files=files)


def _rename_sources(entries: Sequence[FileEntry]) -> dict[bytes, FileEntry]:
    """Destination path to the entry it was renamed from, for the renames shown as one
    diff, as git does: a file (or symlink) that existed before under the source name and
    exists after under the destination name, which the source no longer holds."""
    by_path = {entry.path: entry for entry in entries}
    found = {}
    for entry in entries:
        source = by_path.get(entry.renamed_from or b"")
        if (source is not None and source.renamed_to == entry.path
                and source.before.type in ("file", "symlink")
                and entry.after.type == source.before.type and not source.after.exists):
            found[entry.path] = source
    return found
