"""Test support: a stand-in snapshot (a plain copy of the workspace) and a driver that
plays a fake event stream against a recorder while really changing the files."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path

from cowsnap.model import MUTATING_OPERATIONS, Operation
from cowsnap.record.ignore import IgnoreRules
from cowsnap.record.policy import CaptureSettings
from cowsnap.record.recorder import Recorder, RunFacts
from cowsnap.snapshot.base import Snapshot
from cowsnap.store.store import Store
from cowsnap.trace.events import PathEvent


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

    def where(self, path: bytes) -> bytes | None:
        relative = os.path.relpath(path, os.fsencode(self.workspace))
        return os.path.join(os.fsencode(self._copy), relative)

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


def git(repository: Path, *args: str) -> str:
    """Run the git CLI in `repository`, blind to any user or system configuration."""
    import sh

    environment = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "GIT_CONFIG_GLOBAL": "/dev/null", "GIT_CONFIG_NOSYSTEM": "1", "HOME": str(repository),
        "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com",
        "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com",
    }
    output: str = sh.git(*args, _cwd=str(repository), _env=environment, _timeout=30)
    return output.strip()


def make_repository(root: Path) -> dict[str, Path]:
    """A repository with one file in each git state, the first commit done."""
    git(root, "init", "-q", "-b", "main")
    files = {name: root / name for name in
             ("clean.txt", "dirty.txt", "untracked.txt", "ignored.log", ".gitignore")}
    files[".gitignore"].write_text("*.log\n")
    files["clean.txt"].write_text("clean\n")
    files["dirty.txt"].write_text("committed\n")
    git(root, "add", ".gitignore", "clean.txt", "dirty.txt")
    git(root, "commit", "-q", "-m", "first")
    files["dirty.txt"].write_text("changed\n")
    files["untracked.txt"].write_text("new\n")
    files["ignored.log"].write_text("log\n")
    return files
