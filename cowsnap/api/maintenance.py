"""Keeping the store bounded and sound: prune and check."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

from cowsnap.api.common import PathArg, as_path, require_store, resolve_run, workspace_key
from cowsnap.errors import RunNotFoundError, StoreDamagedError, StoreError
from cowsnap.restore.leftovers import remove_workspace_leftovers
from cowsnap.snapshot.kept import remove_kept
from cowsnap.snapshot.registry import (
    availabilities,
    backend_named,
)
from cowsnap.snapshot.staging import candidates
from cowsnap.store.atomic import storage_error
from cowsnap.store.check import CheckReport, check_store
from cowsnap.store.gc import collect_garbage, prune_store, remove_runs
from cowsnap.store.location import resolve_store_dir
from cowsnap.store.prune import Policy, PrunePlan
from cowsnap.store.store import VERSION_FILE, Store
from cowsnap.store.usage import take_inventory
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


def _remove_restore_leftovers(workspace: PathArg, cwd: Path | None) -> None:
    """Temporary files of killed restores in the workspace (restore/leftovers.py)."""
    try:
        remove_workspace_leftovers(os.fsencode(detect_workspace(as_path(workspace), cwd)))
    except OSError:
        return  # a workspace that cannot be opened without symlinks holds none of ours


def _remove_kept(runs: set[tuple[str, str]]) -> tuple[Path, ...]:
    """Delete the snapshots kept with --keep-snapshot by `runs` (workspace, run id),
    which are gone; where a workspace no longer exists, its staging places may be
    gone too, and nothing is found there."""
    by_workspace: dict[str, set[str]] = {}
    for workspace, run_id in runs:
        by_workspace.setdefault(workspace, set()).add(run_id)
    removed: list[Path] = []
    for workspace, run_ids in sorted(by_workspace.items()):
        try:
            removed.extend(remove_kept(Path(workspace), run_ids))
        except (OSError, ValueError):
            continue
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
    """Snapshots removed: left by killed cowsnap processes, or in `removed_kept`."""
    removed_kept: tuple[Path, ...] = ()
    """Snapshots kept with `run --keep-snapshot` by the runs removed."""


def prune(policy: Policy, *, dry_run: bool = False, workspace: PathArg = None,
          store: PathArg = None, cwd: Path | None = None,
          now: datetime | None = None, every_workspace: bool = True) -> PruneResult:
    """Remove the runs `policy` gives up (see cowsnap.store.prune) and reclaim every
    content no remaining run references; with `dry_run`, only say what would go.
    Without `every_workspace`, only runs of the workspace are candidates."""
    if not every_workspace:
        policy = replace(policy, only_workspace=workspace_key(workspace, cwd))
    root = resolve_store_dir(store)
    removed_snapshots = () if dry_run else _remove_stale_snapshots(workspace, cwd)
    if not (root / VERSION_FILE).exists():
        return PruneResult(store=root, plan=PrunePlan((), 0, 0), reclaimed_contents=0,
                           reclaimed_size=0, dry_run=dry_run,
                           removed_snapshots=removed_snapshots)
    opened = Store.open(root, create=not dry_run)
    outcome = prune_store(opened, policy, now=now or datetime.now(UTC), dry_run=dry_run)
    removed_kept = () if dry_run else _remove_kept({(decision.workspace, decision.run_id)
                                                    for decision in outcome.plan.removed})
    reclaimed = outcome.reclaimed
    return PruneResult(
        store=root, plan=outcome.plan,
        reclaimed_contents=reclaimed.contents if reclaimed else 0,
        reclaimed_size=(reclaimed.size if reclaimed
                        else outcome.plan.size_before - outcome.plan.size_after),
        dry_run=dry_run, removed_snapshots=removed_snapshots + removed_kept,
        removed_kept=removed_kept)


@dataclass(frozen=True)
class CheckResult:
    store: Path
    report: CheckReport
    removed_snapshots: tuple[Path, ...]
    repaired: bool = False
    """Whether leftovers of killed cowsnap processes were removed first (--repair)."""

    @property
    def exit_code(self) -> int:
        return StoreDamagedError.exit_code if self.report.problems else 0

    @property
    def error(self) -> str | None:
        """The one line that ends a check finding damage."""
        count = len(self.report.problems)
        if not count:
            return None
        return (f"the store {self.store} is damaged: {count} "
                f"{'problem' if count == 1 else 'problems'} found")


def check(workspace: PathArg = None, store: PathArg = None, cwd: Path | None = None, *,
          repair: bool = False) -> CheckResult:
    """Verify the store (cowsnap.store.check); `report.problems` lists any damage.

    Read-only (but for the checksums it records of large contents), like fsck -n;
    with `repair`, first removes what killed cowsnap processes left: incomplete runs,
    snapshots of the current workspace, and restores' temporary files in it.
    """
    root = resolve_store_dir(store)
    if not (root / VERSION_FILE).exists():
        raise StoreError(f"no cowsnap store at {root}")
    removed_snapshots = _remove_stale_snapshots(workspace, cwd) if repair else ()
    if repair:
        _remove_restore_leftovers(workspace, cwd)
    opened = Store.open(root, create=repair)
    with opened.retention_lock(exclusive=False):
        report = check_store(opened)
    return CheckResult(store=root, report=report, removed_snapshots=removed_snapshots,
                       repaired=repair)


@dataclass(frozen=True)
class ForgetResult:
    store: Path
    run_ids: tuple[str, ...]
    """The runs forgotten (with `dry_run`: that would be), by whole id."""
    dry_run: bool
    reclaimed_contents: int
    reclaimed_size: int
    """Bytes freed: the runs and the contents no remaining run references."""
    damaged: tuple[str, ...] = ()
    """Other runs that cannot be read: while they remain, no content is reclaimed (any
    could be theirs)."""

    exit_code = 0


def forget(runs: Sequence[str], *, dry_run: bool = False, workspace: PathArg = None,
           store: PathArg = None, cwd: Path | None = None) -> ForgetResult:
    """Remove the runs `runs` names (run references) and reclaim every content no
    remaining run references; with `dry_run`, only say which runs would go. A run
    whose manifest is damaged can be forgotten; while another damaged run remains,
    contents are not reclaimed (`damaged` names those runs)."""
    here = (cwd or Path.cwd()).absolute()
    root = resolve_store_dir(store)
    key = workspace_key(workspace, here)
    if not root.exists():
        require_store(store)  # says there are no runs yet, and how to record one
    opened = Store.open(root, create=not dry_run)
    chosen = tuple(dict.fromkeys(resolve_run(opened, reference, key) for reference in runs))
    if dry_run:
        return ForgetResult(store=root, run_ids=chosen, dry_run=True, reclaimed_contents=0,
                            reclaimed_size=0)
    with opened.retention_lock(exclusive=True):
        inventory = take_inventory(opened)
        known = {record.run_id for record in inventory.runs}
        known |= {item.run_id for item in inventory.damaged}
        gone = [run_id for run_id in chosen if run_id not in known]
        if gone:
            raise RunNotFoundError(f"no run {gone[0]} (removed meanwhile)")
        damaged = tuple(item.run_id for item in inventory.damaged if item.run_id not in chosen)
        referenced = {blob for record in inventory.runs if record.run_id not in chosen
                      for blob in record.contents}
        try:
            freed = remove_runs(opened, chosen)
            reclaimed = None if damaged else collect_garbage(opened, referenced)
        except OSError as error:
            raise storage_error(error, "forget runs") from None
        _remove_kept({(record.workspace, record.run_id) for record in inventory.runs
                      if record.run_id in chosen})
    return ForgetResult(store=root, run_ids=chosen, dry_run=False,
                        reclaimed_contents=reclaimed.contents if reclaimed else 0,
                        reclaimed_size=(reclaimed.size if reclaimed else 0) + freed,
                        damaged=damaged)
