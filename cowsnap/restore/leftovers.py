"""Temporary files of restores that were killed: named after their owner, removed later.

A restore writes each file under a temporary name in the file's directory and
renames it into place in batches; a SIGKILL in between leaves temporaries. Their
names say which process made them (`.cowsnap-restore-PID.STARTTIME-RANDOM-N`,
cowsnap/processes.py), so the next restore of those paths, or `cowsnap check --repair`
(`remove_workspace_leftovers`), removes those whose owner is gone and never a
live restore's.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable

from cowsnap.processes import owner_tag, process_start_time
from cowsnap.restore.beneath import Roots

TEMP_PREFIX = b".cowsnap-restore-"
_TEMP_PREFIX_TEXT = os.fsdecode(TEMP_PREFIX)


def new_temp_prefix() -> bytes:
    """The start of every temporary name of this restore: owner tag, then a random part."""
    return TEMP_PREFIX + owner_tag().encode() + b"-" + os.urandom(4).hex().encode() + b"-"


def is_abandoned(name: bytes) -> bool:
    """Whether `name` is a restore's temporary whose owner process is gone (a name
    that does not parse has no owner that could come back: abandoned too)."""
    if not name.startswith(TEMP_PREFIX):
        return False
    owner = name[len(TEMP_PREFIX):].partition(b"-")[0]
    pid, _, start_time = owner.partition(b".")
    if not pid.isdigit():
        return True
    return str(process_start_time(int(pid))).encode() != start_time


def _remove_in(dir_fd: int) -> list[bytes]:
    """Remove the abandoned temporaries directly in the directory `dir_fd`; never a
    directory, never through a symlink."""
    removed: list[bytes] = []
    listing = os.open(".", os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC, dir_fd=dir_fd)
    try:
        names = [os.fsencode(name) for name in os.listdir(listing)
                 if name.startswith(_TEMP_PREFIX_TEXT)]
    finally:
        os.close(listing)
    for name in names:
        if not is_abandoned(name):
            continue
        try:
            if stat.S_ISDIR(os.stat(name, dir_fd=dir_fd, follow_symlinks=False).st_mode):
                continue
            os.unlink(name, dir_fd=dir_fd)
        except OSError:
            continue
        removed.append(name)
    return removed


def remove_leftovers(roots: Roots, directories: Iterable[bytes]) -> list[bytes]:
    """Remove abandoned temporaries in each of `directories` (absolute; missing ones and
    ones behind a symlink are skipped); return their paths."""
    removed: list[bytes] = []
    for directory in sorted(set(directories)):
        try:
            dir_fd = roots.open_dir(directory)
        except OSError:
            continue
        try:
            removed.extend(os.path.join(directory, found) for found in _remove_in(dir_fd))
        except OSError:
            continue
        finally:
            os.close(dir_fd)
    return removed


def remove_workspace_leftovers(workspace: bytes) -> list[bytes]:
    """Remove every abandoned restore temporary in the workspace (a walk that never
    follows a symlink); return their paths. For `cowsnap check --repair`."""
    removed: list[bytes] = []
    with Roots(workspace) as roots:
        for path, _subdirs, _files, dir_fd in os.fwalk(b".", dir_fd=roots.workspace_fd):
            directory = os.path.normpath(os.path.join(workspace, path))
            removed.extend(os.path.join(directory, name) for name in _remove_in(dir_fd))
    return removed
