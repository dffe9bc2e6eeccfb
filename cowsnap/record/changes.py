"""What happened to each path, as a status code per path (in the spirit of snapper's).

Pure functions over manifest entries, shared by `show` and `diff --name-status`.
"""

from __future__ import annotations

import stat

from cowsnap.record.manifest import FileEntry, FileState


def content_change(before: FileState, after: FileState) -> str:
    """'+' created, '-' deleted, 't' type changed, 'c' content changed, '.' same."""
    if not before.exists and not after.exists:
        return "."
    if not before.exists:
        return "+"
    if not after.exists:
        return "-"
    if before.type != after.type:
        return "t"
    if before.type == "symlink":
        return "c" if before.target != after.target else "."
    if before.type == "file":
        same_blob = before.blob is not None and before.blob == after.blob
        same_size_and_time = (before.size == after.size and before.mtime_ns == after.mtime_ns)
        return "." if same_blob or (before.blob is None and same_size_and_time) else "c"
    return "."


def mode_change(before: FileState, after: FileState) -> str:
    """'p' when the permission bits changed, '.' otherwise."""
    if before.exists and after.exists and before.mode is not None and after.mode is not None:
        return "p" if stat.S_IMODE(before.mode) != stat.S_IMODE(after.mode) else "."
    return "."


def status_code(entry: FileEntry) -> str:
    """Two characters: the content change, then the permission change."""
    return content_change(entry.before, entry.after) + mode_change(entry.before, entry.after)


def changed(entry: FileEntry) -> bool:
    """Whether the run left `entry` different from how it found it."""
    return status_code(entry) != ".."
