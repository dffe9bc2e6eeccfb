"""An independent before/after walk of a tree: the oracle cowsnap's record, undo and
redo are compared with (nothing here uses cowsnap)."""

from __future__ import annotations

import hashlib
import os
import stat
from pathlib import Path
from typing import NamedTuple


class Node(NamedTuple):
    type: str
    mode: int
    uid: int
    gid: int
    size: int | None
    sha256: str | None
    target: bytes | None
    nlink: int
    mtime_ns: int | None
    xattrs: tuple[tuple[str, bytes], ...]
    names: tuple[bytes, ...]
    """Every name of the same inode in the tree (hard links), itself included."""


def _kind(mode: int) -> str:
    for test, name in ((stat.S_ISREG, "file"), (stat.S_ISDIR, "directory"),
                       (stat.S_ISLNK, "symlink"), (stat.S_ISFIFO, "fifo")):
        if test(mode):
            return name
    return "other"


def _xattrs(path: bytes) -> tuple[tuple[str, bytes], ...]:
    try:
        names = os.listxattr(path, follow_symlinks=False)
    except OSError:
        return ()
    kept = sorted(name for name in names if name.startswith("user.")
                  or name.startswith("system.posix_acl"))
    return tuple((name, os.getxattr(path, name, follow_symlinks=False)) for name in kept)


def walk(root: Path, *, skip: tuple[bytes, ...] = ()) -> dict[bytes, Node]:
    """Every path beneath `root` (relative, bytes), not the root itself; `skip` prunes
    relative paths (and what is beneath them)."""
    top = os.fsencode(root)
    found: dict[bytes, tuple[os.stat_result, bytes]] = {}
    for directory, subdirs, files in os.walk(top):
        for name in subdirs + files:
            path = os.path.join(directory, name)
            relative = os.path.relpath(path, top)
            if any(relative == s or relative.startswith(s + b"/") for s in skip):
                continue
            found[relative] = (os.lstat(path), path)
    by_inode: dict[tuple[int, int], list[bytes]] = {}
    for relative, (info, _path) in found.items():
        if stat.S_ISREG(info.st_mode):
            by_inode.setdefault((info.st_dev, info.st_ino), []).append(relative)
    nodes = {}
    for relative, (info, path) in found.items():
        kind = _kind(info.st_mode)
        digest = None
        if kind == "file":
            digest = hashlib.sha256(Path(os.fsdecode(path)).read_bytes()).hexdigest()
        nodes[relative] = Node(
            type=kind, mode=info.st_mode, uid=info.st_uid, gid=info.st_gid,
            size=info.st_size if kind in ("file", "symlink") else None, sha256=digest,
            target=os.readlink(path) if kind == "symlink" else None,
            nlink=info.st_nlink if kind != "directory" else 0,
            mtime_ns=info.st_mtime_ns if kind != "symlink" else None,
            xattrs=_xattrs(path) if kind != "symlink" else (),
            names=tuple(sorted(by_inode.get((info.st_dev, info.st_ino), [relative])))
            if kind == "file" else (relative,),
        )
    return nodes


def differences(expected: dict[bytes, Node], actual: dict[bytes, Node]) -> list[str]:
    """Readable differences, empty when the trees are the same."""
    found = []
    for path in sorted(set(expected) | set(actual)):
        old, new = expected.get(path), actual.get(path)
        if old != new:
            if old is None or new is None:
                found.append(f"{path!r}: {'missing' if new is None else 'unexpected'}")
            else:
                fields = [f"{field} {a!r} != {b!r}" for field, a, b
                          in zip(Node._fields, old, new, strict=True) if a != b]
                found.append(f"{path!r}: " + ", ".join(fields))
    return found
