"""One restore from start to end: check, look, plan, refuse or record, apply.

Nothing is written to the workspace before the manifest's paths and states
have been checked, the current state of every path examined, conflicts ruled
out (or overridden), every content to write verified against its id, and the
restore's own undo run published.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass

from cowsnap.errors import RestoreConflictError, RestoreError
from cowsnap.model import Manifest
from cowsnap.restore.apply import Applier, Failure, Progress
from cowsnap.restore.beneath import Roots
from cowsnap.restore.contents import Contents
from cowsnap.restore.journal import record_restore
from cowsnap.restore.observe import observe
from cowsnap.restore.plan import Plan, Side, make_plan, select
from cowsnap.restore.trust import check_manifest
from cowsnap.stages import reached
from cowsnap.store.store import Store


@dataclass(frozen=True)
class RestoreOptions:
    side: Side = "before"
    paths: Sequence[bytes] | None = None
    """Absolute paths; a directory stands for everything under it. None: the whole run."""
    force: bool = False
    dry_run: bool = False
    command: Sequence[str] = ()
    """How the restore was asked for, recorded in its own run."""
    cwd: str = "/"


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


def _conflict_error(plan: Plan) -> RestoreConflictError:
    count = len(plan.conflicts)
    noun = "path has" if count == 1 else "paths have"
    return RestoreConflictError(
        f"{count} {noun} changed since the run; nothing was restored "
        f"(--force overwrites them)", list(plan.conflicts))


def _open_roots(workspace: str) -> Roots:
    try:
        return Roots(os.fsencode(workspace))
    except OSError as error:
        raise RestoreError(f"cannot open the workspace {workspace} without following "
                           f"symlinks: {error.strerror}") from None


def restore_run(store: Store, manifest: Manifest, options: RestoreOptions,
                progress: Progress | None = None) -> RestoreResult:
    """Restore `manifest`'s paths to their `options.side` state (see the module docstring)."""
    check_manifest(manifest)
    targets = select(manifest, options.side, options.paths)
    as_root = os.geteuid() == 0
    with _open_roots(manifest.workspace) as roots:
        current = {target.path: observe(roots, target) for target in targets}
        plan = make_plan(targets, current, as_root=as_root)
        if plan.conflicts and not options.force:
            raise _conflict_error(plan)
        undo_run = None
        failures = list(plan.failures)
        # Shared from verifying the contents to writing the last one: a prune
        # (exclusive) cannot reclaim what this restore is about to write.
        with store.retention_lock(exclusive=False):
            contents = Contents(store)
            contents.verify(plan.steps)
            if not options.dry_run and plan.steps:
                undo_run = record_restore(store, manifest, plan, current, roots,
                                          options.command, options.cwd)
                reached("restore-applying")
                failures.extend(Applier(roots, contents, as_root=as_root,
                                        progress=progress).run(plan))
    return RestoreResult(run_id=manifest.run_id, side=options.side, plan=plan,
                         undo_run=undo_run, failures=tuple(failures),
                         dry_run=options.dry_run)
