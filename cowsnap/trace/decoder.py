"""What each traced syscall does to which path, worked out at its entry while the thread is stopped.

Events of syscalls whose outcome matters (mutations, opens that may write,
exec) are held as a completion and emitted at the syscall's exit with its
result. Probes (stat, access, readlink, getdents) and read-only opens are
emitted at entry, their result being 0 if the path existed then and -ENOENT if
not: that saves a second stop per call, the most frequent calls of all.
Mutations are announced to `before_mutation` before they happen.
"""

from __future__ import annotations

import dataclasses
import errno
import os
import stat
from collections.abc import Callable, Sequence

from cowsnap.model import MUTATING_OPERATIONS, Operation
from cowsnap.paths import PATH_MAX
from cowsnap.trace import native, paths
from cowsnap.trace.events import Event, PathEvent, TraceWarning
from cowsnap.trace.fds import CloseHook, FdBookkeeping
from cowsnap.trace.paths import Located
from cowsnap.trace.scope import HookScope
from cowsnap.trace.state import FdEntry, Task
from cowsnap.trace.syscalls import (
    AF_UNIX,
    AT_EMPTY_PATH,
    AT_FDCWD,
    O_CREAT,
    O_TMPFILE_BIT,
    O_TRUNC,
    O_WRONLY,
    RENAME_EXCHANGE,
    Kind,
    Spec,
    follows_last,
    open_may_mutate,
    open_operation,
    opens_for_writing,
    signed,
)

_NOT_FOUND = -errno.ENOENT
_EXISTS = -errno.EEXIST
"""What mkdir of an existing path returns: known at entry, so no exit stop is needed
for the `mkdir -p` / makedirs(exist_ok=True) probes that builds are full of."""
_CREATIONS = frozenset({Operation.CREATE, Operation.MKDIR})
_DELETED = b" (deleted)"

EventSink = Callable[[Event], None]
MutationHook = Callable[[PathEvent], None]


def _directory_or_symlink(path: bytes, mode: int) -> bool:
    """From the mode the resolver read, or else from an lstat now."""
    if not mode:
        try:
            mode = os.lstat(path).st_mode
        except OSError:
            return False
    return stat.S_ISDIR(mode) or stat.S_ISLNK(mode)


def _proc_link(tid: int, name: bytes) -> bytes:
    """/proc/TID/cwd, root or fd/N: the directory's path even beyond PATH_MAX."""
    link = b"/proc/%d/%s" % (tid, name)
    try:
        return os.readlink(link)
    except OSError as error:
        if error.errno in (errno.ENOENT, errno.ESRCH):
            raise native.TraceeGone(tid) from None
        if error.errno != errno.ENAMETOOLONG:
            raise
    fd = os.open(link, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        return paths.directory_path(fd)
    finally:
        os.close(fd)


class Decoder:
    """Decodes syscall entries into events, leaving in task.pending what to do at exit."""

    def __init__(
        self,
        emit: EventSink,
        before_mutation: MutationHook | None,
        on_written_close: CloseHook | None,
        hook_scope: HookScope | None = None,
    ) -> None:
        self._emit = emit
        self._before_mutation = before_mutation
        self._scope = hook_scope
        self._resolver = paths.Resolver()
        self.memory = native.TraceeMemory()
        fds = FdBookkeeping(on_written_close, hook_scope)
        self.exiting = fds.exiting
        self._handlers: dict[Kind, Callable[[Task, Spec, Sequence[int]], None]] = {
            Kind.PATH: self._path,
            Kind.FD: self._fd,
            Kind.OPEN: self._open,
            Kind.EXEC: self._exec,
            Kind.RENAME: self._rename,
            Kind.LINK: self._link,
            Kind.SYMLINK: self._symlink,
            Kind.CLOSE: fds.close,
            Kind.CLOSE_RANGE: fds.close_range,
            Kind.DUP: fds.dup,
            Kind.DUP2: fds.dup2,
            Kind.FCNTL: fds.fcntl,
            Kind.BIND: self._bind,
            Kind.UNSEEN: self._unseen,
            Kind.UNSHARE: fds.unshare,
        }

    def entry(self, task: Task, spec: Spec, args: Sequence[int]) -> None:
        """Handle a syscall entry; sets task.pending when its exit must be seen."""
        self._handlers[spec.kind](task, spec, args)

    # -- where paths come from ------------------------------------------------

    def cwd(self, task: Task) -> bytes:
        fs = task.fs
        if fs.cwd is None:
            fs.cwd = _proc_link(task.tid, b"cwd")
        return fs.cwd

    def root(self, task: Task) -> bytes:
        fs = task.fs
        if fs.root is None:
            fs.root = _proc_link(task.tid, b"root")
        return fs.root

    def fd_path(self, task: Task, fd: int) -> bytes | None:
        """The path an fd names; None for pipes, sockets, deleted and unnamed files.

        /proc is asked first, as it is always right (closes are not all traced,
        so a table entry may be stale); the table answers where /proc cannot:
        paths longer than PATH_MAX and O_TMPFILE files given a name by linkat.
        """
        try:
            link = os.readlink(b"/proc/%d/fd/%d" % (task.tid, fd))
        except OSError as error:
            if error.errno != errno.ENAMETOOLONG:
                return None
            try:
                link = _proc_link(task.tid, b"fd/%d" % fd)
            except NotADirectoryError:
                link = _DELETED
        if link.endswith(_DELETED):
            entry = task.files.entries.get(fd)
            return None if entry is None else entry.path
        return link if link.startswith(b"/") else None

    def resolve(self, task: Task, dirfd: int, raw: bytes, follow: bool) -> Located | None:
        """The physical absolute path of `raw` as `task` would look it up, and whether
        it exists."""
        if raw.startswith(b"/"):
            if raw.startswith(b"/proc/self/") or raw.startswith(b"/proc/thread-self/"):
                own = b"/proc/%d/" % task.tid
                raw = own + raw.split(b"/", 3)[3]
            root = self.root(task)
            absolute = raw if root == b"/" else root + raw
        elif dirfd == AT_FDCWD:
            absolute = paths.join(self.cwd(task), raw)
        else:
            base = self.fd_path(task, dirfd)
            if base is None:
                return None
            if not raw:
                return Located(base, True)
            absolute = paths.join(base, raw)
        located = self._resolver.resolve(absolute, follow)
        if located.path.endswith(_DELETED):
            return None
        return located

    def _path_argument(
        self, task: Task, spec: Spec, args: Sequence[int], flags: int
    ) -> Located | None:
        assert spec.path is not None
        dirfd = AT_FDCWD if spec.dirfd is None else signed(args[spec.dirfd])
        address = args[spec.path]
        if address == 0:
            if spec.dirfd is None or dirfd == AT_FDCWD:
                return None
            path = self.fd_path(task, dirfd)
            return None if path is None else Located(path, True)
        raw = self.memory.read_string(task.tgid, task.tid, address)
        if raw is None:
            return None
        if not raw and not (flags & AT_EMPTY_PATH):
            return None
        return self.resolve(task, dirfd, raw, follows_last(spec, flags))

    # -- emitting -------------------------------------------------------------

    def _event(
        self,
        task: Task,
        spec: Spec,
        operation: Operation,
        path: bytes,
        result: int,
        flags: int = 0,
        related: bytes | None = None,
    ) -> PathEvent:
        return PathEvent(task.tgid, task.tid, spec.name, operation, path, result, flags, related)

    def _announce(self, events: list[PathEvent]) -> None:
        if self._before_mutation is None:
            return
        scope = self._scope
        for event in events:
            if event.operation not in MUTATING_OPERATIONS:
                continue
            if (
                scope is not None
                and scope.is_quiet(event.path)
                and (event.related_path is None or scope.is_quiet(event.related_path))
            ):
                continue
            self._before_mutation(event)

    def _at_exit(self, task: Task, events: list[PathEvent], mode: int = 0) -> None:
        """Announce mutations now and emit the events with their result at exit.
        `mode`: the first event's path's lstat mode, if the resolver read it."""
        self._announce(events)
        emit = self._emit
        forget = self._cache_invalidation(events, mode)
        if forget is not None:
            forget()

        def complete(result: int) -> None:
            if forget is not None:
                forget()
            for event in events:
                emit(dataclasses.replace(event, result=result))

        task.pending = complete

    def _cache_invalidation(
        self, events: list[PathEvent], mode: int
    ) -> Callable[[], None] | None:
        """What the events may change in the resolver's cache, and so must drop."""
        resolver = self._resolver
        for event in events:
            operation = event.operation
            if operation is Operation.RENAME or (
                operation is Operation.DELETE and _directory_or_symlink(event.path, mode)
            ):
                return resolver.forget
        if any(event.operation in _CREATIONS for event in events):
            return resolver.forget_missing
        return None

    def _single(
        self, task: Task, spec: Spec, operation: Operation, located: Located, flags: int
    ) -> None:
        path, existed, mode = located
        if operation is Operation.MKDIR and existed:
            self._emit(self._event(task, spec, operation, path, _EXISTS, flags))
            return
        if operation in MUTATING_OPERATIONS or spec.sets_cwd:
            self._at_exit(task, [self._event(task, spec, operation, path, 0, flags)], mode)
            if spec.sets_cwd:
                self._drop_cached_fs(task)
        else:
            result = 0 if existed else _NOT_FOUND
            self._emit(self._event(task, spec, operation, path, result, flags))

    def _drop_cached_fs(self, task: Task) -> None:
        fs = task.fs
        complete = task.pending
        assert complete is not None

        def then_forget(result: int) -> None:
            fs.cwd = None
            fs.root = None
            complete(result)

        fs.cwd = None
        fs.root = None
        task.pending = then_forget

    # -- handlers -------------------------------------------------------------

    def _path(self, task: Task, spec: Spec, args: Sequence[int]) -> None:
        flags = 0 if spec.flags is None else signed(args[spec.flags])
        located = self._path_argument(task, spec, args, flags)
        if located is None:
            return
        assert spec.path is not None and spec.operation is not None
        if (args[spec.path] == 0 and spec.dirfd is not None
                and self._new_file_metadata(task, spec, signed(args[spec.dirfd]), located.path,
                                            flags)):
            return
        self._single(task, spec, spec.operation, located, flags)

    def _fd(self, task: Task, spec: Spec, args: Sequence[int]) -> None:
        assert spec.fd is not None and spec.operation is not None
        fd = signed(args[spec.fd])
        path = self.fd_path(task, fd)
        if path is not None and not self._new_file_metadata(task, spec, fd, path, 0):
            self._single(task, spec, spec.operation, Located(path, True), 0)

    def _new_file_metadata(self, task: Task, spec: Spec, fd: int, path: bytes,
                           flags: int) -> bool:
        """A metadata call (fchmod, fchown, futimens...) on an fd whose own open created
        the file is reported now, with result 0, and does not stop at its exit: the
        creator setting up its new file (tar x does three such calls per file) changes
        nothing a run reports beyond the create, so its result is not worth a second
        stop. The table entry must still name `path` (closes are not always traced, so
        the fd may have been reused since). Returns whether it was reported."""
        if spec.operation is not Operation.METADATA:
            return False
        entry = task.files.entries.get(fd)
        if entry is None or not entry.created or entry.path != path:
            return False
        event = self._event(task, spec, Operation.METADATA, path, 0, flags)
        self._announce([event])
        self._emit(event)
        return True

    def _open(self, task: Task, spec: Spec, args: Sequence[int]) -> None:
        if spec.name == "creat":
            flags = O_CREAT | O_WRONLY | O_TRUNC
        elif spec.flags is None:
            flags = int.from_bytes(native.read_memory(task.tid, args[2], 8), "little")
        else:
            flags = signed(args[spec.flags])
        located = self._path_argument(task, spec, args, flags)
        if located is None:
            return
        path, existed, _ = located
        files = task.files
        if flags & O_TMPFILE_BIT:

            def unnamed(result: int) -> None:
                if result >= 0:
                    files.entries[result] = FdEntry(None, True)

            task.pending = unnamed
            return
        operation = open_operation(flags, existed)
        may_mutate = open_may_mutate(flags)
        if not may_mutate and len(path) < PATH_MAX:
            operation = operation if existed else Operation.EXISTENCE
            result = 0 if existed else _NOT_FOUND
            self._emit(self._event(task, spec, operation, path, result, flags))
            return
        if may_mutate:
            self._announce([self._event(task, spec, operation, path, 0, flags)])
        writable = opens_for_writing(flags)
        emit = self._emit

        def opened(result: int) -> None:
            if result >= 0:
                files.entries[result] = FdEntry(path, writable,
                                                created=operation is Operation.CREATE)
                emit(self._event(task, spec, operation, path, result, flags))
            else:
                emit(self._event(task, spec, Operation.EXISTENCE, path, result, flags))

        task.pending = opened

    def _exec(self, task: Task, spec: Spec, args: Sequence[int]) -> None:
        flags = 0 if spec.flags is None else signed(args[spec.flags])
        located = self._path_argument(task, spec, args, flags)
        if located is None:
            task.exec_path = None
            return
        path, existed, _ = located
        if not existed:
            task.exec_path = None
            self._emit(self._event(task, spec, Operation.EXISTENCE, path, _NOT_FOUND, flags))
            return
        task.exec_path = path
        task.exec_syscall = spec.name
        emit = self._emit

        def failed(result: int) -> None:
            if result < 0:
                emit(self._event(task, spec, Operation.EXISTENCE, path, result))

        task.pending = failed

    def exec_succeeded(self, task: Task, executable: bytes | None) -> None:
        """At PTRACE_EVENT_EXEC: the exec path, and the interpreter a #! line named."""
        path, syscall = task.exec_path, task.exec_syscall
        task.exec_path = None
        task.pending = None
        pid, tid = task.tgid, task.tid
        if path is not None:
            self._emit(PathEvent(pid, tid, syscall, Operation.EXEC, path, 0))
        if executable is not None and executable != path:
            self._emit(PathEvent(pid, tid, syscall, Operation.EXEC, executable, 0, 0, path))

    def _rename(self, task: Task, spec: Spec, args: Sequence[int]) -> None:
        if spec.name == "rename":
            old, new = self._two_paths(task, args, None, 0, None, 1, False)
            flags = 0
        else:
            flags = signed(args[4]) if spec.flags is not None else 0
            old, new = self._two_paths(task, args, 0, 1, 2, 3, False)
        if old is None or new is None:
            return
        target = Operation.RENAME if flags & RENAME_EXCHANGE else Operation.CREATE
        self._at_exit(
            task,
            [
                self._event(task, spec, Operation.RENAME, old, 0, flags, new),
                self._event(task, spec, target, new, 0, flags, old),
            ],
        )

    def _two_paths(
        self,
        task: Task,
        args: Sequence[int],
        old_dirfd: int | None,
        old_path: int,
        new_dirfd: int | None,
        new_path: int,
        follow_old: bool,
        old_empty: bool = False,
    ) -> tuple[bytes | None, bytes | None]:
        def one(
            dirfd_index: int | None, path_index: int, follow: bool, empty: bool
        ) -> bytes | None:
            dirfd = AT_FDCWD if dirfd_index is None else signed(args[dirfd_index])
            raw = self.memory.read_string(task.tgid, task.tid, args[path_index])
            if raw is None or (not raw and not empty):
                return None
            located = self.resolve(task, dirfd, raw, follow)
            return None if located is None else located.path

        return (
            one(old_dirfd, old_path, follow_old, old_empty),
            one(new_dirfd, new_path, False, False),
        )

    def _link(self, task: Task, spec: Spec, args: Sequence[int]) -> None:
        if spec.name == "link":
            old, new = self._two_paths(task, args, None, 0, None, 1, False)
            flags = 0
        else:
            flags = signed(args[4])
            old, new = self._two_paths(
                task, args, 0, 1, 2, 3, follows_last(spec, flags), bool(flags & AT_EMPTY_PATH)
            )
        if new is None:
            return
        events = [self._event(task, spec, Operation.CREATE, new, 0, flags, old)]
        if old is not None:
            events.insert(0, self._event(task, spec, Operation.EXISTENCE, old, 0, flags, new))
        self._at_exit(task, events)
        if old is None and spec.name == "linkat":
            self._name_unnamed_fd(task, args, new)

    def _name_unnamed_fd(self, task: Task, args: Sequence[int], new: bytes) -> None:
        """After linkat of an O_TMPFILE fd, its later close is a close of `new`."""
        raw = self.memory.read_string(task.tgid, task.tid, args[1]) or b""
        fd = signed(args[0])
        if raw.startswith(b"/proc/") and b"/fd/" in raw:
            tail = raw.rsplit(b"/", 1)[1]
            fd = int(tail) if tail.isdigit() else fd
        entry = task.files.entries.get(fd)
        complete = task.pending
        if entry is None or entry.path is not None or complete is None:
            return

        def named(result: int) -> None:
            if result >= 0:
                entry.path = new
            complete(result)

        task.pending = named

    def _symlink(self, task: Task, spec: Spec, args: Sequence[int]) -> None:
        assert spec.path is not None
        dirfd = AT_FDCWD if spec.dirfd is None else signed(args[spec.dirfd])
        raw = self.memory.read_string(task.tgid, task.tid, args[spec.path])
        if not raw:
            return
        located = self.resolve(task, dirfd, raw, False)
        if located is not None:
            self._at_exit(task, [self._event(task, spec, Operation.CREATE, located.path, 0)])

    def _bind(self, task: Task, spec: Spec, args: Sequence[int]) -> None:
        length = min(args[2] & 0xFFFFFFFF, 110)
        address = native.read_memory(task.tid, args[1], length) if length > 2 else b""
        if int.from_bytes(address[:2], "little") != AF_UNIX or address[2:3] in (b"", b"\0"):
            return
        located = self.resolve(task, AT_FDCWD, address[2:].split(b"\0", 1)[0], False)
        if located is not None:
            self._at_exit(task, [self._event(task, spec, Operation.CREATE, located.path, 0)])

    def _unseen(self, task: Task, spec: Spec, args: Sequence[int]) -> None:
        assert spec.warning is not None
        self._emit(TraceWarning(task.tgid, spec.warning))
