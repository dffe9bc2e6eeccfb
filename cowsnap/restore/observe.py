"""What is at each path now, looked at beneath the workspace without following symlinks."""

from __future__ import annotations

import dataclasses
import errno
import hashlib
import os
from collections.abc import Iterable

from cowsnap.model import ABSENT, FileState, Xattrs, file_type, is_hash_id
from cowsnap.restore.beneath import OpenParents, Roots
from cowsnap.restore.leftovers import is_abandoned
from cowsnap.restore.plan import Current, Target, parent_of
from cowsnap.store.content import CHUNK, blob_header
from cowsnap.xattrs import read_xattrs

_NOT_THERE = {errno.ENOENT, errno.ENOTDIR, errno.ELOOP}
"""A missing parent, or one that is a file or a symlink: nothing of the workspace is
at the path (what a symlink leads to is somewhere else)."""
_GONE = Current(ABSENT)
"""What `observe` finds at such a path (immutable: one for all)."""


def content_id(dir_fd: int, name: bytes, size: int) -> str | None:
    """The git blob id of a regular file's content; None when it cannot be read or
    changed size under us."""
    try:
        fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC,
                     dir_fd=dir_fd)
    except OSError:
        return None
    try:
        digest = hashlib.sha1(blob_header(size), usedforsecurity=False)
        total = 0
        while chunk := os.read(fd, CHUNK):
            digest.update(chunk)
            total += len(chunk)
        return digest.hexdigest() if total == size else None
    finally:
        os.close(fd)


def recorded_content(info: os.stat_result, target: Target) -> str | None:
    """git's stat rule: a file with the size and modification time (to the nanosecond)
    that the run recorded holds the content recorded with them; not read again. Only for
    a run this user recorded here: anyone writing a bundle can name a file's size and
    time, to pass another content for it."""
    for state in (target.replaces, target.want):
        if (state.type == "file" and is_hash_id(state.blob) and state.size == info.st_size
                and state.mtime_ns == info.st_mtime_ns):
            return state.blob
    return None


def _children(dir_fd: int, name: bytes) -> frozenset[bytes]:
    fd = os.open(name, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC,
                 dir_fd=dir_fd)
    try:
        return frozenset(name for name in map(os.fsencode, os.listdir(fd))
                         if not is_abandoned(name))
    finally:
        os.close(fd)


def _xattrs(dir_fd: int, name: bytes, target: Target) -> Xattrs | None:
    """The attributes cowsnap restores, read only when the run recorded them: of `name`
    itself in the directory open at `dir_fd` (through its /proc name, not following a
    symlink at `name`)."""
    if target.want.xattrs is None and target.replaces.xattrs is None:
        return None
    return read_xattrs(b"/proc/self/fd/%d/%s" % (dir_fd, name))


def observe_all(roots: Roots, targets: Iterable[Target], *,
                recorded_here: bool) -> dict[bytes, Current]:
    """The current state of each target's path (`observe`), each directory opened once.
    A directory found not there makes every path in it absent without looking again:
    the 10,000 files of a new directory to create are not each looked for."""
    found: dict[bytes, Current] = {}
    missing: set[bytes] = set()
    with OpenParents(roots) as parents:
        for target in targets:
            path = target.entry.path
            if missing and parent_of(path) in missing:
                found[path] = _GONE
                continue
            try:
                dir_fd, name = parents.get(path)
            except OSError as error:
                if error.errno in _NOT_THERE:
                    missing.add(parent_of(path))
                found[path] = _unseen(error)
                continue
            found[path] = observe(dir_fd, name, target, recorded_here)
    return with_links(found)


def with_links(found: dict[bytes, Current]) -> dict[bytes, Current]:
    """`found` with each file's other names among the paths examined in its state
    (outside the workspace too, when its paths are restored): the restore's own run
    records them, so undoing the restore brings the names back as one file."""
    names: dict[tuple[int, int], list[bytes]] = {}
    for path, current in found.items():
        if current.inode is not None:
            names.setdefault(current.inode, []).append(path)
    for group in names.values():
        if len(group) < 2:
            continue
        for path in group:
            current = found[path]
            links = tuple(sorted(name for name in group if name != path))
            found[path] = dataclasses.replace(
                current, state=dataclasses.replace(current.state, links=links))
    return found


def _file_content(dir_fd: int, name: bytes, info: os.stat_result, target: Target,
                  recorded_here: bool) -> str | None:
    """The id of a regular file's content: by the stat rule, or hashed when the run's
    states carry hash ids to compare it with; always hashed for a run not recorded here
    (then the restore's undo run keeps the real content, not the one the run names)."""
    if recorded_here:
        blob = recorded_content(info, target)
        if blob is not None or not (is_hash_id(target.want.blob)
                                    or is_hash_id(target.replaces.blob)):
            return blob
    return content_id(dir_fd, name, info.st_size)


def _unseen(error: OSError) -> Current:
    """What is at a path that could not be looked at, for `error`."""
    if error.errno in _NOT_THERE:
        return _GONE
    return Current(ABSENT, problem=f"cannot examine it: {error.strerror}")


def observe(dir_fd: int, name: bytes, target: Target, recorded_here: bool) -> Current:
    """The current state of `target`'s path, `name` in the directory open at `dir_fd`
    (file contents: `_file_content`); directories listed only when they may have to go."""
    try:
        try:
            info = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
        except FileNotFoundError:
            return _GONE
        kind = file_type(info.st_mode)
        if kind == "file":  # most paths: said without the tests for other types
            state = FileState(
                exists=True, type=kind, mode=info.st_mode, size=info.st_size,
                mtime_ns=info.st_mtime_ns, uid=info.st_uid, gid=info.st_gid,
                blob=_file_content(dir_fd, name, info, target, recorded_here),
                xattrs=_xattrs(dir_fd, name, target))
            return Current(state, inode=(info.st_dev, info.st_ino) if info.st_nlink > 1
                           else None)
        children = frozenset[bytes]()
        if kind == "directory" and target.want.type != "directory":
            children = _children(dir_fd, name)
        state = FileState(
            exists=True, type=kind, mode=info.st_mode,
            size=info.st_size if kind == "symlink" else None,
            mtime_ns=info.st_mtime_ns, uid=info.st_uid, gid=info.st_gid,
            xattrs=_xattrs(dir_fd, name, target) if kind != "symlink" else None,
            target=os.readlink(name, dir_fd=dir_fd) if kind == "symlink" else None)
        return Current(state, children)
    except OSError as error:
        return _unseen(error)
