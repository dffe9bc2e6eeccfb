"""The operations users can import; the CLI is a thin layer over these."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from cowsnap.config import Config, load_config, prune_due
from cowsnap.diff.model import RunDiff, file_diff, run_diff
from cowsnap.errors import (
    ContentNotFoundError,
    CowsnapError,
    PathNotInRunError,
    StoreError,
    VersionNotFoundError,
)
from cowsnap.record.ignore import load_ignores
from cowsnap.record.manifest import FileEntry, Manifest, Version
from cowsnap.record.policy import CaptureSettings
from cowsnap.record.recorder import Recorder, RunFacts
from cowsnap.record.versions import VersionGlobs
from cowsnap.restore.apply import Progress
from cowsnap.restore.arguments import resolve_paths, split_run
from cowsnap.restore.plan import Side
from cowsnap.restore.session import RestoreOptions, RestoreResult, restore_run
from cowsnap.snapshot.base import Availability
from cowsnap.snapshot.registry import (
    AUTO,
    availabilities,
    backend_named,
    choose_backend,
    first_available,
)
from cowsnap.snapshot.staging import candidates
from cowsnap.stages import reached
from cowsnap.store.bundle import export_bundle
from cowsnap.store.check import CheckReport, check_store
from cowsnap.store.gc import PruneOutcome, last_pruned, prune_store
from cowsnap.store.location import resolve_store_dir
from cowsnap.store.prune import Policy, PrunePlan
from cowsnap.store.runs import RunSummary, new_run_id, summarize
from cowsnap.store.store import VERSION_FILE, Store
from cowsnap.store.usage import Usage, store_usage, take_inventory
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
    usage: Usage | None = None
    """What the store holds; None when there is no store yet, or it cannot be read."""
    usage_error: str | None = None


def status(workspace: PathArg = None, store: PathArg = None, cwd: Path | None = None) -> Status:
    """The workspace and store in effect, every backend's availability for it, and what
    the store holds (size, runs per workspace, space saved by deduplication)."""
    root = detect_workspace(_as_path(workspace), cwd)
    found = availabilities(root)
    usage, usage_error = None, None
    try:
        opened = _open_store(store)
        usage = store_usage(opened, take_inventory(opened)) if opened else None
    except StoreError as error:
        usage_error = str(error)
    return Status(workspace=root, store=resolve_store_dir(store), backends=found,
                  backend=first_available(found), usage=usage, usage_error=usage_error)


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
    versions: tuple[str, ...] = ()
    """Globs of files to keep every intermediate version of (docs/versions.md)."""


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
    auto_prune: PruneOutcome | None = None
    """What automatic pruning (config.toml) did after the run, if it ran."""
    auto_prune_error: CowsnapError | None = None


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def run(request: RunRequest) -> RunResult:
    """Snapshot the workspace, trace the command, record its run, release the snapshot.

    Errors before the command starts raise; once it has run, a recording failure is
    returned in `RunResult.recording_error` so the command's own status survives.
    """
    cwd = (request.cwd or Path.cwd()).absolute()
    workspace = detect_workspace(_as_path(request.workspace), cwd)
    globs = VersionGlobs(request.versions, os.fsencode(os.path.realpath(workspace)))
    store = Store.open(resolve_store_dir(request.store))
    ignores = load_ignores()
    config = load_config()
    backend = choose_backend(workspace, request.backend)
    run_id = new_run_id()
    timings: dict[str, float] = {}
    with store.retention_lock(exclusive=False):
        pending = store.runs.begin(run_id)
        clock = time.monotonic()
        try:
            reached("run-preparing")
            snapshot = backend.prepare(workspace)
        except BaseException:
            pending.abandon()
            raise
        reached("run-prepared")
        timings["preparing"] = round(time.monotonic() - clock, 6)
        try:
            recorder = Recorder(workspace=workspace, snapshot=snapshot, store=store,
                                ignores=ignores.rules, settings=request.capture,
                                versions=globs)
            started_at = _now()
            clock = time.monotonic()
            try:
                exit_status = trace(request.command, cwd=cwd, on_event=recorder.on_event,
                                    before_mutation=recorder.before_mutation,
                                    on_written_close=recorder.close_hook,
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
                reached("run-recording")
                manifest = recorder.finish(facts, timings)
                reached("run-publishing")
                pending.publish(manifest)
                reached("run-published")
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
    reached("run-released")
    pruned, prune_error = _auto_prune(store, config)
    return RunResult(
        exit_status=exit_status, run_id=run_id, workspace=workspace, backend=backend.name,
        timings=dict(manifest.timings) if manifest else timings, manifest=manifest,
        summary=summarize(manifest) if manifest else None,
        ignore_file_created=ignores.path if ignores.created else None,
        kept_snapshot=kept, bundle=bundle, recording_error=recording_error,
        auto_prune=pruned, auto_prune_error=prune_error,
    )


def _auto_prune(store: Store, config: Config) -> tuple[PruneOutcome | None, CowsnapError | None]:
    """Prune after a run when config.toml asks and its interval has passed. Never waits
    for runs in progress (the next run prunes instead) and never raises: the command
    has run, its status must survive."""
    settings = config.auto_prune
    now = datetime.now(UTC)
    if settings is None:
        return None, None
    try:
        if not prune_due(last_pruned(store), now, settings.interval):
            return None, None
        return prune_store(store, settings.policy, now=now, wait=False), None
    except BlockingIOError:
        return None, None
    except CowsnapError as error:
        return None, error


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
        cwd: Path | None = None, version: int | None = None) -> Iterator[bytes]:
    """A captured content of `path` in `run`, in chunks: its before- or after-content,
    or with `version`, its intermediate version of that number."""
    opened, manifest = _load(run, workspace, store, cwd)
    entry = find_entry(manifest, path, cwd)
    if version is None:
        return opened.open_content(entry, side)
    return opened.stream(_blob_of(entry, pick_version(manifest, entry, version)))


@dataclass(frozen=True)
class Versions:
    """The intermediate versions of one path in one run."""

    run_id: str
    path: bytes
    globs: tuple[str, ...]
    versions: tuple[Version, ...]


def versions(path: str | bytes, run: str | None = None, workspace: PathArg = None,
             store: PathArg = None, cwd: Path | None = None) -> Versions:
    """The versions of `path` that `run` (default: the newest) kept with `--versions`."""
    manifest = _load(run, workspace, store, cwd)[1]
    if not manifest.version_globs:
        raise VersionNotFoundError(f"run {manifest.run_id} was not recorded with --versions")
    entry = find_entry(manifest, path, cwd)
    return Versions(run_id=manifest.run_id, path=entry.path, globs=manifest.version_globs,
                    versions=entry.versions)


def pick_version(manifest: Manifest, entry: FileEntry, number: int) -> Version:
    """Version `number` of `entry`; VersionNotFoundError saying what there is otherwise."""
    shown = entry.path.decode("utf-8", "backslashreplace")
    if not manifest.version_globs:
        raise VersionNotFoundError(f"run {manifest.run_id} was not recorded with --versions")
    if not 1 <= number <= len(entry.versions):
        count = len(entry.versions)
        have = f"versions 1 to {count}" if count > 1 else f"{count or 'no'} version"
        raise VersionNotFoundError(
            f"no version {number} of {shown} in run {manifest.run_id} (it has {have})")
    return entry.versions[number - 1]


def _blob_of(entry: FileEntry, version: Version) -> str:
    if version.blob is None:
        shown = entry.path.decode("utf-8", "backslashreplace")
        raise ContentNotFoundError(
            f"version {version.number} of {shown}: not captured: {version.not_captured}")
    return version.blob


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


def version_diff(path: str | bytes, number: int, run: str | None = None,
                 workspace: PathArg = None, store: PathArg = None,
                 cwd: Path | None = None) -> RunDiff:
    """What version `number` of `path` changed: from version N-1, or for version 1
    from the before-state (one FileDiff, rendered like `diff`)."""
    here = (cwd or Path.cwd()).absolute()
    opened, manifest = _load(run, workspace, store, here)
    entry = find_entry(manifest, path, here)
    mode = entry.before.mode if entry.before.exists else entry.after.mode
    new = replace(pick_version(manifest, entry, number).state(), mode=mode)
    old = entry.before if number == 1 else replace(entry.versions[number - 2].state(),
                                                   mode=mode)
    pair = replace(entry, before=old, after=new)

    def read(chosen: FileEntry, side: str) -> bytes:
        return b"".join(opened.open_content(chosen, "before" if side == "before" else "after"))

    changed = file_diff(pair, os.fsencode(manifest.workspace), read)
    return RunDiff(run_id=manifest.run_id, workspace=manifest.workspace, files=(changed,))


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


def _remove_stale_snapshots(workspace: PathArg, cwd: Path | None) -> tuple[Path, ...]:
    """Snapshots of the workspace left by killed cowsnap processes, removed, for every
    backend that can serve it (where `cowsnap run` would have put them). Where no
    staging directory exists there can be none, and none is created."""
    root = detect_workspace(_as_path(workspace), cwd)
    places = {*candidates(root, same_filesystem=True), *candidates(root, same_filesystem=False)}
    if not any(place.is_dir() for place in places):
        return ()
    removed: list[Path] = []
    for availability in availabilities(root):
        if availability.available:
            removed.extend(backend_named(availability.backend).cleanup_stale(root))
    return tuple(removed)


@dataclass(frozen=True)
class PruneResult:
    store: Path
    plan: PrunePlan
    reclaimed_contents: int
    reclaimed_size: int
    """Bytes freed: removed runs and contents nothing references any more."""
    dry_run: bool
    removed_snapshots: tuple[Path, ...]


def prune(policy: Policy, *, dry_run: bool = False, workspace: PathArg = None,
          store: PathArg = None, cwd: Path | None = None,
          now: datetime | None = None) -> PruneResult:
    """Remove the runs `policy` gives up (see cowsnap.store.prune) and reclaim every
    content no remaining run references; with `dry_run`, only say what would go."""
    root = resolve_store_dir(store)
    removed_snapshots = () if dry_run else _remove_stale_snapshots(workspace, cwd)
    if not (root / VERSION_FILE).exists():
        return PruneResult(store=root, plan=PrunePlan((), 0, 0), reclaimed_contents=0,
                           reclaimed_size=0, dry_run=dry_run,
                           removed_snapshots=removed_snapshots)
    opened = Store.open(root, create=not dry_run)
    outcome = prune_store(opened, policy, now=now or datetime.now(UTC), dry_run=dry_run)
    reclaimed = outcome.reclaimed
    return PruneResult(
        store=root, plan=outcome.plan,
        reclaimed_contents=reclaimed.contents if reclaimed else 0,
        reclaimed_size=(reclaimed.size if reclaimed
                        else outcome.plan.size_before - outcome.plan.size_after),
        dry_run=dry_run, removed_snapshots=removed_snapshots)


@dataclass(frozen=True)
class CheckResult:
    store: Path
    report: CheckReport
    removed_snapshots: tuple[Path, ...]


def check(workspace: PathArg = None, store: PathArg = None,
          cwd: Path | None = None) -> CheckResult:
    """Verify the store (cowsnap.store.check), after removing what killed cowsnap
    processes left: incomplete runs, and snapshots of the current workspace.
    `CheckResult.report.problems` lists any damage."""
    root = resolve_store_dir(store)
    if not (root / VERSION_FILE).exists():
        raise StoreError(f"no cowsnap store at {root}")
    removed_snapshots = _remove_stale_snapshots(workspace, cwd)
    opened = Store.open(root, create=True)
    with opened.retention_lock(exclusive=False):
        report = check_store(opened)
    return CheckResult(store=root, report=report, removed_snapshots=removed_snapshots)
