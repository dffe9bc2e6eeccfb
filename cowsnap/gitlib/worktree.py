"""Finding a git working tree by climbing directories: no libgit2, no git configuration.

Apart from cowsnap.gitlib.context (status, facts, pygit2) so that finding the
workspace, which every command does first, loads nothing else.
"""

from __future__ import annotations

import os
from pathlib import Path


def device_of(path: bytes) -> int | None:
    """The device `path` is on; None when it cannot be looked at."""
    try:
        return os.stat(path).st_dev
    except OSError:
        return None


def _is_worktree_marker(directory: bytes) -> bool:
    """Whether `directory/.git` makes `directory` a working tree: a git directory (it
    has HEAD) or a `gitdir:` file (linked worktrees, submodules)."""
    marker = os.path.join(directory, b".git")
    if os.path.isdir(marker):
        return os.path.isfile(os.path.join(marker, b"HEAD"))
    try:
        with open(marker, "rb") as handle:
            return handle.read(8) == b"gitdir: "
    except OSError:
        return False


def discover_worktree_root(start: Path) -> Path | None:
    """The working tree root of the git repository enclosing `start`, if any: the
    nearest directory up from `start` holding a `.git`, not crossing a filesystem
    boundary (as git's own discovery). Reads no git configuration, loads no libgit2."""
    directory = os.fsencode(start.resolve())
    device = device_of(directory)
    while device is not None:
        if _is_worktree_marker(directory):
            return Path(os.fsdecode(directory))
        parent = os.path.dirname(directory)
        if parent == directory or device_of(parent) != device:
            return None
        directory = parent
    return None
