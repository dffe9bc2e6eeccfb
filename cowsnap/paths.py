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


def relative_name(path: bytes, workspace: str | bytes) -> bytes:
    """`path` relative to the workspace (`.` for the workspace itself); absolute when it
    lies outside, as every command names a path."""
    root = os.fsencode(workspace).rstrip(b"/")
    if path == root:
        return b"."
    if within(path, root):
        return path[len(root) + 1:]
    return path


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


_ESCAPES = {ord("\t"): "\\t", ord("\n"): "\\n", ord("\r"): "\\r", ord('"'): '\\"',
            ord("\\"): "\\\\"}


def display_path(path: bytes | str) -> str:
    """How every command shows a path to a person: as is when it is plain UTF-8, else
    in double quotes with C escapes (\\t, \\n, \\", \\\\, \\xNN for control characters
    and bytes that are not UTF-8), as git quotes names, so no name can be mistaken for
    another or split a line. A str is taken as os.fsdecode made it."""
    raw = path if isinstance(path, bytes) else path.encode("utf-8", "surrogateescape")
    text = raw.decode("utf-8", "surrogateescape")
    if text.isprintable() and not any(ord(char) in _ESCAPES for char in text):
        return text
    shown = []
    for char in text:
        code = ord(char)
        if code in _ESCAPES:
            shown.append(_ESCAPES[code])
        elif 0xDC80 <= code <= 0xDCFF:
            shown.append(f"\\x{code - 0xDC00:02x}")
        elif not char.isprintable() and char != " ":
            shown.append("".join(f"\\x{byte:02x}" for byte in char.encode()))
        else:
            shown.append(char)
    return '"' + "".join(shown) + '"'
