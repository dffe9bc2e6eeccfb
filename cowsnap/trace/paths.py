"""Turning a tracee's path argument into the absolute path of the file it really names.

The kernel does the symlink walking for us: opening the path with O_PATH (the
tracee is stopped, so nothing moves underneath) and reading back
/proc/self/fd/N gives the physical path, and tells whether it exists, in three
cheap syscalls whatever the depth. O_NOFOLLOW keeps the last component
unfollowed where the syscall does not follow it (lstat, unlink, rename...).
Paths longer than PATH_MAX are opened piecewise (each piece relative to the
directory the previous one opened) and a directory's physical path is then
found by walking up through `..`. Paths the kernel cannot open for us (missing
directories) are normalised lexically instead.
"""

from __future__ import annotations

import errno
import os
import stat
from typing import NamedTuple

from cowsnap.paths import PATH_MAX, open_any_length

MAX_SYMLINK_DEPTH = 40
_CACHE_LIMIT = 50_000
_OPEN_PATH = os.O_PATH | os.O_CLOEXEC
_OPEN_DIRECTORY = os.O_PATH | os.O_CLOEXEC | os.O_DIRECTORY
_OPEN_READ_DIRECTORY = os.O_RDONLY | os.O_CLOEXEC | os.O_DIRECTORY


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


class Located(NamedTuple):
    """A resolved path, whether it existed, and its lstat mode when that was read (else 0)."""

    path: bytes
    exists: bool
    mode: int = 0


def _kernel_path(path: bytes, flags: int) -> bytes | None:
    try:
        fd = open_any_length(path, flags)
    except OSError:
        return None
    try:
        return directory_path(fd) if len(path) >= PATH_MAX else fd_path(fd)
    except OSError:
        return None
    finally:
        os.close(fd)


def fd_path(fd: int) -> bytes:
    """The path our own `fd` names, as /proc/self/fd tells (ENAMETOOLONG beyond PATH_MAX)."""
    return os.readlink(b"/proc/self/fd/%d" % fd)


def directory_path(fd: int) -> bytes:
    """The physical path of the directory open as `fd`, at any length: /proc/self/fd
    where the kernel can spell it, else each level's name looked up in its parent."""
    names: list[bytes] = []
    opened: list[int] = []
    current = fd
    try:
        while True:
            try:
                base = fd_path(current)
                break
            except OSError as error:
                if error.errno != errno.ENAMETOOLONG:
                    raise
            parent = os.open(b"..", _OPEN_READ_DIRECTORY, dir_fd=current)
            opened.append(parent)
            names.append(_name_in(parent, os.fstat(current)))
            current = parent
    finally:
        for descriptor in opened:
            os.close(descriptor)
    return join(base, b"/".join(reversed(names)))


def _name_in(parent: int, child: os.stat_result) -> bytes:
    """The entry of directory `parent` that is the directory `child`."""
    for name in os.listdir(parent):
        encoded = os.fsencode(name)
        try:
            found = os.stat(encoded, dir_fd=parent, follow_symlinks=False)
        except OSError:
            continue
        if (found.st_ino, found.st_dev) == (child.st_ino, child.st_dev):
            return encoded
    raise OSError(errno.ENOENT, "directory no longer in its parent")


def real_directory(path: bytes) -> bytes:
    """The physical path of directory `path`; lexical beyond what does not exist."""
    real = _kernel_path(path, _OPEN_DIRECTORY)
    if real is not None:
        return real
    parent, name = split_last(path)
    if not name:
        return b"/"
    return normalise(join(real_directory(parent), name))


def resolve(path: bytes, follow: bool, depth: int = 0) -> Located:
    """The physical absolute path `path` names (its last component followed if `follow`),
    and whether it exists; one O_PATH open answers both."""
    parent, name = split_last(path)
    if name in (b"", b".", b".."):
        real = _kernel_path(path, _OPEN_DIRECTORY)
        return Located(real, True) if real is not None else Located(real_directory(path), False)
    if len(path) >= PATH_MAX:
        return _resolve_long(parent, name, follow, depth)
    follow = follow or path.endswith(b"/")
    real = _kernel_path(path, _OPEN_PATH if follow else _OPEN_PATH | os.O_NOFOLLOW)
    if real is not None:
        return Located(real, True)
    candidate = join(real_directory(parent), name)
    if follow and depth < MAX_SYMLINK_DEPTH:
        try:
            target = os.readlink(candidate)
        except OSError:
            return Located(candidate, False)
        return resolve(join(split_last(candidate)[0], target), True, depth + 1)
    return Located(candidate, False)


def _resolve_long(parent: bytes, name: bytes, follow: bool, depth: int) -> Located:
    """resolve() of a path longer than PATH_MAX: its parent opened piecewise, the last
    component looked up in it."""
    try:
        fd = open_any_length(parent, _OPEN_DIRECTORY)
    except OSError:
        return Located(normalise(join(parent, name)), False)
    try:
        candidate = join(directory_path(fd), name)
        try:
            mode = os.stat(name, dir_fd=fd, follow_symlinks=False).st_mode
        except OSError:
            return Located(candidate, False)
        if follow and stat.S_ISLNK(mode) and depth < MAX_SYMLINK_DEPTH:
            target = os.readlink(name, dir_fd=fd)
            return resolve(join(split_last(candidate)[0], target), True, depth + 1)
        return Located(candidate, True, mode)
    finally:
        os.close(fd)


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

    def resolve(self, path: bytes, follow: bool) -> Located:
        parent, name = split_last(path)
        if len(path) >= PATH_MAX or name in (b"", b".", b"..") or path.endswith(b"/"):
            return resolve(path, follow)
        real_parent = self._directories.get(parent)
        if real_parent is None:
            missing = self._missing.get(parent)
            if missing is not None:
                return Located(join(missing, name), False)
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
            return Located(candidate, False)
        if follow and stat.S_ISLNK(mode):
            return resolve(candidate, True)
        return Located(candidate, True, mode)


def _remember(cache: dict[bytes, bytes], key: bytes, value: bytes) -> None:
    if len(cache) >= _CACHE_LIMIT:
        cache.clear()
    cache[key] = value
