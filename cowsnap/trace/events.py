"""The tracer's whole output: typed events, plain data that tests can build by hand.

Everything downstream of the tracer (the recorder, the capture policy) consumes
these and nothing else, so it can be tested with fake event streams (reprozip's
model).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from cowsnap.model import Operation


@dataclass(frozen=True, slots=True)
class PathEvent:
    """One path touched by one syscall of one thread.

    `path` is absolute and resolved when the syscall was entered (against that
    thread's cwd, dirfd and root; symlinks in the prefix resolved, the last
    component followed only where the syscall follows it). A syscall touching
    two paths (rename, link) yields two events, each naming the other in
    `related_path`.
    """

    pid: int
    tid: int
    syscall: str
    operation: Operation
    path: bytes
    result: int
    flags: int = 0
    related_path: bytes | None = None

    @property
    def succeeded(self) -> bool:
        return self.result >= 0


@dataclass(frozen=True, slots=True)
class ProcessEvent:
    """A process or thread appeared (spawn), replaced its image (exec), or ended (exit).

    `status` is set on exit: the exit code, or 128+N when signal N killed it.
    """

    kind: Literal["spawn", "exec", "exit"]
    pid: int
    tid: int
    parent: int | None = None
    path: bytes | None = None
    status: int | None = None


@dataclass(frozen=True, slots=True)
class TraceWarning:
    """Something the tracer could not see or follow (io_uring, a foreign ABI...)."""

    pid: int
    message: str


Event = PathEvent | ProcessEvent | TraceWarning
