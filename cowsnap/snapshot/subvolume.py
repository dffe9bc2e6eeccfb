"""Where btrfs subvolumes begin: how the workspace is found, and what btrfs can snapshot.

Apart from the btrfs backend so that finding the workspace, which every command
does first, loads no snapshot machinery.
"""

from __future__ import annotations

from pathlib import Path

from cowsnap.snapshot.mounts import mount_of

FIRST_FREE_OBJECTID = 256
"""The inode number of every subvolume's root directory (what libbtrfsutil tests too)."""


def is_subvolume_root(path: Path) -> bool:
    """Whether `path` is the root directory of a btrfs subvolume: what btrfs snapshots."""
    return mount_of(path).fstype == "btrfs" and path.stat().st_ino == FIRST_FREE_OBJECTID


def enclosing_subvolume(directory: Path) -> Path | None:
    """The root of the btrfs subvolume containing `directory`, not crossing its mount."""
    directory = directory.resolve()
    if mount_of(directory).fstype != "btrfs":
        return None
    for candidate in (directory, *directory.parents):
        if candidate.stat().st_ino == FIRST_FREE_OBJECTID:
            return candidate
        if candidate.is_mount():
            return None
    return None
