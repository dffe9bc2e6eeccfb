"""Tracing a process tree with ptrace; the only output is a stream of typed events."""

from cowsnap.trace.tracer import trace

__all__ = ["trace"]
