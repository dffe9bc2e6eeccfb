"""The operations users can import; the CLI is a thin layer over these."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from cowsnap.diff.model import RunDiff, run_diff
from cowsnap.errors import CowsnapError, PathNotInRunError, StoreError
from cowsnap.record.ignore import load_ignores
from cowsnap.record.manifest import FileEntry, Manifest
from cowsnap.record.policy import CaptureSettings
from cowsnap.record.recorder import Recorder, RunFacts
from cowsnap.restore.apply import Progress
from cowsnap.restore.arguments import resolve_paths, split_run
from cowsnap.restore.plan import Side
from cowsnap.restore.session import RestoreOptions, RestoreResult, restore_run
from cowsnap.snapshot.base import Availability
from cowsnap.snapshot.registry import AUTO, availabilities, choose_backend, first_available
from cowsnap.store.bundle import export_bundle
from cowsnap.store.location import resolve_store_dir
from cowsnap.store.runs import RunSummary, new_run_id, summarize
from cowsnap.store.store import Store
from cowsnap.trace import trace
from cowsnap.workspace import detect_workspace

PathArg = str | os.PathLike[str] | None


@dataclass(frozen=True)
class Status:
    """Where cowsnap would work from here, and how it would snapshot."""

    workspace: Path
    store: Path
    backends: list[Availability]
    backend: str | None
    """What `--backend auto` picks; None when no backend works."""


def status(workspace: PathArg = None, store: PathArg = None, cwd: Path | None = None) -> Status:
    """The workspace and store in effect, and every backend's availability for it."""
    root = detect_workspace(_as_path(workspace), cwd)
    found = availabilities(root)
    return Status(workspace=root, store=resolve_store_dir(store), backends=found,
                  backend=first_available(found))


@dataclass(frozen=True)
class RunRequest:
    """Everything `cowsnap run` is asked to do."""

    command: Sequence[str]
    workspace: PathArg = None
    store: PathArg = None
    backend: str = AUTO
    output: PathArg = None
    keep_snapshot: bool = False
    only_writes: bool = False
    capture: CaptureSettings = field(default_factory=CaptureSettings)
    cwd: Path | None = None


@dataclass(frozen=True)
class RunResult:
    """What happened. `exit_status` is the command's; `recording_error` is set when the
    command ran but its run could not be recorded (nothing half-written is left)."""

    exit_status: int
    run_id: str
    workspace: Path
    backend: str
    timings: dict[str, float]
    manifest: Manifest | None = None
    summary: RunSummary | None = None
    ignore_file_created: Path | None = None
    kept_snapshot: Path | None = None
    bundle: Path | None = None
    recording_error: CowsnapError | None = None


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def run(request: RunRequest) -> RunResult:
    """Snapshot the workspace, trace the command, record its run, release the snapshot.

    Errors before the command starts raise; once it has run, a recording failure is
    returned in `RunResult.recording_error` so the command's own status survives.
    """
    cwd = (request.cwd or Path.cwd()).absolute()
    workspace = detect_workspace(_as_path(request.workspace), cwd)
    store = Store.open(resolve_store_dir(request.store))
    ignores = load_ignores()
    backend = choose_backend(workspace, request.backend)
    run_id = new_run_id()
    timings: dict[str, float] = {}
    with store.retention_lock(exclusive=False):
        pending = store.runs.begin(run_id)
        clock = time.monotonic()
        try:
            snapshot = backend.prepare(workspace)
        except BaseException:
            pending.abandon()
            raise
        timings["preparing"] = round(time.monotonic() - clock, 6)
        try:
            recorder = Recorder(workspace=workspace, snapshot=snapshot, store=store,
                                ignores=ignores.rules, settings=request.capture)
            started_at = _now()
            clock = time.monotonic()
            try:
                exit_status = trace(request.command, cwd=cwd, on_event=recorder.on_event,
                                    before_mutation=recorder.before_mutation,
                                    only_writes=request.only_writes)
            except BaseException:
                pending.abandon()
                raise
            timings["tracing"] = round(time.monotonic() - clock, 6)
            facts = RunFacts(run_id=run_id, command=tuple(request.command),
                             exit_status=exit_status, start_cwd=str(cwd),
                             started_at=started_at, finished_at=_now(),
                             uid=os.getuid(), gid=os.getgid())
            manifest: Manifest | None = None
            bundle: Path | None = None
            recording_error: CowsnapError | None = None
            try:
                manifest = recorder.finish(facts, timings)
                pending.publish(manifest)
                if request.output is not None:
                    bundle = Path(request.output).absolute()
                    export_bundle(store, run_id, bundle)
            except CowsnapError as error:
                pending.abandon()
                recording_error = error
            except OSError as error:
                pending.abandon()
                recording_error = StoreError(f"cannot record the run: {error}")
        finally:
            kept = snapshot.location if request.keep_snapshot else None
            if not request.keep_snapshot:
                snapshot.release()
    return RunResult(
        exit_status=exit_status, run_id=run_id, workspace=workspace, backend=backend.name,
        timings=dict(manifest.timings) if manifest else timings, manifest=manifest,
        summary=summarize(manifest) if manifest else None,
        ignore_file_created=ignores.path if ignores.created else None,
        kept_snapshot=kept, bundle=bundle, recording_error=recording_error,
    )


def _open_store(store: PathArg) -> Store | None:
    root = resolve_store_dir(store)
    if not root.exists():
        return None
    return Store.open(root, create=False)


def _as_path(value: PathArg) -> Path | None:
    return Path(value) if value is not None else None


def _workspace_key(workspace: PathArg, cwd: Path | None) -> str:
    return str(detect_workspace(_as_path(workspace), cwd))


def log(workspace: PathArg = None, store: PathArg = None,
        cwd: Path | None = None) -> list[RunSummary]:
    """The workspace's runs, newest first (none when there is no store yet)."""
    opened = _open_store(store)
    return opened.runs.summaries(_workspace_key(workspace, cwd)) if opened else []


def _load(run: str | None, workspace: PathArg, store: PathArg,
          cwd: Path | None) -> tuple[Store, Manifest]:
    opened = Store.open(resolve_store_dir(store), create=False)
    key = _workspace_key(workspace, cwd) if run is None else None
    return opened, opened.runs.load(opened.runs.resolve(run, key))


def show(run: str | None = None, workspace: PathArg = None, store: PathArg = None,
         cwd: Path | None = None) -> Manifest:
    """The manifest of `run` (an id or unique prefix; default the workspace's newest)."""
    return _load(run, workspace, store, cwd)[1]


def find_entry(manifest: Manifest, path: str | bytes, cwd: Path | None = None) -> FileEntry:
    """The manifest entry for `path` (absolute, or relative to `cwd`)."""
    raw = os.fsencode(path)
    base = os.fsencode(cwd or Path.cwd())
    absolute = os.path.normpath(os.path.join(base, raw))
    parent, name = os.path.split(absolute)
    candidates = [absolute, os.path.join(os.path.realpath(parent), name)]
    by_path = {entry.path: entry for entry in manifest.files}
    for candidate in candidates:
        if candidate in by_path:
            return by_path[candidate]
    shown = os.fsdecode(absolute)
    raise PathNotInRunError(f"run {manifest.run_id} did not touch {shown}")


def cat(path: str | bytes, side: Literal["before", "after"] = "after", run: str | None = None,
        workspace: PathArg = None, store: PathArg = None,
        cwd: Path | None = None) -> Iterator[bytes]:
    """A captured content of `path` in `run`, in chunks."""
    opened, manifest = _load(run, workspace, store, cwd)
    return opened.open_content(find_entry(manifest, path, cwd), side)


def split_run_argument(arguments: Sequence[str],
                       store: PathArg = None) -> tuple[str | None, list[str]]:
    """`[RUN] [PATH...]`: the run reference (None: the newest) and the paths."""
    opened = _open_store(store)
    return split_run(arguments, opened.runs.ids() if opened else [])


def diff(run: str | None = None, paths: Sequence[str | bytes] = (), workspace: PathArg = None,
         store: PathArg = None, cwd: Path | None = None) -> RunDiff:
    """What `run` changed under `paths` (everything when empty), one FileDiff per path."""
    here = (cwd or Path.cwd()).absolute()
    opened, manifest = _load(run, workspace, store, here)

    def read(entry: FileEntry, side: str) -> bytes:
        return b"".join(opened.open_content(entry, "before" if side == "before" else "after"))

    return run_diff(manifest, read, resolve_paths(manifest, paths, here))


def restore(run: str | None = None, paths: Sequence[str | bytes] = (), *,
            side: Side = "before", force: bool = False, dry_run: bool = False,
            workspace: PathArg = None, store: PathArg = None, cwd: Path | None = None,
            command: Sequence[str] = (), progress: Progress | None = None) -> RestoreResult:
    """Undo (`side="before"`) or redo (`"after"`) `run` for `paths` (all when empty).

    Raises RestoreConflictError, changing nothing, when a path changed since the run
    (unless `force`); paths that could not be restored are in `RestoreResult.failures`.
    """
    here = (cwd or Path.cwd()).absolute()
    opened, manifest = _load(run, workspace, store, here)
    options = RestoreOptions(side=side, paths=resolve_paths(manifest, paths, here),
                             force=force, dry_run=dry_run, command=tuple(command),
                             cwd=str(here))
    return restore_run(opened, manifest, options, progress)
