"""Git context of touched paths (pygit2), isolated from the user's git configuration."""

from __future__ import annotations

from pathlib import Path

import pygit2


def discover_worktree_root(start: Path) -> Path | None:
    """The working tree root of the git repository enclosing `start`, if any."""
    found = pygit2.discover_repository(str(start))
    if found is None:
        return None
    repository = pygit2.Repository(found)
    if repository.is_bare or repository.workdir is None:
        return None
    return Path(repository.workdir).resolve()
