"""Keeping the store bounded and sound: prune and check."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from cowsnap.api.common import PathArg, as_path
from cowsnap.errors import (
    StoreError,
)
from cowsnap.snapshot.registry import (
    availabilities,
    backend_named,
)
from cowsnap.snapshot.staging import candidates
from cowsnap.store.check import CheckReport, check_store
from cowsnap.store.gc import prune_store
from cowsnap.store.location import resolve_store_dir
from cowsnap.store.prune import Policy, PrunePlan
from cowsnap.store.store import VERSION_FILE, Store
from cowsnap.workspace import detect_workspace


def _remove_stale_snapshots(workspace: PathArg, cwd: Path | None) -> tuple[Path, ...]:
    """Snapshots of the workspace left by killed cowsnap processes, removed, for every
    backend that can serve it (where `cowsnap run` would have put them). Where no
    staging directory exists there can be none, and none is created."""
    root = detect_workspace(as_path(workspace), cwd)
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
