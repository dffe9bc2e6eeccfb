"""Which directory a run preserves and records (DESIGN section 2).

`--workspace DIR`, else the btrfs subvolume containing the current directory,
else the enclosing git repository's root, else the current directory.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from cowsnap.errors import WorkspaceError
from cowsnap.gitlib.worktree import discover_worktree_root
from cowsnap.snapshot.subvolume import enclosing_subvolume

Finder = Callable[[Path], Path | None]


def first_found(start: Path, finders: list[Finder]) -> Path:
    """The first finder's answer for `start`, else `start`; later finders are not consulted."""
    for finder in finders:
        found = finder(start)
        if found is not None:
            return found
    return start


def explicit_workspace(directory: str | Path) -> Path:
    """A --workspace value, made absolute; it must be an existing directory."""
    path = Path(directory).expanduser()
    if not path.exists():
        raise WorkspaceError(f"workspace {directory} does not exist")
    if not path.is_dir():
        raise WorkspaceError(f"workspace {directory} is not a directory")
    return path.resolve()


def detect_workspace(explicit: str | Path | None = None, cwd: Path | None = None) -> Path:
    """The workspace for a command started in `cwd` (default: the current directory)."""
    if explicit is not None:
        return explicit_workspace(explicit)
    start = (cwd or Path.cwd()).resolve()
    return first_found(start, [enclosing_subvolume, discover_worktree_root])
