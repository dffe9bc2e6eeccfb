"""Rewind: undo a run and every later run of its workspace, as one restore."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from cowsnap.api.common import PathArg, resolve_run, workspace_key
from cowsnap.errors import EXIT_ERROR, RestoreConflictError, RunNotFoundError
from cowsnap.model import Manifest
from cowsnap.restore.apply import Progress
from cowsnap.restore.rewind import combine
from cowsnap.restore.session import RestoreOptions, RestoreResult, restore_loaded
from cowsnap.store.location import resolve_store_dir
from cowsnap.store.runs import RunSummary
from cowsnap.store.store import Store


@dataclass(frozen=True)
class RewindResult:
    runs: tuple[str, ...]
    """The runs undone, newest first."""
    restore: RestoreResult
    """The one restore that undid them; `restore.undo_run` undoes the rewind."""
    workspace: str = ""
    """The workspace rewound, so paths can be shown relative to it."""

    @property
    def exit_code(self) -> int:
        """1 when a path could not be restored."""
        return EXIT_ERROR if self.restore.failures else 0


def _first_of_session(runs: list[RunSummary], session: str, workspace: str) -> RunSummary:
    mine = [summary for summary in runs if summary.session == session]
    if not mine:
        raise RunNotFoundError(f"no runs of session {session!r} in workspace {workspace}")
    return mine[-1]


def rewind(run: str | None = None, *, session: str | None = None, force: bool = False,
           dry_run: bool = False, workspace: PathArg = None, store: PathArg = None,
           cwd: Path | None = None, command: Sequence[str] = (),
           progress: Progress | None = None) -> RewindResult:
    """Bring the workspace back to its state before `run` (a run reference, see
    cowsnap.api.common; default: the newest), or before the first run of `session`,
    undoing every later run too, newest first, in one plan with one conflict check and
    one undo run (cowsnap.restore.rewind).

    Raises RestoreConflictError, changing nothing, when a path changed since the last
    run that touched it (unless `force`).
    """
    here = (cwd or Path.cwd()).absolute()
    opened = Store.open(resolve_store_dir(store), create=False)
    key = workspace_key(workspace, here)
    if session is not None:
        start = _first_of_session(opened.runs.summaries(key), session, key)
    else:
        start_id = resolve_run(opened, run, key)
        owner = opened.runs.load(start_id).workspace
        start = next(summary for summary in opened.runs.summaries(owner)
                     if summary.run_id == start_id)
    later = [summary for summary in opened.runs.summaries(start.workspace)
             if (summary.started_at, summary.run_id) >= (start.started_at, start.run_id)]

    def load() -> tuple[Manifest, bool]:
        loaded = [opened.runs.load_with_origin(summary.run_id) for summary in reversed(later)]
        return (combine([manifest for manifest, _here in loaded]),
                all(here for _manifest, here in loaded))

    options = RestoreOptions(side="before", force=force, dry_run=dry_run,
                             command=tuple(command), cwd=str(here),
                             workspace=os.fsencode(key))
    try:
        result = restore_loaded(opened, load, options, progress)
    except RestoreConflictError as error:
        raise RestoreConflictError(str(error), error.conflicts, workspace=key) from None
    return RewindResult(runs=tuple(summary.run_id for summary in later), restore=result,
                        workspace=key)
