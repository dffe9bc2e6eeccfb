"""Tracing a process tree with ptrace; the only output is a stream of typed events.

`trace` is loaded on first use: modules that only need the event types
(`cowsnap.trace.events`) do not pay for python-ptrace and the tracer.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from cowsnap.trace.tracer import trace as trace

__all__ = ["trace"]


def __getattr__(name: str) -> Any:
    if name != "trace":
        raise AttributeError(f"module 'cowsnap.trace' has no attribute {name!r}")
    from cowsnap.trace.tracer import trace

    return trace
