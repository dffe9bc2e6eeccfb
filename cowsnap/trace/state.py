"""What the tracer remembers about each traced thread, shared exactly as the kernel shares it.

Threads created with CLONE_FILES share one FdTable object and with CLONE_FS one
FsState object, so a close or chdir in one is seen by all; fork copies them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass(slots=True)
class FdEntry:
    """An open file the tracer saw being opened: its path (None for an unnamed O_TMPFILE).

    Shared, like the kernel's open file description, by every fd that duplicates it
    (dup, fork), so naming it (linkat of an O_TMPFILE) names them all.
    """

    path: bytes | None
    writable: bool
    created: bool = False
    """The open that made this fd created its file (decoder.new_file_metadata)."""


@dataclass(slots=True)
class FdTable:
    """The fds of one files table; fds not in it are looked up in /proc when needed."""

    entries: dict[int, FdEntry] = field(default_factory=dict)

    def copy(self) -> FdTable:
        return FdTable(dict(self.entries))

    def keep_only(self, open_fds: set[int]) -> FdTable:
        """The table after exec: close-on-exec fds are gone (read from /proc by the caller)."""
        return FdTable({fd: e for fd, e in self.entries.items() if fd in open_fds})


@dataclass(slots=True)
class FsState:
    """A cached cwd and root; None means "ask /proc" (after a chdir, or never asked)."""

    cwd: bytes | None = None
    root: bytes | None = None

    def copy(self) -> FsState:
        return FsState(self.cwd, self.root)


Completion = Callable[[int], None]
"""What to do at a syscall's exit, given its result."""


@dataclass(slots=True)
class Task:
    """One traced thread."""

    tid: int
    tgid: int
    files: FdTable
    fs: FsState
    pending: Completion | None = None
    exec_path: bytes | None = None
    exec_syscall: str = "execve"
    exiting: bool = False
