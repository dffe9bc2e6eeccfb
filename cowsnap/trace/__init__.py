"""Tracing a process tree with ptrace; the only output is a stream of typed events.

`trace` runs the native core (`fast.py`) when it is built, else the Python tracer
(`tracer.py`), the reference; `choice.choose()` says which and why. Both are loaded
on first use: modules that only need the event types (`cowsnap.trace.events`) pay
for neither.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from cowsnap.trace.choice import choose
from cowsnap.trace.scope import HookScope

__all__ = ["HookScope", "trace"]

if TYPE_CHECKING:
    # The dispatcher forwards its arguments untouched, so it does not spell them out a
    # third time: callers are checked against the reference engine's signature.
    from cowsnap.trace.tracer import trace
else:
    def trace(*args, **kwargs):
        """Run `argv` traced until its whole process tree is gone; return the root's exit
        status. See docs/tracer.md for the event stream and the hooks' contracts."""
        if choose().name == "native":
            from cowsnap.trace import fast as engine
        else:
            from cowsnap.trace import tracer as engine
        return engine.trace(*args, **kwargs)
