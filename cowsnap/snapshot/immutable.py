"""The immutable inode flag (chattr +i), which makes preserved copies read-only even for root.

Copies must keep the original mode bits, so permissions cannot protect them;
the flag can. Setting it needs CAP_LINUX_IMMUTABLE and filesystem support
(ext4, XFS, btrfs, tmpfs since Linux 6.0); without either, copies stay writable.
"""

from __future__ import annotations

import errno
import os
import stat

from cowsnap.libc import inode_flags, set_inode_flags

FS_IMMUTABLE_FL = 0x00000010
_UNSUPPORTED = {errno.EPERM, errno.EOPNOTSUPP, errno.ENOTTY, errno.EINVAL, errno.EACCES}


def _update(fd: int, *, immutable: bool) -> None:
    flags = inode_flags(fd)
    wanted = flags | FS_IMMUTABLE_FL if immutable else flags & ~FS_IMMUTABLE_FL
    if wanted != flags:
        set_inode_flags(fd, wanted)


def set_immutable(fd: int) -> None:
    """Protect the open file `fd` where the filesystem and our privileges allow it."""
    try:
        _update(fd, immutable=True)
    except OSError as error:
        if error.errno not in _UNSUPPORTED:
            raise


def clear_immutable_tree(top: bytes) -> None:
    """Lift the flag from every regular file under `top`, so the tree can be deleted."""
    for directory, _, files in os.walk(top):
        for name in files:
            path = os.path.join(directory, name)
            if not stat.S_ISREG(os.lstat(path).st_mode):
                continue
            try:
                fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
            except OSError:
                continue
            try:
                _update(fd, immutable=False)
            except OSError as error:
                if error.errno not in _UNSUPPORTED:
                    raise
            finally:
                os.close(fd)
