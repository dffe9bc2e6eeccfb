"""Opening the directory that holds a path without ever following a symlink.

Every change a restore makes is an *at() call on a (directory fd, name) pair,
the directory having been opened beneath a trusted root with openat2 and
RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS (Linux 5.6+), or, where openat2 is
missing, by a walk of O_NOFOLLOW opens one component at a time. So a run that
replaced a workspace directory with a symlink to /etc cannot make a restore
write into /etc: the open fails with ELOOP instead.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Iterator
from contextlib import contextmanager

from cowsnap.libc import RESOLVE_BENEATH, RESOLVE_NO_MAGICLINKS, RESOLVE_NO_SYMLINKS, openat2

DIRECTORY_FLAGS = os.O_PATH | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC

def _walk(dir_fd: int, relative: bytes) -> int:
    """The fallback: one O_NOFOLLOW open per component."""
    current = os.dup(dir_fd)
    try:
        for part in relative.split(b"/"):
            if part in (b"", b"."):
                continue
            if part == b"..":
                raise OSError(errno.EXDEV, "path escapes its root", os.fsdecode(relative))
            following = os.open(part, DIRECTORY_FLAGS, dir_fd=current)
            os.close(current)
            current = following
        return current
    except BaseException:
        os.close(current)
        raise


_use_openat2 = True


def open_directory(root_fd: int, relative: bytes) -> int:
    """An O_PATH fd of directory `relative` beneath `root_fd`; ELOOP if a symlink is on
    the way, ENOTDIR if a non-directory is."""
    global _use_openat2
    if not relative.strip(b"/"):
        return os.dup(root_fd)
    if _use_openat2:
        try:
            return openat2(root_fd, relative, DIRECTORY_FLAGS,
                            RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS)
        except OSError as error:
            if error.errno != errno.ENOSYS:
                raise
            _use_openat2 = False
    return _walk(root_fd, relative)


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


def proc_path(fd: int) -> str:
    """A name for an O_PATH fd that chmod, chown and utime accept (they refuse the fd)."""
    return f"/proc/self/fd/{fd}"
