"""A path's state as lstat sees it: what the manifest's before/after hold besides content."""

from __future__ import annotations

import errno
import os
from dataclasses import dataclass

from cowsnap.model import FileType, Xattrs, file_type
from cowsnap.paths import PATH_MAX, reachable
from cowsnap.xattrs import read_xattrs


@dataclass(frozen=True, slots=True)
class PathState:
    """Metadata of one path at one moment; `exists=False` means nothing was there."""

    exists: bool
    type: FileType | None = None
    mode: int | None = None
    size: int | None = None
    mtime_ns: int | None = None
    uid: int | None = None
    gid: int | None = None
    target: bytes | None = None
    writable: bool = False
    xattrs: Xattrs | None = None
    inode: tuple[int, int] | None = None
    """(device, inode number), to tell hard links apart."""
    links: int = 1
    """How many names the inode has (`st_nlink`)."""


MISSING = PathState(exists=False)
_UNRESOLVABLE = {errno.ENOENT, errno.ENOTDIR, errno.ELOOP, errno.ENAMETOOLONG}


def read_state(path: bytes, *, xattrs: bool = False, writable: bool = True) -> PathState:
    """The state of `path` now, without following a final symlink; its extended
    attributes too when `xattrs` (they cost a syscall or more); whether this process
    may write it only when `writable` (else reported as not: the capture policy asks
    only outside the workspace).

    A path whose parent is missing, not a directory or a symlink loop simply
    does not exist; one we may not stat is reported as existing with unknown
    metadata. Paths longer than PATH_MAX are reached through their parent.
    """
    try:
        if len(path) < PATH_MAX:  # the common case, without a context manager
            return _state(None, path, xattrs, writable)
        with reachable(path) as (directory, name):
            return _state(directory, name, xattrs, writable)
    except PermissionError:
        return PathState(exists=True, type="other")
    except OSError as error:
        if error.errno in _UNRESOLVABLE:
            return MISSING
        raise


def _xattrs(directory: int | None, name: bytes) -> Xattrs | None:
    if directory is None:
        return read_xattrs(name)
    fd = os.open(name, os.O_PATH | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=directory)
    try:
        return read_xattrs(b"/proc/self/fd/%d" % fd, follow=True)
    finally:
        os.close(fd)


def _state(directory: int | None, name: bytes, xattrs: bool, writable: bool) -> PathState:
    info = os.lstat(name, dir_fd=directory)
    kind = file_type(info.st_mode)
    target = os.readlink(name, dir_fd=directory) if kind == "symlink" else None
    return PathState(
        exists=True,
        type=kind,
        mode=info.st_mode,
        size=info.st_size if kind in ("file", "symlink") else None,
        mtime_ns=info.st_mtime_ns,
        uid=info.st_uid,
        gid=info.st_gid,
        target=target,
        writable=writable and kind != "symlink" and os.access(name, os.W_OK, dir_fd=directory),
        xattrs=_xattrs(directory, name) if xattrs and kind != "symlink" else None,
        inode=(info.st_dev, info.st_ino),
        links=info.st_nlink,
    )
