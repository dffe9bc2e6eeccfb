"""Workspaces on every backend's filesystem, the CLI runner, and a tree reader that
compares what restore must bring back: type, permissions, content, symlink target."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.run.conftest import (
    BACKEND_FILESYSTEMS,
    Cowsnap,
    btrfs_workspace,
    plain_workspace,
)

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


def workspace_for(backend: str) -> Iterator[Path]:
    if backend == "btrfs":
        return btrfs_workspace()
    return plain_workspace(BACKEND_FILESYSTEMS[backend])


@pytest.fixture(params=list(BACKEND_FILESYSTEMS))
def backend_workspace(request: pytest.FixtureRequest) -> Iterator[tuple[str, Path]]:
    """(backend name, a fresh workspace on the filesystem that backend is meant for)."""
    backend = request.param
    yield from ((backend, workspace) for workspace in workspace_for(backend))


@pytest.fixture
def ext4_workspace() -> Iterator[Path]:
    yield from plain_workspace("ext4")


@pytest.fixture
def cowsnap(tmp_path: Path) -> Cowsnap:
    home = tmp_path / "home"
    home.mkdir()
    return Cowsnap(home=home, store=tmp_path / "store")
