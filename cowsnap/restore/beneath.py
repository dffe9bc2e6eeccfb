"""The trusted starting points of a restore: the workspace and `/`.

Every change a restore makes is an *at() call on a (directory fd, name) pair,
the directory opened beneath one of these roots without following symlinks
(`cowsnap.beneath`), so a run that replaced a workspace directory with a
symlink to /etc cannot make a restore write into /etc.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

from cowsnap.beneath import DIRECTORY_FLAGS, open_directory


class Roots:
    """The trusted starting points: the workspace (opened once, itself without symlinks)
    and `/` for the paths a run recorded outside its workspace."""

    def __init__(self, workspace: bytes) -> None:
        self.workspace = workspace
        self.system_fd = os.open(b"/", DIRECTORY_FLAGS)
        try:
            self.workspace_fd = open_directory(self.system_fd, workspace.lstrip(b"/"))
        except BaseException:
            os.close(self.system_fd)
            raise

    def close(self) -> None:
        os.close(self.workspace_fd)
        os.close(self.system_fd)

    def __enter__(self) -> Roots:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def split(self, path: bytes) -> tuple[int, bytes, bytes]:
        """(root fd, parent relative to that root, final name) of an absolute path."""
        parent, name = os.path.split(path)
        prefix = self.workspace.rstrip(b"/") + b"/"
        if path.startswith(prefix):
            return self.workspace_fd, parent[len(prefix):], name
        return self.system_fd, parent.lstrip(b"/"), name

    def open_dir(self, directory: bytes) -> int:
        """An O_PATH fd of the directory at absolute path `directory`, opened safely."""
        prefix = self.workspace.rstrip(b"/") + b"/"
        if directory == self.workspace:
            return os.dup(self.workspace_fd)
        if directory.startswith(prefix):
            return open_directory(self.workspace_fd, directory[len(prefix):])
        return open_directory(self.system_fd, directory.lstrip(b"/"))

    def open_parent(self, path: bytes) -> tuple[int, bytes]:
        """(fd of the directory holding `path`, opened safely, its final name); the
        caller closes the fd."""
        root_fd, relative, name = self.split(path)
        return open_directory(root_fd, relative), name

    @contextmanager
    def parent(self, path: bytes) -> Iterator[tuple[int, bytes]]:
        """(fd of the directory holding `path`, its final name), opened safely."""
        fd, name = self.open_parent(path)
        try:
            yield fd, name
        finally:
            os.close(fd)



KEEP_OPEN = 256


class OpenParents:
    """Directories opened beneath `roots` and kept open, so the paths of one directory
    resolve it once (at most KEEP_OPEN at a time). For looking, not for removing: a
    kept directory is not re-resolved."""

    def __init__(self, roots: Roots) -> None:
        self._roots = roots
        self._open: dict[bytes, int] = {}

    def get(self, path: bytes) -> tuple[int, bytes]:
        """(fd of the directory holding `path`, its final name); valid until `close`."""
        parent, name = os.path.split(path)
        fd = self._open.get(parent)
        if fd is None:
            if len(self._open) >= KEEP_OPEN:
                self.close()
            fd, name = self._roots.open_parent(path)
            self._open[parent] = fd
        return fd, name

    def close(self) -> None:
        for fd in self._open.values():
            os.close(fd)
        self._open.clear()

    def __enter__(self) -> OpenParents:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()
