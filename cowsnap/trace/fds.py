"""Keeping the fd tables in step with close, close_range, dup, dup2/dup3, fcntl(F_DUPFD)
and unshare.

Duplicates inherit their original's path and writability, so writes through
them are attributed and their close reported; closing a writable fd calls the
caller's hook while the closing thread is still stopped.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

from cowsnap.trace.scope import HookScope
from cowsnap.trace.state import FdEntry, Task
from cowsnap.trace.syscalls import CLONE_FILES, CLONE_FS, F_DUPFD, F_DUPFD_CLOEXEC, Spec, signed

CLOSE_RANGE_CLOEXEC = 4
CloseHook = Callable[[int, bytes], None]


class FdBookkeeping:
    def __init__(self, on_written_close: CloseHook | None, scope: HookScope | None) -> None:
        self._on_written_close = on_written_close
        self._quiet = set() if scope is None else scope.quiet_closes

    def _closed(self, task: Task, entry: FdEntry | None) -> None:
        if (
            entry is not None
            and entry.writable
            and entry.path
            and self._on_written_close
            and entry.path not in self._quiet
        ):
            self._on_written_close(task.tgid, entry.path)

    def exiting(self, task: Task, tasks: Iterable[Task]) -> None:
        """A thread stopped about to exit (PTRACE_EVENT_EXIT), its fds still open: when
        no other thread will use its fd table any more, the kernel is about to close
        every fd in it, with no close() to stop at. Each is a close like any other."""
        task.exiting = True
        if any(other.files is task.files and not other.exiting for other in tasks):
            return
        entries = task.files.entries
        for fd in sorted(entries):
            self._closed(task, entries.pop(fd))

    def close(self, task: Task, spec: Spec, args: Sequence[int]) -> None:
        self._closed(task, task.files.entries.pop(signed(args[0]), None))

    def close_range(self, task: Task, spec: Spec, args: Sequence[int]) -> None:
        first, last, flags = args[0] & 0xFFFFFFFF, args[1] & 0xFFFFFFFF, args[2]
        if flags & CLOSE_RANGE_CLOEXEC:
            return
        entries = task.files.entries
        for fd in sorted(fd for fd in entries if first <= fd <= last):
            self._closed(task, entries.pop(fd))

    def dup(self, task: Task, spec: Spec, args: Sequence[int]) -> None:
        self._copy_at_exit(task, signed(args[0]))

    def fcntl(self, task: Task, spec: Spec, args: Sequence[int]) -> None:
        if signed(args[1]) in (F_DUPFD, F_DUPFD_CLOEXEC):
            self._copy_at_exit(task, signed(args[0]))

    def dup2(self, task: Task, spec: Spec, args: Sequence[int]) -> None:
        """dup2/dup3 close their target first: that is a close like any other."""
        old, new = signed(args[0]), signed(args[1])
        if old == new:
            return
        entries = task.files.entries
        self._closed(task, entries.pop(new, None))
        entry = entries.get(old)
        if entry is not None:
            entries[new] = entry

    def unshare(self, task: Task, spec: Spec, args: Sequence[int]) -> None:
        """A thread leaving its shared fd table or fs state gets its own copy."""
        flags = args[0]
        if flags & CLONE_FILES:
            task.files = task.files.copy()
        if flags & CLONE_FS:
            task.fs = task.fs.copy()

    def _copy_at_exit(self, task: Task, old: int) -> None:
        entry = task.files.entries.get(old)
        if entry is None:
            return
        files = task.files

        def duplicated(result: int) -> None:
            if result >= 0:
                files.entries[result] = entry

        task.pending = duplicated
