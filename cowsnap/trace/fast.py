"""trace() on the native core (`_core.c`): the stop loop, decoding, path resolution,
fd tables and process bookkeeping run in C without the GIL; Python turns each batch
into the same typed events as the Python tracer and runs the hooks.

The core is handed the syscall table of `syscalls.py` (the one the seccomp filter
is generated from), never a copy of its own, and the event classes of `events.py`,
which it fills in itself. A stop that needs a hook ends a batch
with its thread still stopped; the core resumes it at the next step, once the hook
has run.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from cowsnap.errors import TraceError
from cowsnap.model import Operation
from cowsnap.trace import _core, launch
from cowsnap.trace.events import Event, PathEvent, ProcessEvent, TraceWarning
from cowsnap.trace.scope import HookScope
from cowsnap.trace.syscalls import FORK_CALLS, I386_TABLE, SPECS, X32_TABLE, X86_64_TABLE, Spec

if TYPE_CHECKING:
    from cowsnap.trace.fds import CloseHook

_BEFORE, _CLOSE, _STOP_WITH = 5, 6, 7
_core.configure(
    PathEvent, ProcessEvent, TraceWarning,
    tuple(Operation(name) for name in _core.OPERATIONS), tuple(spec.name for spec in SPECS),
)
_INDEX = {spec.name: index for index, spec in enumerate(SPECS)}
FOLLOW_VARIABLE = "COWSNAP_TRACER_FOLLOW"
"""=1: the tracer follows a lone tracee's CPU; off by default, as it lost when measured on
a loaded machine (docs/tracer.md, "Scheduling"; bench/statloop.py measures both)."""


def _index(value: int | None) -> int:
    return -1 if value is None else value


def _row(spec: Spec) -> tuple[str, str, str | None, int, int, int, bool, int, bool, str | None]:
    operation = None if spec.operation is None else spec.operation.value
    return (spec.name, spec.kind.value, operation, _index(spec.path), _index(spec.dirfd),
            _index(spec.fd), spec.follow, _index(spec.flags), spec.sets_cwd, spec.warning)


def _numbers(table: Mapping[int, Spec]) -> dict[int, int]:
    return {number: _INDEX[spec.name] for number, spec in table.items()}


_SPEC_ROWS = [_row(spec) for spec in SPECS]
_TABLES = (_numbers(X86_64_TABLE), _numbers(I386_TABLE), _numbers(X32_TABLE), FORK_CALLS)


def trace(
    argv: Sequence[str | bytes],
    *,
    on_event: Callable[[Event], None],
    cwd: Path | None = None,
    env: Mapping[str, str] | Mapping[bytes, bytes] | None = None,
    before_mutation: Callable[[PathEvent], None] | None = None,
    on_written_close: CloseHook | None = None,
    only_writes: bool = False,
    hook_scope: HookScope | None = None,
    on_root_signal: Callable[[int], None] | None = None,
) -> int:
    """Run `argv` traced by the native core; the contract of docs/tracer.md."""
    scope = hook_scope or HookScope()
    with launch.command_started(argv, cwd, env, only_writes, on_written_close is not None) as child:
        try:
            core = _core.Core(
                child.pid, _SPEC_ROWS, *_TABLES, before_mutation is not None,
                on_written_close is not None, on_written_close is not None,
                os.environ.get(FOLLOW_VARIABLE) == "1",
            )
        except BaseException:
            launch.abandon(child)
            raise
        try:
            while True:
                items, done = core.step(*scope.take_fresh())
                for item in items:
                    if type(item) is not tuple:
                        on_event(item)
                    elif item[0] == _BEFORE and before_mutation is not None:
                        before_mutation(item[1])
                    elif item[0] == _CLOSE and on_written_close is not None:
                        on_written_close(item[1], item[2])
                    elif item[0] == _STOP_WITH:
                        launch.stop_with_the_command()
                if done:
                    break
        except BaseException:
            core.kill_all()
            raise
        status: int | None = core.root_status
        if status is None:
            raise TraceError("the traced command vanished without an exit status")
        if core.root_signal is not None and on_root_signal is not None:
            on_root_signal(core.root_signal)
        return status
