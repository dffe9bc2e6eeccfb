"""`cowsnap run` and `cowsnap status`: snapshot, trace, record; where and how."""

from __future__ import annotations

import os
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from cowsnap.api.common import PathArg, as_path, newest_runs, open_store
from cowsnap.collector import no_cycle_collection
from cowsnap.config import DEFAULT_CAP, AutoPrune, Config, load_config, prune_due
from cowsnap.errors import CowsnapError, StoreError, UsageError
from cowsnap.model import Manifest
from cowsnap.record.ignore import load_ignores
from cowsnap.record.inherited import inherited_written_files
from cowsnap.record.policy import CaptureSettings
from cowsnap.record.recorder import Recorder, RunFacts
from cowsnap.record.versions import VersionGlobs
from cowsnap.snapshot.base import Availability
from cowsnap.snapshot.registry import (
    AUTO,
    availabilities,
    choose_backend,
    first_available,
)
from cowsnap.stages import reached
from cowsnap.store.cap import (
    Estimate,
    estimate,
    note_growth,
    prune_needed,
    record_measured,
    run_growth,
)
from cowsnap.store.location import resolve_store_dir
from cowsnap.store.runs import RunSummary, new_run_id, summarize
from cowsnap.store.store import Store
from cowsnap.trace import trace
from cowsnap.trace.choice import TracerChoice
from cowsnap.trace.choice import choose as choose_tracer
from cowsnap.workspace import detect_workspace

if TYPE_CHECKING:
    from cowsnap.store.gc import PruneOutcome
    from cowsnap.store.prune import Policy
    from cowsnap.store.usage import Usage


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
    cap: int | None = DEFAULT_CAP
    """The size past which runs prune the store (None: unlimited; docs/agents.md)."""
    tracer: TracerChoice | None = None
    """Which tracer `run` uses (native core or Python) and why (docs/tracer.md)."""
    kept_snapshots: Mapping[str, Path] = field(default_factory=dict)
    """Snapshots kept with --keep-snapshot by runs of the workspace: run id -> path."""


def status(workspace: PathArg = None, store: PathArg = None, cwd: Path | None = None) -> Status:
    """The workspace and store in effect, every backend's availability for it, and what
    the store holds (size, runs per workspace, space saved by deduplication)."""
    from cowsnap.snapshot.kept import kept_snapshots
    from cowsnap.store.usage import store_usage, take_inventory

    root = detect_workspace(as_path(workspace), cwd)
    found = availabilities(root)
    usage, usage_error = None, None
    kept: dict[str, Path] = {}
    try:
        opened = open_store(store)
        usage = store_usage(opened, take_inventory(opened)) if opened else None
        ours = {run.run_id for run in newest_runs(opened, str(root))} if opened else set()
        kept = {run_id: location for run_id, (_backend, location)
                in sorted(kept_snapshots(root).items()) if run_id in ours}
    except StoreError as error:
        usage_error = str(error)
    return Status(workspace=root, store=resolve_store_dir(store), backends=found,
                  backend=first_available(found), usage=usage, usage_error=usage_error,
                  cap=load_config().cap, tracer=choose_tracer(), kept_snapshots=kept)


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
    session: str | None = None
    """The agent session the run belongs to (docs/agents.md), recorded in its manifest."""
    recorded_command: Sequence[str] | None = None
    """The command as the manifest shows it, when `command` wraps it (default: `command`)."""


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
    """With keep_snapshot: the snapshot, named after the run (cowsnap.snapshot.kept);
    removed only when the run is forgotten or pruned."""
    bundle: Path | None = None
    recording_error: CowsnapError | None = None
    auto_prune: PruneOutcome | None = None
    """What automatic pruning (config.toml) did after the run, if it ran."""
    auto_prune_error: CowsnapError | None = None
    bundle_error: CowsnapError | None = None
    """Why `--output` was not written, when the run was recorded but its bundle failed."""
    exit_signal: int | None = None
    """The signal that killed the command, if one did (`exit_status` is then 128+N)."""

    @property
    def exit_code(self) -> int:
        """The command's own exit status, whatever happened to its recording."""
        return self.exit_status

    @property
    def error(self) -> str | None:
        """The one line saying what cowsnap failed to do after the command ran."""
        if self.recording_error is not None:
            return f"the run was not recorded: {self.recording_error}"
        if self.bundle_error is not None:
            return (f"run {self.run_id} was recorded, but no bundle was written: "
                    f"{self.bundle_error}")
        return None


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def check_output(output: PathArg) -> Path | None:
    """Where `--output` will write the bundle: a new or empty directory in an existing,
    writable one. Checked before the command starts, so a bad path costs nothing."""
    if output is None:
        return None
    target = Path(output).absolute()
    if target.exists() and not (target.is_dir() and not any(target.iterdir())):
        raise UsageError(f"--output {target}: it exists and is not an empty directory")
    parent = target.parent
    if not parent.is_dir():
        raise UsageError(f"--output {target}: {parent} is not a directory")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise UsageError(f"--output {target}: {parent} is not writable")
    return target


def run(request: RunRequest) -> RunResult:
    """Snapshot the workspace, trace the command, record its run, release the snapshot.

    Errors before the command starts raise; once it has run, a recording failure is
    returned in `RunResult.recording_error` so the command's own status survives.
    """
    with no_cycle_collection():
        return _run(request)


def _run(request: RunRequest) -> RunResult:
    cwd = (request.cwd or Path.cwd()).absolute()
    workspace = detect_workspace(as_path(request.workspace), cwd)
    output = check_output(request.output)
    globs = VersionGlobs(request.versions, os.fsencode(os.path.realpath(workspace)))
    store = Store.open(resolve_store_dir(request.store))
    ignores = load_ignores()
    config = load_config()
    backend = choose_backend(workspace, request.backend)
    run_id = new_run_id()
    timings: dict[str, float] = {}
    kept: Path | None = None
    killed_by: list[int] = []
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
            for path in inherited_written_files():
                recorder.inherited(path)
            started_at = _now()
            clock = time.monotonic()
            try:
                exit_status = trace(request.command, cwd=cwd, on_event=recorder.on_event,
                                    before_mutation=recorder.before_mutation,
                                    on_written_close=recorder.close_hook,
                                    only_writes=request.only_writes,
                                    hook_scope=recorder.hook_scope,
                                    on_root_signal=killed_by.append)
            except BaseException:
                recorder.abandon()
                pending.abandon()
                raise
            timings["tracing"] = round(time.monotonic() - clock, 6)
            shown = request.command if request.recorded_command is None \
                else request.recorded_command
            facts = RunFacts(run_id=run_id, command=tuple(shown),
                             exit_status=exit_status, start_cwd=str(cwd),
                             started_at=started_at, finished_at=_now(),
                             uid=os.getuid(), gid=os.getgid())
            manifest: Manifest | None = None
            recording_error: CowsnapError | None = None
            try:
                reached("run-recording")
                manifest = replace(recorder.finish(facts, timings), session=request.session)
                reached("run-publishing")
                pending.publish(manifest)
                reached("run-published")
            except CowsnapError as error:
                pending.abandon()
                recording_error = error
            except OSError as error:
                pending.abandon()
                recording_error = StoreError(f"cannot record the run: {error}")
            bundle, bundle_error = (_export(store, run_id, output)
                                    if manifest is not None and recording_error is None
                                    else (None, None))
            if request.keep_snapshot:
                kept = snapshot.location
                if kept is not None and recording_error is None:
                    kept = _keep(kept, backend.name, run_id)
        finally:
            clock = time.monotonic()
            if not request.keep_snapshot:
                snapshot.release()
            releasing = round(time.monotonic() - clock, 6)
    reached("run-released")
    pruned, prune_error = _auto_prune(store, config, manifest, request.session)
    return RunResult(
        exit_status=exit_status, run_id=run_id, workspace=workspace, backend=backend.name,
        timings={**(manifest.timings if manifest else timings), "releasing": releasing},
        manifest=manifest,
        summary=pending.summary or (summarize(manifest) if manifest else None),
        ignore_file_created=ignores.path if ignores.created else None,
        kept_snapshot=kept, bundle=bundle, recording_error=recording_error,
        auto_prune=pruned, auto_prune_error=prune_error, bundle_error=bundle_error,
        exit_signal=killed_by[0] if killed_by else None,
    )


def _keep(location: Path, backend: str, run_id: str) -> Path:
    """The snapshot renamed after its run; where it was, if that fails (it is then
    removed as a stale snapshot later: the command's status must survive)."""
    from cowsnap.snapshot.kept import keep

    try:
        return keep(location, backend, run_id)
    except CowsnapError:
        return location


def _export(store: Store, run_id: str,
            output: Path | None) -> tuple[Path | None, CowsnapError | None]:
    """Write the published run as a bundle at `output`; the error, if that fails."""
    if output is None:
        return None, None
    from cowsnap.store.bundle import export_bundle

    try:
        export_bundle(store, run_id, output)
    except CowsnapError as error:
        return None, error
    except OSError as error:
        return None, StoreError(f"cannot write the bundle: {error}")
    return output, None


def _auto_prune(store: Store, config: Config, manifest: Manifest | None,
                session: str | None) -> tuple[PruneOutcome | None, CowsnapError | None]:
    """Prune after a run when config.toml asks and its interval has passed, or when the
    store may have grown past its cap (cowsnap.store.cap). Never waits for runs in
    progress (the next run prunes instead) and never raises: the command has run, its
    status must survive. A run that leaves the store under its cap does not even
    import the pruning modules (start-up: docs/tracer.md)."""
    settings = config.auto_prune
    now = datetime.now(UTC)
    try:
        if manifest is not None:
            note_growth(store, run_growth(store, manifest))
        if settings is not None and _interval_passed(store, settings, now):
            return _prune(store, settings.policy, now), None
        if config.cap is None:
            return None, None
        guess = estimate(store)
        if guess is None:
            guess = _measure(store, now)
        if not prune_needed(guess, config.cap):
            return None, None
        return _prune_to_cap(store, config.cap, manifest, session, now), None
    except BlockingIOError:
        return None, None
    except CowsnapError as error:
        return None, error
    except OSError as error:
        return None, StoreError(f"cannot keep the store under its size cap: {error}")


def _interval_passed(store: Store, settings: AutoPrune, now: datetime) -> bool:
    from cowsnap.store.gc import last_pruned

    return prune_due(last_pruned(store), now, settings.interval)


def _prune(store: Store, policy: Policy, now: datetime) -> PruneOutcome:
    """Prune by `policy` now, noting the size left for the next run's estimate."""
    from cowsnap.store.gc import prune_store

    outcome = prune_store(store, policy, now=now, wait=False)
    record_measured(store, outcome.plan.size_after)
    return outcome


def _measure(store: Store, now: datetime) -> Estimate:
    """The store's size measured (a dry run of pruning), when there is no estimate yet."""
    from cowsnap.store.gc import prune_store
    from cowsnap.store.prune import Policy

    measured = prune_store(store, Policy(), now=now, dry_run=True, wait=False)
    record_measured(store, measured.plan.size_before)
    return Estimate(measured.plan.size_before, measured.plan.size_before)


def _prune_to_cap(store: Store, cap: int, manifest: Manifest | None, session: str | None,
                  now: datetime) -> PruneOutcome:
    """Prune down to the cap, sparing the current session's runs."""
    from cowsnap.store.prune import Policy

    policy = Policy(max_size=cap, protect_since=_session_start(store, manifest, session),
                    remove_missing_workspaces=False)
    return _prune(store, policy, now)


def _session_start(store: Store, manifest: Manifest | None,
                   session: str | None) -> datetime | None:
    """When the current session's first run started (this run's start without a
    session): runs since are never pruned for size."""
    if manifest is None:
        return None
    started = [summary.started_at for summary in store.runs.summaries(manifest.workspace)
               if session is not None and summary.session == session]
    return datetime.fromisoformat(min([*started, manifest.started_at]))
