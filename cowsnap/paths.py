"""Path relations on bytes paths, shared by recording, snapshots and restore."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator

PATH_MAX = 4096
_OPEN_DIRECTORY = os.O_PATH | os.O_CLOEXEC | os.O_DIRECTORY


def within(path: bytes, directory: bytes) -> bool:
    """Whether `path` is `directory` or lies beneath it (lexically; both normalised)."""
    return path == directory or path.startswith(directory.rstrip(b"/") + b"/")


def open_any_length(path: bytes, flags: int) -> int:
    """os.open(path, flags) for an absolute path of any length (a tracee can make paths
    longer than PATH_MAX): pieces shorter than PATH_MAX, each opened (O_PATH, following
    symlinks) relative to the directory the previous one opened."""
    if len(path) < PATH_MAX:
        return os.open(path, flags)
    pieces: list[bytes] = []
    piece = b"/"
    for name in path.split(b"/"):
        if not name:
            continue
        longer = piece + name if piece.endswith(b"/") else piece + b"/" + name
        if len(longer) >= PATH_MAX:
            pieces.append(piece)
            longer = name
        piece = longer
    fd: int | None = None
    try:
        for directory in pieces:
            following = os.open(directory, _OPEN_DIRECTORY, dir_fd=fd)
            if fd is not None:
                os.close(fd)
            fd = following
        return os.open(piece, flags, dir_fd=fd)
    finally:
        if fd is not None:
            os.close(fd)


@contextlib.contextmanager
def reachable(path: bytes) -> Iterator[tuple[int | None, bytes]]:
    """(dir_fd, name) by which `path` can be lstat'ed, read or opened at any length:
    (None, path) below PATH_MAX, else its parent opened piecewise and its last name."""
    if len(path) < PATH_MAX:
        yield None, path
        return
    parent, _, name = path.rstrip(b"/").rpartition(b"/")
    fd = open_any_length(parent or b"/", _OPEN_DIRECTORY)
    try:
        yield fd, name
    finally:
        os.close(fd)


def lexists(path: bytes) -> bool:
    """os.path.lexists at any length."""
    try:
        with reachable(path) as (directory, name):
            os.lstat(name, dir_fd=directory)
    except (OSError, ValueError):
        return False
    return True
