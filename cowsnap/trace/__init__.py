"""Tracing a process tree with ptrace; the only output is a stream of typed events.

`trace` runs the native core (`fast.py`) when it is built, else the Python tracer
(`tracer.py`), the reference; `choice.choose()` says which and why. Both are loaded
on first use: modules that only need the event types (`cowsnap.trace.events`) pay
for neither.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from cowsnap.trace.choice import choose
from cowsnap.trace.events import Event, PathEvent
from cowsnap.trace.scope import HookScope

__all__ = ["HookScope", "trace"]


def trace(
    argv: Sequence[str | bytes],
    *,
    on_event: Callable[[Event], None],
    cwd: Path | None = None,
    env: Mapping[str, str] | Mapping[bytes, bytes] | None = None,
    before_mutation: Callable[[PathEvent], None] | None = None,
    on_written_close: Callable[[int, bytes], None] | None = None,
    only_writes: bool = False,
    hook_scope: HookScope | None = None,
) -> int:
    """Run `argv` traced until its whole process tree is gone; return the root's exit
    status. See docs/tracer.md for the event stream and the hooks' contracts."""
    if choose().name == "native":
        from cowsnap.trace import fast as engine
    else:
        from cowsnap.trace import tracer as engine  # type: ignore[no-redef]
    return engine.trace(
        argv, on_event=on_event, cwd=cwd, env=env, before_mutation=before_mutation,
        on_written_close=on_written_close, only_writes=only_writes, hook_scope=hook_scope,
    )
