"""Opening repositories isolated from the user's git configuration (pygit2 is loaded
by the first repository opened, not at import)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def isolated_config() -> Iterator[None]:
    """Hide the system, XDG and global git configuration (and the ownership check) from
    repositories opened inside, restoring the process-wide settings afterwards.

    libgit2 reads a repository's configuration once, when first needed, so every
    repository must be opened and first used inside this block.
    """
    import pygit2
    from pygit2.enums import ConfigLevel

    outside = (ConfigLevel.SYSTEM, ConfigLevel.XDG, ConfigLevel.GLOBAL, ConfigLevel.PROGRAMDATA)
    settings = pygit2.settings
    saved = {level: settings.search_path[level] for level in outside}
    saved_owner_validation = settings.owner_validation
    try:
        for level in outside:
            settings.search_path[level] = ""
        settings.owner_validation = False
        yield
    finally:
        for level, value in saved.items():
            settings.search_path[level] = value
        settings.owner_validation = saved_owner_validation
