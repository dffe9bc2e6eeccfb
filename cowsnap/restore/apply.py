"""Carrying out a restore plan: atomic, never through a symlink, every failure reported.

Each file or symlink is written under a temporary name in its own directory
and renamed over the path, so a reader sees the old or the new one, never a
part. Durability is batched: instead of an fsync per file and per directory
(10 to 50 s for ten thousand files on the test filesystems), the temporary
files of a batch are flushed with one syncfs per filesystem before they are
renamed, and the renames with one more syncfs before anything is deleted (only
then: a restore that deletes nothing leaves them to the filesystem's next
commit, as every rename is); the guarantees are the same (no rename is durable
before its content, no removal before the renames), at a fraction of the cost
(docs/restore.md has the figures).

Those temporaries, renames and removals change their directory's time; a
workspace directory whose time the plan does not set (the run never changed
it) gets back the time it had before the restore, after the writes.
"""

from __future__ import annotations

import errno
import os
import stat
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

from cowsnap.beneath import proc_path
from cowsnap.errors import StoreError
from cowsnap.libc import syncfs
from cowsnap.model import FileState
from cowsnap.paths import within
from cowsnap.restore.beneath import Roots
from cowsnap.restore.contents import Contents
from cowsnap.restore.leftovers import new_temp_prefix
from cowsnap.restore.plan import PRIVATE_DIRECTORY, Action, Plan, Step
from cowsnap.stages import reached
from cowsnap.xattrs import DEFAULT_ACL, read_xattrs, write_xattrs

OPEN_PARENTS = 256
"""Directories kept open between steps, so files in one directory resolve it once."""
BATCH_FILES = 65536
BATCH_BYTES = 256 * 1024 * 1024
"""Temporaries written before the next sync and rename: few syncs, bounded extra space."""

Failure = tuple[bytes, str]
Progress = Callable[[int, int], None]
"""Told (steps done, steps in all) after each step."""


def created_mode(want: FileState) -> int:
    """The permission bits a file is created with: the wanted owner bits without
    set-id bits, and read and execute for group and others only as far as the file
    grants them to both. The rest comes with `chmod` once the content is in (a file
    created with exactly its wanted mode needs none). Until then the temporary's group
    (the restorer's, or a setgid directory's) and the ACL it inherits are not the
    file's, nor is a recorded ACL set yet: a group bit the file denies to others, or
    any bit under an ACL, would let someone the file denies open the temporary and
    keep it open. A file with recorded attributes is created 0600: its owner needs
    write permission to set a `user.*` one, and an ACL sets bits of its own."""
    if want.mode is None or want.xattrs:
        return 0o600
    mode = stat.S_IMODE(want.mode)
    shared = mode & (mode >> 3) & 0o005
    return mode & 0o700 | shared << 3 | shared


@dataclass(frozen=True, slots=True)
class _Written:
    """A temporary file or symlink waiting to be renamed over its path."""

    path: bytes
    temp: bytes


def _describe(error: OSError) -> str:
    if error.errno in (errno.ELOOP, errno.ENOTDIR):
        return "a symlink or a file is in the way (never followed)"
    if error.errno == errno.ENOTEMPTY:
        return "directory not empty: it holds entries the run did not create"
    return error.strerror or str(error)


def may_inherit_acl(dir_fd: int) -> bool:
    """Whether a file created in the directory open (O_PATH) at `dir_fd` may get an ACL
    from it (its default ACL): the only attribute restore keeps that a new file can be
    born with (`user.*` ones are never inherited)."""
    try:
        os.getxattr(proc_path(dir_fd), DEFAULT_ACL)
    except OSError as error:
        return error.errno not in (errno.ENODATA, errno.ENOTSUP, errno.EOPNOTSUPP)
    return True


def linked_names(root_fd: int) -> Counter[tuple[int, int]]:
    """How many names each multiply-linked regular file has beneath `root_fd`, found by a
    walk that never follows a symlink."""
    found: Counter[tuple[int, int]] = Counter()
    for _path, _subdirs, files, dir_fd in os.fwalk(".", dir_fd=root_fd):
        for name in files:
            try:
                info = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
            except OSError:
                continue
            if stat.S_ISREG(info.st_mode) and info.st_nlink > 1:
                found[(info.st_dev, info.st_ino)] += 1
    return found


class Applier:
    def __init__(self, roots: Roots, contents: Contents, *, as_root: bool,
                 progress: Progress | None = None) -> None:
        self._roots = roots
        self._contents = contents
        self._as_root = as_root
        self._progress = progress
        self._pending: list[_Written] = []
        self._pending_bytes = 0
        self._renames_unsynced = False
        self._filesystems: dict[int, int] = {}
        self._parents: dict[bytes, int] = {}
        self._bare: set[int] = set()
        """Kept directories (by fd) in which a new file holds no attribute restore keeps:
        ours (only its owner, or root, may give it a default ACL) and without one."""
        self._temp_prefix = new_temp_prefix()
        self._temps = 0
        self._euid = os.geteuid()
        self._linked: Counter[tuple[int, int]] | None = None
        self._groups = frozenset({os.getegid(), *os.getgroups()})
        self._made: dict[bytes, bytes | None] = {}
        """Files this restore wrote: their temporary name until renamed, then None."""
        self._found: dict[bytes, os.stat_result] = {}
        """Workspace directories as this restore first opened them, before it wrote in them."""
        self._written_in: set[bytes] = set()
        """Directories this restore created, renamed or removed entries in."""
        self._handlers: dict[Action, Callable[[Step], None]] = {
            Action.CLEAR: self._remove, Action.REMOVE: self._remove,
            Action.MKDIR: self._mkdir, Action.WRITE: self._write,
            Action.SYMLINK: self._symlink, Action.MKFIFO: self._mkfifo,
            Action.METADATA: self._metadata,
            Action.DIR_METADATA: self._metadata,
        }
        self.failures: list[Failure] = []

    def run(self, plan: Plan) -> list[Failure]:
        """Apply every step in order; return the paths that could not be restored."""
        writes_failed: bool | None = None
        try:
            for done, step in enumerate(plan.steps, 1):
                if step.action in (Action.REMOVE, Action.DIR_METADATA):
                    self._flush(before_removing=step.action == Action.REMOVE)
                if step.action == Action.REMOVE and writes_failed is None:
                    reached("restore-removing")
                    writes_failed = bool(self.failures)
                if step.action == Action.DIR_METADATA:
                    reached("restore-directories")
                if step.action == Action.REMOVE and writes_failed:
                    self.failures.append(
                        (step.path, "not removed, because an earlier write failed"))
                else:
                    self._one(step)
                if self._progress is not None:
                    self._progress(done, len(plan.steps))
            self._flush()
            self._put_times_back(plan)
        except BaseException:
            for written in self._pending:  # interrupted: no temporary is left behind
                self._discard(written)
            raise
        finally:
            self._forget_parents()
            for fd in self._filesystems.values():
                os.close(fd)
        return self.failures

    def _one(self, step: Step) -> None:
        try:
            self._handlers[step.action](step)
        except OSError as error:
            self.failures.append((step.path, _describe(error)))
        except StoreError as error:
            self.failures.append((step.path, str(error)))

    def _parent(self, path: bytes, *, writing: bool = False) -> tuple[int, bytes]:
        """The directory holding `path` (opened safely, kept open) and the final name;
        `writing`: for a step that changes the directory's entries (and so its time).

        Valid until that directory is removed: `_remove` forgets it, and every kept
        directory beneath it, first."""
        parent, name = os.path.split(path)
        if writing:
            self._written_in.add(parent)
        fd = self._parents.get(parent)
        if fd is None:
            if len(self._parents) >= OPEN_PARENTS:
                self._forget_parents()
            fd, name = self._roots.open_parent(path)
            self._parents[parent] = fd
            info = os.fstat(fd)
            self._note_filesystem(fd, info.st_dev)
            if info.st_uid == self._euid and not may_inherit_acl(fd):
                self._bare.add(fd)
            if parent not in self._found \
                    and self._roots.split(path)[0] == self._roots.workspace_fd:
                self._found[parent] = info
        return fd, name

    def _put_times_back(self, plan: Plan) -> None:
        """The workspace directories this restore wrote in, but whose times the plan does
        not set, get back the times they had before it: the run never changed them
        (opened beneath the workspace again, and only if still the same directory)."""
        timed = {step.path for step in plan.steps
                 if step.action == Action.DIR_METADATA and step.target.want.mtime_ns is not None}
        for directory in sorted(self._written_in - timed):
            found = self._found.get(directory)
            if found is None or os.geteuid() not in (0, found.st_uid):
                continue  # only its owner may set its times; others leave them as writing did
            try:
                fd = self._roots.open_dir(directory)
            except OSError:
                continue  # removed (or replaced by a symlink) since: nothing to put back
            try:
                now = os.fstat(fd)
                if (now.st_dev, now.st_ino) == (found.st_dev, found.st_ino):
                    os.utime(proc_path(fd), ns=(found.st_atime_ns, found.st_mtime_ns))
            except OSError as error:
                self.failures.append((directory, f"its time was not put back: "
                                                 f"{_describe(error)}"))
            finally:
                os.close(fd)

    def _forget_parents(self, beneath: bytes | None = None) -> None:
        """Close the kept directories (those at or beneath `beneath`, when given)."""
        for directory in list(self._parents):
            if beneath is None or within(directory, beneath):
                fd = self._parents.pop(directory)
                self._bare.discard(fd)
                os.close(fd)

    def _temp_name(self) -> bytes:
        """Unique within this restore (a random prefix); O_EXCL guards the rest."""
        self._temps += 1
        return self._temp_prefix + str(self._temps).encode()

    def _note_filesystem(self, dir_fd: int, device: int) -> None:
        if device not in self._filesystems:
            self._filesystems[device] = os.open(
                ".", os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC, dir_fd=dir_fd)

    def _sync(self) -> None:
        for fd in self._filesystems.values():
            syncfs(fd)

    def _flush(self, *, before_removing: bool = False) -> None:
        """Make the batch's temporaries durable and rename them into place; before a
        removal, make every rename durable too (undoing `mv a b` writes `a` and removes
        `b`: a crash must never leave neither)."""
        if self._pending:
            self._sync()
            reached("restore-written")
            for written in self._pending:
                try:
                    dir_fd, name = self._parent(written.path)
                    os.rename(written.temp, name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
                    if written.path in self._made:
                        self._made[written.path] = None
                except OSError as error:
                    self.failures.append((written.path, _describe(error)))
                    self._discard(written)
            self._pending.clear()
            self._pending_bytes = 0
            self._renames_unsynced = True
        if before_removing and self._renames_unsynced:
            self._sync()
            self._renames_unsynced = False

    def _discard(self, written: _Written) -> None:
        try:
            dir_fd, _name = self._parent(written.path)
            os.unlink(written.temp, dir_fd=dir_fd)
        except OSError:
            return

    def _queue(self, written: _Written, size: int) -> None:
        self._pending.append(written)
        self._pending_bytes += size
        if len(self._pending) >= BATCH_FILES or self._pending_bytes >= BATCH_BYTES:
            self._flush()

    def _remove(self, step: Step) -> None:
        """unlink (never following a symlink), or, when that finds a directory, rmdir."""
        dir_fd, name = self._parent(step.path, writing=True)
        try:
            os.unlink(name, dir_fd=dir_fd)
        except IsADirectoryError:
            self._forget_parents(beneath=step.path)
            os.rmdir(name, dir_fd=dir_fd)

    def _mkdir(self, step: Step) -> None:
        """Created private and writable; its own mode and times come last."""
        dir_fd, name = self._parent(step.path, writing=True)
        os.mkdir(name, PRIVATE_DIRECTORY, dir_fd=dir_fd)

    def _link_source(self, step: Step) -> tuple[int, bytes] | None:
        """Another name of the file to write that holds its content now (one this
        restore wrote, or one in the workspace left as it was), so the names stay one
        file."""
        want = step.target.want
        for other in want.links:
            try:
                if other in self._made:
                    dir_fd, name = self._parent(other)
                    temp = self._made[other]
                    return dir_fd, name if temp is None else temp
                if self._roots.split(other)[0] != self._roots.workspace_fd:
                    continue
                dir_fd, name = self._parent(other)
                info = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
            except OSError:
                continue
            if stat.S_ISREG(info.st_mode) and (info.st_size, info.st_mtime_ns) == (
                    want.size, want.mtime_ns):
                return dir_fd, name
        return None

    def _write(self, step: Step) -> None:
        want = step.target.want
        source = self._link_source(step) if want.links else None
        dir_fd, _name = self._parent(step.path, writing=True)
        temp = self._temp_name()
        if source is not None:
            os.link(source[1], temp, src_dir_fd=source[0], dst_dir_fd=dir_fd,
                    follow_symlinks=False)
            self._made[step.path] = temp
            self._queue(_Written(step.path, temp), 0)
            return
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC,
                     created_mode(want), dir_fd=dir_fd)
        written = _Written(step.path, temp)
        try:
            try:
                self._contents.write(step.target.entry, want, fd)
                made = os.fstat(fd)
                self._set_metadata(fd, want, self._euid, group=made.st_gid, mode=made.st_mode,
                                   bare=dir_fd in self._bare)
            finally:
                os.close(fd)
        except BaseException:
            self._discard(written)
            raise
        self._made[step.path] = temp
        self._queue(written, want.size or 0)

    def _mkfifo(self, step: Step) -> None:
        want = step.target.want
        dir_fd, _name = self._parent(step.path, writing=True)
        temp = self._temp_name()
        os.mkfifo(temp, 0o600, dir_fd=dir_fd)
        written = _Written(step.path, temp)
        try:
            fd = os.open(temp, os.O_PATH | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=dir_fd)
            try:
                self._set_metadata(fd, want, self._euid, through_proc=True)
            finally:
                os.close(fd)
        except BaseException:
            self._discard(written)
            raise
        self._queue(written, 0)

    def _symlink(self, step: Step) -> None:
        want = step.target.want
        assert want.target is not None
        dir_fd, _name = self._parent(step.path, writing=True)
        temp = self._temp_name()
        os.symlink(want.target, temp, dir_fd=dir_fd)
        written = _Written(step.path, temp)
        try:
            self._set_link_metadata(dir_fd, temp, want)
        except BaseException:
            self._discard(written)
            raise
        self._queue(written, 0)

    def _metadata(self, step: Step) -> None:
        want = step.target.want
        dir_fd, name = self._parent(step.path)
        if want.type == "symlink":
            self._set_link_metadata(dir_fd, name, want)
            return
        fd = os.open(name, os.O_PATH | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=dir_fd)
        try:
            info = os.fstat(fd)
            if stat.S_ISLNK(info.st_mode):
                raise OSError(errno.ELOOP, "is a symlink")
            self._check_inode(info, step)
            self._set_metadata(fd, want, info.st_uid, through_proc=True)
        finally:
            os.close(fd)

    def _check_inode(self, info: os.stat_result, step: Step) -> None:
        """Metadata goes only to the inode the run recorded at the path: not one linked
        in from elsewhere (its other name could be /etc/shadow), nor one owned by someone
        the run never recorded there (nor the restoring user, who owns what it created).
        A file with several links gets it only when every one of them is inside the
        workspace."""
        if not stat.S_ISDIR(info.st_mode) and info.st_nlink != 1:
            if self._linked is None:
                self._linked = linked_names(self._roots.workspace_fd)
            inside = self._roots.split(step.path)[0] == self._roots.workspace_fd
            if not inside or self._linked[(info.st_dev, info.st_ino)] != info.st_nlink:
                raise OSError(errno.EPERM, "it has hard links outside the workspace, so it "
                                           "may be a file from elsewhere: its metadata is "
                                           "not changed")
        recorded = {step.target.want.uid, step.target.replaces.uid} - {None}
        if recorded and info.st_uid not in recorded | {self._euid}:
            raise OSError(errno.EPERM, f"it is owned by uid {info.st_uid} now, which the "
                                       f"run never recorded there: its metadata is not "
                                       f"changed")

    def _set_metadata(self, fd: int, want: FileState, owner: int | None, *,
                      group: int | None = None, mode: int | None = None,
                      bare: bool = False, through_proc: bool = False) -> None:
        """Owner (as root, when not `owner` already) and group (as root, or one of
        ours; when not `group` already, which only a file restore created itself
        tells: on another, chown also clears set-id bits), then the recorded extended
        attributes (changing a `user.*` one needs write permission, even for the
        owner: a path restore did not create is made writable for its owner first;
        `bare`: a file restore just created where it inherits none, so none to read),
        then mode (chown, and setting an ACL, clear set-id bits; skipped when `mode`,
        the file's mode as restore created it, is the wanted one and it has no
        attributes), then times."""
        where: int | str = proc_path(fd) if through_proc else fd
        uid = want.uid if self._as_root and want.uid is not None and want.uid != owner else -1
        gid = want.gid if want.gid is not None and want.gid != group and (
            self._as_root or want.gid in self._groups) else -1
        chowned = uid != -1 or gid != -1
        if chowned:
            os.chown(where, uid, gid)
        if want.xattrs is not None:
            have = () if bare else read_xattrs(where, follow=True)
            if have != want.xattrs and mode is None and want.mode is not None \
                    and not self._as_root:  # a path not created here may be read-only
                os.chmod(where, stat.S_IMODE(want.mode) | stat.S_IWUSR)
            write_xattrs(where, want.xattrs, have, follow=True)
        if want.mode is not None and (chowned or mode is None or want.xattrs
                                      or stat.S_IMODE(mode) != stat.S_IMODE(want.mode)):
            os.chmod(where, stat.S_IMODE(want.mode))
        if want.mtime_ns is not None:
            os.utime(where, ns=(want.mtime_ns, want.mtime_ns))

    def _set_link_metadata(self, dir_fd: int, name: bytes, want: FileState) -> None:
        if self._as_root and want.uid is not None:
            os.chown(name, want.uid, -1 if want.gid is None else want.gid, dir_fd=dir_fd,
                     follow_symlinks=False)
        if want.mtime_ns is not None:
            os.utime(name, ns=(want.mtime_ns, want.mtime_ns), dir_fd=dir_fd,
                     follow_symlinks=False)
