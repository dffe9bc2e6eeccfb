"""One restore from start to end: check, look, plan, refuse or record, apply.

Nothing is written to the workspace before the manifest's paths and states
have been checked (and an untrusted run confined to the workspace restored
into), the current state of every path examined, conflicts ruled out (or
overridden), every content to write verified against its id, and the
restore's own undo run published. All of it under the store's retention lock,
taken before the manifest is read: a prune cannot remove the run, or a
content the restore relies on, half-way.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from cowsnap.collector import no_cycle_collection
from cowsnap.errors import RestoreConflictError, RestoreError, RestoreInterruptedError
from cowsnap.model import Manifest
from cowsnap.origin import state_dir
from cowsnap.restore.apply import Applier, Failure, Progress
from cowsnap.restore.arguments import resolve_paths
from cowsnap.restore.beneath import Roots
from cowsnap.restore.contents import Contents
from cowsnap.restore.interrupt import interruptible
from cowsnap.restore.journal import record_restore
from cowsnap.restore.leftovers import remove_leftovers
from cowsnap.restore.observe import observe_all
from cowsnap.restore.plan import Plan, Side, Target, make_plan, select
from cowsnap.restore.trust import Confined, TrustOptions, confine
from cowsnap.stages import reached
from cowsnap.store.location import default_store_dir
from cowsnap.store.store import Store


@dataclass(frozen=True)
class RestoreOptions:
    side: Side = "before"
    paths: Sequence[str | bytes] = ()
    """Absolute or relative to `cwd`; a directory stands for everything under it. Empty:
    the whole run."""
    force: bool = False
    dry_run: bool = False
    command: Sequence[str] = ()
    """How the restore was asked for, recorded in its own run."""
    cwd: str = "/"
    workspace: bytes | None = None
    """Where a run not recorded here by this user is restored into (resolved)."""
    outside: bool = False
    """Also restore such a run's paths recorded outside its workspace."""
    same_owner: bool = False
    """Restore owners and set-id bits even from such a run, or another user's."""


@dataclass(frozen=True)
class RestoreResult:
    run_id: str
    side: Side
    plan: Plan
    undo_run: str | None
    """The run recording what the restore replaced (None for a dry run or no change)."""
    failures: tuple[Failure, ...]
    """Every path not restored, with why: planned failures and failed steps."""
    dry_run: bool
    skipped: tuple[Failure, ...] = ()
    """Paths deliberately left alone, with why (recorded outside an untrusted run's
    workspace, without `outside`)."""


def _conflict_error(plan: Plan) -> RestoreConflictError:
    count = len(plan.conflicts)
    noun = "path has" if count == 1 else "paths have"
    return RestoreConflictError(
        f"{count} {noun} changed since the run; nothing was restored "
        f"(--force overwrites them)", list(plan.conflicts))


def without(plan: Plan, missing: dict[bytes, str]) -> Plan:
    """`plan` with no step at the paths whose content is missing, listed as failures."""
    return dataclasses.replace(
        plan, steps=tuple(step for step in plan.steps if step.path not in missing),
        failures=(*plan.failures, *sorted(missing.items())))


def _open_roots(workspace: str) -> Roots:
    try:
        return Roots(os.fsencode(workspace))
    except OSError as error:
        raise RestoreError(f"cannot open the workspace {workspace} without following "
                           f"symlinks: {error.strerror}") from None


Loader = Callable[[], tuple[Manifest, bool]]
"""Reads what to restore, called under the retention lock: a manifest, and whether this
user recorded it on this machine (its origin tag verified, cowsnap/origin.py)."""


def restore_run(store: Store, run_id: str, options: RestoreOptions,
                progress: Progress | None = None) -> RestoreResult:
    """Restore run `run_id`'s paths to their `options.side` state (module docstring)."""
    return restore_loaded(store, lambda: store.runs.load_with_origin(run_id), options,
                          progress)


def _confined(store: Store, load: Loader, options: RestoreOptions) -> Confined:
    manifest, recorded_here = load()
    return confine(manifest, TrustOptions(
        recorded_here=recorded_here, workspace=options.workspace,
        store_root=os.fsencode(os.path.realpath(store.root)),
        key_dir=os.fsencode(os.path.realpath(state_dir())), outside=options.outside,
        same_owner=options.same_owner))


def _untrusted_store(store: Store) -> bool:
    """Whether `store` is not this user's own (a bundle, named with --store): what it
    says it holds is checked before the undo run relies on it (restore/journal.py)."""
    return store.root != default_store_dir()


def _leftover_directories(targets: Sequence[Target]) -> set[bytes]:
    """Where an interrupted restore of these paths may have left temporaries."""
    found = {os.path.dirname(target.path) for target in targets}
    found.update(target.path for target in targets
                 if "directory" in (target.want.type, target.replaces.type))
    return found


def _interrupted(error: RestoreInterruptedError, run_id: str, side: Side,
                 undo_run: str | None) -> RestoreInterruptedError:
    finish = f"finish it with: cowsnap restore {run_id} --to {side}"
    undo = f"; undo what it did with: cowsnap restore {undo_run}" if undo_run else ""
    return RestoreInterruptedError(f"{error}; its temporary files were removed; {finish}"
                                   f"{undo}", error.signal_number)


def restore_loaded(store: Store, load: Loader, options: RestoreOptions,
                   progress: Progress | None = None) -> RestoreResult:
    """Restore what `load` reads to its `options.side` state (module docstring).

    The cycle collector is resumed only once the restore's own objects (its manifest,
    what it examined, its own run) are freed: its first pass then walks only the
    result."""
    with no_cycle_collection():
        return _restore(store, load, options, progress)


def _restore(store: Store, load: Loader, options: RestoreOptions,
             progress: Progress | None) -> RestoreResult:
    # Shared from reading the manifest to writing the last content: a prune
    # (exclusive) can neither remove the run nor reclaim what the restore keeps.
    with interruptible(), store.retention_lock(exclusive=False):
        reached("restore-locked")
        confined = _confined(store, load, options)
        manifest = confined.manifest
        paths = resolve_paths(manifest, options.paths, options.cwd)
        targets = select(manifest, options.side, paths)
        as_root = os.geteuid() == 0 and confined.owners
        with _open_roots(manifest.workspace) as roots:
            if not options.dry_run:
                remove_leftovers(roots, _leftover_directories(targets))
            current = observe_all(roots, targets, recorded_here=confined.recorded_here)
            plan = make_plan(targets, current, as_root=as_root)
            if plan.conflicts and not options.force:
                raise _conflict_error(plan)
            undo_run = None
            failures = list(plan.failures)
            with Contents(store) as contents:
                missing = contents.verify(plan.steps)
                if missing:
                    plan = without(plan, missing)
                    failures = list(plan.failures)
                try:
                    if not options.dry_run and plan.steps:
                        undo_run = record_restore(
                            store, manifest, plan, current, roots, options.command,
                            options.cwd, verify_held=_untrusted_store(store))
                        reached("restore-applying")
                        failures.extend(Applier(roots, contents, as_root=as_root,
                                                progress=progress).run(plan))
                except RestoreInterruptedError as error:
                    raise _interrupted(error, manifest.run_id, options.side,
                                       undo_run) from None
    return RestoreResult(run_id=manifest.run_id, side=options.side, plan=plan,
                         undo_run=undo_run, failures=tuple(failures),
                         dry_run=options.dry_run, skipped=confined.skipped)
