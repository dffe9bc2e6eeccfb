"""Turning a tracee's path argument into the absolute path of the file it really names.

The kernel does the symlink walking for us: opening the path with O_PATH (the
tracee is stopped, so nothing moves underneath) and reading back
/proc/self/fd/N gives the physical path, and tells whether it exists, in three
cheap syscalls whatever the depth. O_NOFOLLOW keeps the last component
unfollowed where the syscall does not follow it (lstat, unlink, rename...).
Paths the kernel cannot open for us (missing directories, longer than
PATH_MAX) are normalised lexically instead.
"""

from __future__ import annotations

import os
import stat

PATH_MAX = 4096
MAX_SYMLINK_DEPTH = 40
_CACHE_LIMIT = 50_000
_OPEN_PATH = os.O_PATH | os.O_CLOEXEC
_OPEN_DIRECTORY = os.O_PATH | os.O_CLOEXEC | os.O_DIRECTORY


def join(base: bytes, name: bytes) -> bytes:
    """`name` relative to the absolute directory `base` (no normalisation)."""
    if name.startswith(b"/"):
        return name
    if not name:
        return base
    return base + name if base.endswith(b"/") else base + b"/" + name


def normalise(path: bytes) -> bytes:
    """Lexical normalisation of an absolute path: `.`, `..` and repeated slashes."""
    parts: list[bytes] = []
    for part in path.split(b"/"):
        if part in (b"", b"."):
            continue
        if part == b"..":
            if parts:
                parts.pop()
            continue
        parts.append(part)
    return b"/" + b"/".join(parts)


def split_last(path: bytes) -> tuple[bytes, bytes]:
    """(parent directory, last component) of an absolute path; trailing slashes ignored."""
    stripped = path.rstrip(b"/")
    if not stripped:
        return b"/", b""
    parent, _, name = stripped.rpartition(b"/")
    return parent or b"/", name


def _kernel_path(path: bytes, flags: int) -> bytes | None:
    try:
        fd = os.open(path, flags)
    except OSError:
        return None
    try:
        return os.readlink(b"/proc/self/fd/%d" % fd)
    except OSError:
        return None
    finally:
        os.close(fd)


def real_directory(path: bytes) -> bytes:
    """The physical path of directory `path`; lexical beyond what does not exist."""
    if len(path) < PATH_MAX:
        real = _kernel_path(path, _OPEN_DIRECTORY)
        if real is not None:
            return real
    else:
        return normalise(path)
    parent, name = split_last(path)
    if not name:
        return b"/"
    return normalise(join(real_directory(parent), name))


def resolve(path: bytes, follow: bool, depth: int = 0) -> tuple[bytes, bool]:
    """The physical absolute path `path` names (its last component followed if `follow`),
    and whether it exists; one O_PATH open answers both."""
    if len(path) >= PATH_MAX:
        return normalise(path), False
    parent, name = split_last(path)
    if name in (b"", b".", b".."):
        real = _kernel_path(path, _OPEN_DIRECTORY)
        return (real, True) if real is not None else (real_directory(path), False)
    follow = follow or path.endswith(b"/")
    real = _kernel_path(path, _OPEN_PATH if follow else _OPEN_PATH | os.O_NOFOLLOW)
    if real is not None:
        return real, True
    candidate = join(real_directory(parent), name)
    if follow and depth < MAX_SYMLINK_DEPTH:
        try:
            target = os.readlink(candidate)
        except OSError:
            return candidate, False
        return resolve(join(split_last(candidate)[0], target), True, depth + 1)
    return candidate, False


class Resolver:
    """resolve(), remembering each parent directory's physical path, or that it is missing.

    Builds probe the same few directories, existing or not, over and over; with
    the parent known, one lstat (or nothing, if the parent is missing) settles a
    path. The caller must call forget() whenever a traced syscall may have moved
    or removed a directory or symlink (rename, rmdir, unlink of a symlink), and
    forget_missing() when one may have created something (mkdir, symlink, any
    create). Changes made by processes outside the trace are not seen.
    """

    def __init__(self) -> None:
        self._directories: dict[bytes, bytes] = {}
        self._missing: dict[bytes, bytes] = {}

    def forget(self) -> None:
        self._directories.clear()
        self._missing.clear()

    def forget_missing(self) -> None:
        self._missing.clear()

    def resolve(self, path: bytes, follow: bool) -> tuple[bytes, bool]:
        parent, name = split_last(path)
        if len(path) >= PATH_MAX or name in (b"", b".", b"..") or path.endswith(b"/"):
            return resolve(path, follow)
        real_parent = self._directories.get(parent)
        if real_parent is None:
            missing = self._missing.get(parent)
            if missing is not None:
                return join(missing, name), False
            real_parent = _kernel_path(parent, _OPEN_DIRECTORY)
            if real_parent is None:
                located = resolve(path, follow)
                _remember(self._missing, parent, split_last(located[0])[0])
                return located
            _remember(self._directories, parent, real_parent)
        candidate = join(real_parent, name)
        try:
            mode = os.lstat(candidate).st_mode
        except OSError:
            return candidate, False
        if follow and stat.S_ISLNK(mode):
            return resolve(candidate, True)
        return candidate, True


def _remember(cache: dict[bytes, bytes], key: bytes, value: bytes) -> None:
    if len(cache) >= _CACHE_LIMIT:
        cache.clear()
    cache[key] = value
