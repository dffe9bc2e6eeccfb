"""Hard links: every name of a file the run wrote, before and after the run.

Writing through one name changes the content under all of them, so the recorder
lists every name of a written inode inside the workspace. The names an inode has
after the run come from one walk of the workspace, made only when a written file
has more than one name. Before the run, a name's inode is the one the tracer's
pre-mutation hook saw, or, for a name the run did not bind, unbind or rename, the
one it has now. A file written through a name outside the workspace changes its
names inside it too: those are found the same way, and linked to that outside name
(the only outside name a group holds).
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable, Mapping

from cowsnap.model import CHANGES_CONTENT, Operation
from cowsnap.paths import within

Inode = tuple[int, int]
BINDS = frozenset({Operation.CREATE, Operation.DELETE, Operation.RENAME, Operation.MKDIR})
"""Operations that may change which inode a name refers to (and its directory's time)."""


def inode_of(path: bytes) -> tuple[Inode, int] | None:
    """(device, inode) and link count of a regular file, None for anything else."""
    try:
        info = os.lstat(path)
    except OSError:
        return None
    return ((info.st_dev, info.st_ino), info.st_nlink) if stat.S_ISREG(info.st_mode) else None


def names_by_inode(root: bytes, wanted: set[Inode], skip: Iterable[bytes]) -> dict[Inode,
                                                                                   list[bytes]]:
    """Every name beneath `root` of the inodes in `wanted` (not descending into `skip`)."""
    found: dict[Inode, list[bytes]] = {}
    skipped = tuple(skip)
    for directory, subdirs, files in os.walk(root):
        subdirs[:] = [name for name in subdirs
                      if not any(within(os.path.join(directory, name), s) for s in skipped)]
        for name in files:
            path = os.path.join(directory, name)
            try:
                info = os.lstat(path)
            except OSError:
                continue
            inode = (info.st_dev, info.st_ino)
            if inode in wanted:
                found.setdefault(inode, []).append(path)
    return found


class LinkMap:
    """The other names of each workspace path, before and after the run."""

    def __init__(self, workspace: bytes, skip: Iterable[bytes],
                 operations: Mapping[bytes, frozenset[Operation]],
                 hooked: Mapping[bytes, tuple[Inode, int]]) -> None:
        self._after: dict[bytes, tuple[bytes, ...]] = {}
        self._before: dict[bytes, tuple[bytes, ...]] = {}
        self._outside: dict[bytes, bytes] = {}
        written = [path for path, ops in operations.items() if ops & CHANGES_CONTENT]
        live = {path: inode_of(path) for path in written}
        wanted_after = {found[0] for path, found in live.items()
                        if found and found[1] > 1 and within(path, workspace)}
        written_outside = {found[0]: path for path, found in sorted(live.items(), reverse=True)
                           if found and found[1] > 1 and not within(path, workspace)}
        wanted_before = {found[0] for path, found in hooked.items()
                         if found[1] > 1 and path in operations}
        if not wanted_after and not wanted_before and not written_outside:
            return
        names = names_by_inode(workspace, wanted_after | wanted_before | set(written_outside),
                               skip)
        for inode, outside in written_outside.items():
            inside = names.get(inode, [])
            for name in inside:
                self._outside[name] = outside
            if inside:
                names[inode] = [*inside, outside]
                wanted_after.add(inode)
                wanted_before.add(inode)
        for inode in wanted_after:
            group = sorted(names.get(inode, ()))
            for path in group:
                self._after[path] = tuple(name for name in group if name != path)
        before_groups: dict[Inode, set[bytes]] = {}
        for path, (inode, _count) in hooked.items():
            before_groups.setdefault(inode, set()).add(path)
        for inode, group_names in names.items():
            for name in group_names:
                if name not in hooked and not operations.get(name, frozenset()) & BINDS:
                    before_groups.setdefault(inode, set()).add(name)
        for inode in wanted_before:
            group = sorted(before_groups.get(inode, ()))
            for path in group:
                self._before[path] = tuple(name for name in group if name != path)

    def after(self, path: bytes) -> tuple[bytes, ...]:
        return self._after.get(path, ())

    def before(self, path: bytes) -> tuple[bytes, ...]:
        return self._before.get(path, ())

    def outside(self, path: bytes) -> bytes | None:
        """The name outside the workspace through which the run wrote `path`'s file."""
        return self._outside.get(path)

    def names(self) -> set[bytes]:
        """Every name of a written inode, before or after."""
        return {*self._after, *self._before, *self._outside}
