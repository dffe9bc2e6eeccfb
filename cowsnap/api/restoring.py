"""Undoing or redoing a run: restore.

Apart from diff (cowsnap.api.changes), so that `cowsnap restore` loads neither the
diff machinery nor anything else a restore does not use: its start-up counts in
every restore's time (docs/performance.md).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, fields
from pathlib import Path

from cowsnap.api.common import PathArg, require_store, resolve_run, workspace_key
from cowsnap.errors import EXIT_ERROR, RestoreConflictError
from cowsnap.restore.apply import Progress
from cowsnap.restore.plan import Side
from cowsnap.restore.session import RestoreOptions, RestoreResult, restore_run


@dataclass(frozen=True)
class Restored(RestoreResult):
    """A restore's result, with the exit status it calls for: 1 when a path could not
    be restored."""

    workspace: str = ""
    """The workspace restored into, so paths can be shown relative to it."""

    @property
    def exit_code(self) -> int:
        return EXIT_ERROR if self.failures else 0


def restore(run: str | None = None, paths: Sequence[str | bytes] = (), *,
            side: Side = "before", force: bool = False, dry_run: bool = False,
            workspace: PathArg = None, store: PathArg = None, cwd: Path | None = None,
            command: Sequence[str] = (), progress: Progress | None = None,
            outside: bool = False, same_owner: bool = False) -> Restored:
    """Undo (`side="before"`) or redo (`"after"`) `run` for `paths` (all when empty).

    Raises RestoreConflictError, changing nothing, when a path changed since the run
    (unless `force`); paths that could not be restored are in `failures`. A run this
    user did not record on this machine (a bundle, a fetched run) is restored into
    `workspace` (default: the current one), only inside it unless `outside`, without
    owners or set-id bits unless `same_owner` (docs/restore.md). The run recording
    what the restore replaced has `command` as its command; by default one naming
    the run restored by its whole id.
    """
    here = (cwd or Path.cwd()).absolute()
    opened = require_store(store)
    key = workspace_key(workspace, here)
    run_id = resolve_run(opened, run, key)
    recorded = tuple(command) or (
        "cowsnap", "restore", run_id, *map(os.fsdecode, paths), "--to", side,
        *(["--force"] if force else []), *(["--outside"] if outside else []),
        *(["--same-owner"] if same_owner else []))
    options = RestoreOptions(side=side, paths=tuple(paths), force=force, dry_run=dry_run,
                             command=recorded, cwd=str(here), workspace=os.fsencode(key),
                             outside=outside, same_owner=same_owner)
    try:
        result = restore_run(opened, run_id, options, progress)
    except RestoreConflictError as error:
        raise RestoreConflictError(str(error), error.conflicts, workspace=key) from None
    return Restored(**{field.name: getattr(result, field.name) for field in fields(result)},
                    workspace=key)
