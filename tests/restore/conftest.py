"""Workspaces on every backend's filesystem, the CLI runner, and a tree reader that
compares what restore must bring back: type, permissions, content, symlink target."""

from __future__ import annotations

import os
import stat
from pathlib import Path

Tree = dict[str, tuple[str, int, bytes]]


def read_tree(root: Path) -> Tree:
    """Every path under `root`: (type, permission bits, content or symlink target)."""
    found: Tree = {}
    for directory, subdirs, files in os.walk(root):
        for name in subdirs + files:
            path = os.path.join(directory, name)
            relative = os.path.relpath(path, root)
            info = os.lstat(path)
            if stat.S_ISLNK(info.st_mode):
                found[relative] = ("symlink", 0, os.fsencode(os.readlink(path)))
            elif stat.S_ISDIR(info.st_mode):
                found[relative] = ("directory", stat.S_IMODE(info.st_mode), b"")
            else:
                found[relative] = ("file", stat.S_IMODE(info.st_mode), Path(path).read_bytes())
    return found
