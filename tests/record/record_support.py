"""Test support: a stand-in snapshot (a plain copy of the workspace) and a driver that
plays a fake event stream against a recorder while really changing the files."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path

from cowsnap.record.ignore import IgnoreRules
from cowsnap.record.policy import CaptureSettings
from cowsnap.record.recorder import Recorder, RunFacts
from cowsnap.snapshot.base import Snapshot
from cowsnap.store.store import Store
from cowsnap.trace.events import MUTATING_OPERATIONS, Operation, PathEvent


class CopiedSnapshot(Snapshot):
    """The whole workspace copied up front, metadata included: enough to stand for
    any backend from the recorder's side of the interface."""

    backend = "test-copy"

    def __init__(self, workspace: Path, copy: Path) -> None:
        super().__init__(workspace)
        shutil.copytree(workspace, copy, symlinks=True)
        self._copy = copy
        self.captured: list[tuple[bytes, bool]] = []

    def capture(self, path: bytes, *, subtree: bool = False) -> None:
        self.captured.append((path, subtree))

    def locate(self, path: bytes) -> bytes | None:
        relative = os.path.relpath(path, os.fsencode(self.workspace))
        located = os.path.join(os.fsencode(self._copy), relative)
        return located if os.path.lexists(located) else None

    def release(self) -> None:
        shutil.rmtree(self._copy, ignore_errors=True)

    @property
    def location(self) -> Path | None:
        return self._copy


def make_recorder(
    workspace: Path,
    store: Store,
    snapshot_dir: Path,
    *,
    settings: CaptureSettings | None = None,
    ignores: tuple[bytes, ...] = (),
) -> tuple[Recorder, CopiedSnapshot]:
    snapshot = CopiedSnapshot(workspace, snapshot_dir)
    recorder = Recorder(
        workspace=workspace, snapshot=snapshot, store=store,
        ignores=IgnoreRules(ignores), settings=settings or CaptureSettings(),
    )
    return recorder, snapshot


def play(
    recorder: Recorder,
    operation: Operation,
    path: Path | bytes,
    action: Callable[[], object] | None = None,
    *,
    related: Path | bytes | None = None,
    result: int = 0,
) -> None:
    """One syscall as the tracer reports it: the pre-mutation hook (for mutations),
    the real change, then the event."""
    raw = os.fsencode(path)
    other = None if related is None else os.fsencode(related)
    event = PathEvent(pid=1, tid=1, syscall="test", operation=operation, path=raw,
                      result=result, related_path=other)
    if operation in MUTATING_OPERATIONS:
        recorder.before_mutation(PathEvent(pid=1, tid=1, syscall="test", operation=operation,
                                           path=raw, result=0, related_path=other))
    if action is not None:
        action()
    recorder.on_event(event)
    if other is not None:
        recorder.on_event(PathEvent(pid=1, tid=1, syscall="test", operation=operation,
                                    path=other, result=result, related_path=raw))


def run_facts(run_id: str = "20261121T093012Z-3fa9c1") -> RunFacts:
    return RunFacts(
        run_id=run_id, command=("fake", "command"), exit_status=0, start_cwd="/",
        started_at="2026-11-21T09:30:12Z", finished_at="2026-11-21T09:30:13Z",
        uid=os.geteuid(), gid=os.getegid(),
    )
