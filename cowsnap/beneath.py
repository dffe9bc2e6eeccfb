"""Opening paths beneath a trusted directory without ever following a symlink.

Restore (in the workspace) and the store (in a store or bundle) open everything
they read or write through here: openat2 with RESOLVE_BENEATH |
RESOLVE_NO_SYMLINKS (Linux 5.6+), or, where openat2 is missing, a walk of
O_NOFOLLOW opens one component at a time. So a workspace directory replaced by
a symlink to /etc, or a bundle's `large/large-<id>` that is a symlink to
/etc/shadow, makes the open fail with ELOOP instead of reaching outside.
"""

from __future__ import annotations

import errno
import os

from cowsnap.libc import RESOLVE_BENEATH, RESOLVE_NO_MAGICLINKS, RESOLVE_NO_SYMLINKS, openat2

RESOLVE_SAFELY = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS
DIRECTORY_FLAGS = os.O_PATH | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


def _walk(dir_fd: int, parts: list[bytes]) -> int:
    """The fallback: one O_NOFOLLOW directory open per component."""
    current = os.dup(dir_fd)
    try:
        for part in parts:
            following = os.open(part, DIRECTORY_FLAGS, dir_fd=current)
            os.close(current)
            current = following
        return current
    except BaseException:
        os.close(current)
        raise


def _components(relative: bytes) -> list[bytes]:
    parts = [part for part in relative.split(b"/") if part not in (b"", b".")]
    if b".." in parts:
        raise OSError(errno.EXDEV, "path escapes its root", os.fsdecode(relative))
    return parts


_use_openat2 = True


def _open(root_fd: int, relative: bytes, flags: int, mode: int) -> int:
    global _use_openat2
    parts = _components(relative)
    if not parts:
        return os.open(b".", flags & ~(os.O_CREAT | os.O_EXCL), dir_fd=root_fd)
    if _use_openat2:
        try:
            return openat2(root_fd, b"/".join(parts), flags, RESOLVE_SAFELY, mode)
        except OSError as error:
            if error.errno != errno.ENOSYS:
                raise
            _use_openat2 = False
    parent = _walk(root_fd, parts[:-1])
    try:
        return os.open(parts[-1], flags | os.O_NOFOLLOW, mode, dir_fd=parent)
    finally:
        os.close(parent)


def open_directory(root_fd: int, relative: bytes) -> int:
    """An O_PATH fd of directory `relative` beneath `root_fd`; ELOOP if a symlink is on
    the way, ENOTDIR if a non-directory is."""
    return _open(root_fd, relative, DIRECTORY_FLAGS, 0)


def open_beneath(root_fd: int, relative: bytes, flags: int, mode: int = 0o600) -> int:
    """An fd of `relative` beneath `root_fd` opened with `flags` (O_CLOEXEC added),
    no component of it (the last included) a symlink: ELOOP if one is, EXDEV for `..`."""
    return _open(root_fd, relative, flags | os.O_CLOEXEC | os.O_NOFOLLOW, mode)


def proc_path(fd: int) -> str:
    """A name for an O_PATH fd that chmod, chown and utime accept (they refuse the fd)."""
    return f"/proc/self/fd/{fd}"
