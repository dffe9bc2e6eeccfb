"""Helpers shared by the tracer tests: a traced run's result and views of its events."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from cowsnap.trace import choice
from cowsnap.trace.events import Event, PathEvent, ProcessEvent, TraceWarning
from tests.conftest import missing_environment


@dataclass
class Traced:
    """One traced run: its status and every event, with views relative to a test directory."""

    status: int
    events: list[Event]
    root: Path

    def touched(self) -> list[tuple[str, str, bytes]]:
        """(syscall, operation, path relative to root) of each PathEvent under root, in order."""
        root = bytes(self.root)
        prefix = root + b"/"
        return [
            (event.syscall, event.operation.value, event.path[len(prefix) :])
            for event in self.path_events()
            if event.path.startswith(prefix) or event.path == root
        ]

    def path_events(self) -> list[PathEvent]:
        return [event for event in self.events if isinstance(event, PathEvent)]

    def processes(self, kind: str) -> list[ProcessEvent]:
        return [e for e in self.events if isinstance(e, ProcessEvent) and e.kind == kind]

    def warnings(self) -> list[TraceWarning]:
        return [event for event in self.events if isinstance(event, TraceWarning)]


Runner = Callable[..., Traced]


def no_children_left() -> bool:
    """Whether this process has no child (traced or not) left, reaped or not."""
    try:
        os.waitpid(-1, os.WNOHANG | 0x40000000)
    except ChildProcessError:
        return True
    return False


def use_tracer(name: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """Make `name` the tracer of this test (fails under CI when it is not available)."""
    monkeypatch.setenv(choice.VARIABLE, name)
    if choice.choose().name != name:
        missing_environment(f"the {name} tracer is not available: {choice.choose().reason}")
    return name
