"""A snapshot that preserves each path just before its first mutation.

Preparing costs one directory whatever the tree size; each capture copies one
node (or a subtree about to be renamed) into a mirror tree while the mutating
process is stopped. How file data is copied (reflink or plain) is the only
difference between the reflink and copy backends.

Releasing costs the user nothing: the snapshot directory is renamed to a name
owned by a detached process, which deletes it after `cowsnap run` has exited.
Should that process die, its directory is stale (its owner is gone) and the next
run removes it, as any leftover of a killed run. A snapshot that kept nothing (the
command changed nothing in the workspace) is just removed: two empty directories.
"""

from __future__ import annotations

import errno
import os
import stat
from abc import abstractmethod
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext, suppress
from pathlib import Path
from typing import NoReturn

from cowsnap.errors import SnapshotError
from cowsnap.snapshot import immutable
from cowsnap.snapshot.base import FileId, Snapshot
from cowsnap.snapshot.ledger import Ledger, Verdict
from cowsnap.snapshot.owner import current_owner, mark
from cowsnap.xattrs import DEFAULT_ACL, read_xattrs, write_xattrs

_GONE = (errno.ENOENT, errno.ENOTDIR, errno.ELOOP, errno.ENAMETOOLONG)
"""lstat errors meaning nothing is at the path (a symlink loop in its prefix included)."""
_OWNER_WRITE_SEARCH = stat.S_IWUSR | stat.S_IXUSR


class LazySnapshot(Snapshot):
    """Before-states kept under `location/tree`, mirroring the workspace's layout."""

    def __init__(self, workspace: Path, location: Path) -> None:
        super().__init__(workspace)
        self._location = location
        self._root = os.fsencode(workspace.resolve())
        self._tree = os.fsencode(location / "tree")
        self._ledger = Ledger()
        self._directory_times: dict[bytes, tuple[int, int]] = {}
        self._linked: dict[bytes, tuple[FileId, int]] = {}
        """Each preserved file with more than one name: its inode and link count then."""
        self._first_name: dict[FileId, bytes] = {}
        """Where each such file was first preserved."""
        self._released = False
        os.mkdir(self._tree, 0o700)
        self._inheriting = _has_default_acl(self._tree)
        """Whether a kept directory may hold a default ACL, so that a copy made in it may
        be born with attributes its original lacks: true once the tree inherited one from
        where it lies, or one was written onto a preserved directory."""

    @property
    def location(self) -> Path | None:
        return self._location

    @abstractmethod
    def copy_data(self, source: int, destination: int) -> None:
        """Copy all data of open file descriptor `source` into empty open `destination`."""

    def _relative(self, path: bytes) -> bytes | None:
        """`path` relative to the workspace root, or None when outside it or in our own store."""
        path = os.path.normpath(path)
        if path == self._root:
            return b""
        if not path.startswith(self._root.rstrip(b"/") + b"/"):
            return None
        if path == os.fsencode(self._location) or path.startswith(
                os.fsencode(self._location) + b"/"):
            return None
        return path[len(self._root.rstrip(b"/")) + 1:]

    def _live(self, relative: bytes) -> bytes:
        return os.path.join(self._root, relative) if relative else self._root

    def _kept(self, relative: bytes) -> bytes:
        return os.path.join(self._tree, relative) if relative else self._tree

    def where(self, path: bytes) -> bytes | None:
        relative = self._relative(path)
        if relative is None:
            return None
        verdict = self._ledger.verdict(relative)
        if verdict is Verdict.ABSENT:
            return None
        return self._live(relative) if verdict is Verdict.LIVE else self._kept(relative)

    def inode_before(self, path: bytes) -> tuple[FileId, int] | None:
        relative = self._relative(path)
        return None if relative is None else self._linked.get(relative)

    def capture(self, path: bytes, *, subtree: bool = False) -> None:
        """Also captures the parent directory: the mutation will change its listing and mtime."""
        relative = self._relative(path)
        if relative is None:
            return
        try:
            self._capture(relative, subtree=subtree)
        except OSError as error:
            raise SnapshotError(
                f"cannot preserve {os.fsdecode(path)} before it changes: {error}") from error

    def _capture(self, relative: bytes, *, subtree: bool) -> None:
        if relative and self._ledger.verdict(os.path.dirname(relative)) is Verdict.LIVE:
            self._capture_node(os.path.dirname(relative), subtree=False)
        verdict = self._ledger.verdict(relative)
        if verdict is Verdict.LIVE:
            self._capture_node(relative, subtree=subtree)
            return
        entry = self._ledger.entry(relative)
        if subtree and entry is not None and not entry.absent and not entry.subtree:
            self._fill_subtree(relative)
            self._ledger.record_present(relative, entry.listing, subtree=True)

    def _capture_node(self, relative: bytes, *, subtree: bool) -> None:
        live = self._live(relative)
        try:
            status = os.lstat(live)
        except OSError as error:
            if error.errno not in _GONE:
                raise
            self._ledger.record_absent(relative)
            return
        self._make_parents(relative)
        kept = self._kept(relative)
        live, status = self._first_preserved(relative, live, status)
        listing = None
        with _opened_up(self._kept(os.path.dirname(relative))) if relative else nullcontext():
            if stat.S_ISDIR(status.st_mode):
                listing = frozenset(os.listdir(live))
                if not os.path.isdir(kept):
                    os.mkdir(kept, 0o700)
            else:
                self._copy_node(live, kept, status)
        if subtree and listing is not None:
            self._fill_subtree(relative)
        self._ledger.record_present(relative, listing, subtree=subtree and listing is not None)
        self._apply_metadata(live, kept, status)
        if stat.S_ISDIR(status.st_mode):
            self._directory_times[relative] = (status.st_atime_ns, status.st_mtime_ns)
        self._restore_parent_times(relative)

    def _first_preserved(self, relative: bytes, live: bytes,
                         status: os.stat_result) -> tuple[bytes, os.stat_result]:
        """What to preserve `relative` from: for another name of a file preserved already
        (whose content and metadata the run may have changed since, through that name,
        and whose other names it may have removed), the first copy, taken before any
        change; else the live path. A name still live has had its inode since the run
        began, as had the first: the same inode number is the same file."""
        if not stat.S_ISREG(status.st_mode):
            return live, status
        inode = (status.st_dev, status.st_ino)
        first = self._first_name.get(inode)
        if first is None:
            if status.st_nlink > 1:
                self._first_name[inode] = relative
                self._linked[relative] = (inode, status.st_nlink)
            return live, status
        self._linked[relative] = self._linked[first]
        return self._kept(first), os.lstat(self._kept(first))

    def _fill_subtree(self, relative: bytes) -> None:
        for name in os.listdir(self._live(relative)):
            child = relative + b"/" + name if relative else name
            if self._ledger.verdict(child) is Verdict.LIVE:
                self._capture_node(child, subtree=True)

    def _make_parents(self, relative: bytes) -> None:
        """Scaffolding directories down to `relative`'s parent, through preserved ones too
        (whose times the new entry bumped go back to what was preserved)."""
        parent = os.path.dirname(relative)
        made = b""
        for name in parent.split(b"/") if parent else []:
            outer, made = made, os.path.join(made, name) if made else name
            if not os.path.isdir(self._kept(made)):
                with _opened_up(self._kept(outer)):
                    os.mkdir(self._kept(made), 0o700)
                self._restore_parent_times(made)

    def _copy_node(self, live: bytes, kept: bytes, status: os.stat_result) -> None:
        if stat.S_ISREG(status.st_mode):
            source = os.open(live, os.O_RDONLY | os.O_NOFOLLOW)
            try:
                destination = os.open(kept, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                try:
                    self.copy_data(source, destination)
                finally:
                    os.close(destination)
            finally:
                os.close(source)
        elif stat.S_ISLNK(status.st_mode):
            os.symlink(os.readlink(live), kept)
        else:
            os.mknod(kept, status.st_mode, status.st_rdev)

    def _apply_metadata(self, live: bytes, kept: bytes, status: os.stat_result) -> None:
        """Owner, group, the attributes cowsnap records, exactly the original's (a copy
        made in a directory with a default ACL is born with an ACL: it goes, unless the
        original has it), mode (a `user.*` attribute needs write permission, even for
        the owner), times; then immutable."""
        if os.geteuid() == 0:
            os.lchown(kept, status.st_uid, status.st_gid)
        else:
            with suppress(PermissionError):
                os.lchown(kept, -1, status.st_gid)
        if not stat.S_ISLNK(status.st_mode):
            attributes = read_xattrs(live)
            if attributes and any(name == DEFAULT_ACL for name, _value in attributes):
                self._inheriting = True
            if attributes or self._inheriting:
                write_xattrs(kept, attributes or (), read_xattrs(kept))
            os.chmod(kept, stat.S_IMODE(status.st_mode))
        os.utime(kept, ns=(status.st_atime_ns, status.st_mtime_ns), follow_symlinks=False)
        if stat.S_ISREG(status.st_mode):
            fd = os.open(kept, os.O_RDONLY | os.O_NOFOLLOW)
            try:
                immutable.set_immutable(fd)
            finally:
                os.close(fd)

    def _restore_parent_times(self, relative: bytes) -> None:
        """Adding an entry bumped the kept parent's mtime; a captured parent gets its own back."""
        parent = os.path.dirname(relative) if relative else None
        if parent is not None and parent in self._directory_times:
            os.utime(self._kept(parent), ns=self._directory_times[parent])

    def release(self) -> None:
        if self._released:
            return
        self._released = True
        if self._removed_if_empty():
            return
        if self._location.exists():
            remove_in_background(self._location, self.backend, remove_lazy_tree)

    def _removed_if_empty(self) -> bool:
        """Remove the snapshot here if it is still two empty directories (the command
        changed nothing): two rmdirs cost less than handing it to a detached process."""
        try:
            os.rmdir(self._tree)
            os.rmdir(self._location)
        except OSError:
            return False
        return True


def _has_default_acl(directory: bytes) -> bool:
    attributes = read_xattrs(directory)
    return attributes is not None and any(name == DEFAULT_ACL for name, _value in attributes)


@contextmanager
def _opened_up(kept_directory: bytes) -> Iterator[None]:
    """Let a non-root owner add to a preserved directory whose original mode forbids it."""
    mode = stat.S_IMODE(os.lstat(kept_directory).st_mode)
    if os.geteuid() == 0 or mode & _OWNER_WRITE_SEARCH == _OWNER_WRITE_SEARCH:
        yield
        return
    os.chmod(kept_directory, mode | _OWNER_WRITE_SEARCH)
    try:
        yield
    finally:
        os.chmod(kept_directory, mode)


def remove_in_background(location: Path, kind: str, remove: Callable[[Path], None]) -> None:
    """Hand `location` over to a detached process that deletes it with `remove`; return
    once that process has renamed it to a `kind` mark of its own (so no other cowsnap
    takes it for a leftover meanwhile). Where that cannot be done, remove it here."""
    read_end, write_end = os.pipe()
    try:
        child = os.fork()
    except OSError:
        os.close(read_end)
        os.close(write_end)
        remove(location)
        return
    if child == 0:
        _detach_and_remove(location, kind, remove, read_end, write_end)
    os.close(write_end)
    try:
        os.waitpid(child, 0)
        handed = os.read(read_end, 1) == b"1"
    finally:
        os.close(read_end)
    if not handed:
        remove(location)


def _detach_and_remove(location: Path, kind: str, remove: Callable[[Path], None],
                       read_end: int, write_end: int) -> NoReturn:
    """In the forked child: leave the session, fork again (the grandchild is nobody's
    child to wait for), hold no descriptor of the parent's (a pipe reader would wait
    for it), take the directory over and delete it. Never returns."""
    try:
        os.close(read_end)
        os.setsid()
        if os.fork() != 0:
            os._exit(0)
        devnull = os.open(os.devnull, os.O_RDWR)
        for standard in (0, 1, 2):
            os.dup2(devnull, standard)
        os.closerange(3, write_end)
        os.closerange(write_end + 1, 1 << 20)
        taken = location.parent / mark(kind, current_owner())
        os.rename(location, taken)
        os.write(write_end, b"1")
        os.close(write_end)
        remove(taken)
    finally:
        os._exit(0)


def remove_lazy_tree(location: Path) -> None:
    """Delete a lazy snapshot directory, immutable copies included."""
    import shutil  # here: it loads bz2 and lzma, 4 ms of every run's start-up

    if not location.exists():
        return
    immutable.clear_immutable_tree(os.fsencode(location))
    for directory, subdirectories, _ in os.walk(location):
        for name in subdirectories:
            path = os.path.join(directory, name)
            if stat.S_ISDIR(os.lstat(path).st_mode):
                os.chmod(path, 0o700)
    shutil.rmtree(location)
