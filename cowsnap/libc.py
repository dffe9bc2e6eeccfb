"""Every call into the C library and every raw ioctl cowsnap makes, in one place.

The C library is loaded once, on first use (ctypes costs start-up time that a run
which never flushes the store nor restores should not pay). Each function raises
OSError with the errno the kernel gave, like the `os` module does; the callers
decide which errors mean "not supported here".
"""

from __future__ import annotations

import array
import errno
import fcntl
import os
from functools import cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import ctypes

FICLONE = 0x40049409
FS_IOC_GETFLAGS = 0x80086601
FS_IOC_SETFLAGS = 0x40086602
SYS_OPENAT2 = 437
RESOLVE_NO_MAGICLINKS = 0x02
RESOLVE_NO_SYMLINKS = 0x04
RESOLVE_BENEATH = 0x08
CLONE_UNSUPPORTED = frozenset({errno.EXDEV, errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP,
                               errno.EBADF, errno.ENOTTY, errno.EPERM})
"""FICLONE errors meaning this pair of files cannot share extents (other filesystem,
filesystem without reflink, not a regular file): copy instead."""


@cache
def _library() -> ctypes.CDLL:
    import ctypes

    return ctypes.CDLL(None, use_errno=True)


@cache
def _open_how() -> type[ctypes.Structure]:
    """struct open_how of openat2(2)."""
    import ctypes

    class OpenHow(ctypes.Structure):
        _fields_ = [("flags", ctypes.c_uint64), ("mode", ctypes.c_uint64),
                    ("resolve", ctypes.c_uint64)]

    return OpenHow


def _raise_errno(filename: str | None = None) -> None:
    import ctypes

    code = ctypes.get_errno()
    raise OSError(code, os.strerror(code), filename)


def syncfs(fd: int) -> None:
    """Flush the whole filesystem holding the open `fd`: one call instead of an fsync
    per file and directory (many small files cost ~1 ms each otherwise)."""
    if _library().syncfs(fd) != 0:
        _raise_errno()


def syncfs_path(path: str | bytes | os.PathLike[str]) -> None:
    """`syncfs` of the filesystem holding directory `path`."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        syncfs(fd)
    except OSError as error:
        raise OSError(error.errno, error.strerror, os.fsdecode(path)) from None
    finally:
        os.close(fd)


def clone(source_fd: int, target_fd: int) -> None:
    """Make `target_fd` share all of `source_fd`'s extents (FICLONE): constant time, no
    data copied. Raises where the filesystem cannot."""
    fcntl.ioctl(target_fd, FICLONE, source_fd)


def clone_if_possible(source_fd: int, target_fd: int) -> bool:
    """`clone`, but False where these files cannot share extents (CLONE_UNSUPPORTED)."""
    try:
        clone(source_fd, target_fd)
    except OSError as error:
        if error.errno not in CLONE_UNSUPPORTED:
            raise
        return False
    return True


def inode_flags(fd: int) -> int:
    """The inode flags (chattr) of the open file `fd`."""
    flags = array.array("i", [0])
    fcntl.ioctl(fd, FS_IOC_GETFLAGS, flags, True)
    return flags[0]


def set_inode_flags(fd: int, flags: int) -> None:
    fcntl.ioctl(fd, FS_IOC_SETFLAGS, array.array("i", [flags]))


def openat2(dir_fd: int, path: bytes, flags: int, resolve: int, mode: int = 0) -> int:
    """openat2(2) (Linux 5.6+): open `path` beneath `dir_fd` under the RESOLVE_* rules
    (`mode` for a file O_CREAT makes); ENOSYS where the kernel lacks it."""
    import ctypes

    how = _open_how()(flags, mode if flags & os.O_CREAT else 0, resolve)
    fd = _library().syscall(SYS_OPENAT2, dir_fd, path, ctypes.byref(how), ctypes.sizeof(how))
    if fd < 0:
        _raise_errno(os.fsdecode(path))
    return int(fd)
