"""What a run changed, and undoing or redoing it: diff and restore."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from cowsnap.api.common import PathArg, load_run, workspace_key
from cowsnap.api.reading import find_entry, pick_version
from cowsnap.diff.model import RunDiff, file_diff, run_diff
from cowsnap.model import FileEntry
from cowsnap.restore.apply import Progress
from cowsnap.restore.arguments import resolve_paths
from cowsnap.restore.plan import Side
from cowsnap.restore.session import RestoreOptions, RestoreResult, restore_run
from cowsnap.store.location import resolve_store_dir
from cowsnap.store.store import Store


def diff(run: str | None = None, paths: Sequence[str | bytes] = (), workspace: PathArg = None,
         store: PathArg = None, cwd: Path | None = None) -> RunDiff:
    """What `run` changed under `paths` (everything when empty), one FileDiff per path."""
    here = (cwd or Path.cwd()).absolute()
    opened, manifest = load_run(run, workspace, store, here)

    def read(entry: FileEntry, side: str) -> bytes:
        return b"".join(opened.open_content(entry, "before" if side == "before" else "after"))

    return run_diff(manifest, read, resolve_paths(manifest, paths, here))


def version_diff(path: str | bytes, number: int, run: str | None = None,
                 workspace: PathArg = None, store: PathArg = None,
                 cwd: Path | None = None) -> RunDiff:
    """What version `number` of `path` changed: from version N-1, or for version 1
    from the before-state (one FileDiff, rendered like `diff`)."""
    here = (cwd or Path.cwd()).absolute()
    opened, manifest = load_run(run, workspace, store, here)
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
            command: Sequence[str] = (), progress: Progress | None = None,
            outside: bool = False, same_owner: bool = False) -> RestoreResult:
    """Undo (`side="before"`) or redo (`"after"`) `run` for `paths` (all when empty).

    Raises RestoreConflictError, changing nothing, when a path changed since the run
    (unless `force`); paths that could not be restored are in `RestoreResult.failures`.
    A run this user did not record on this machine (a bundle, a fetched run) is
    restored into `workspace` (default: the current one), only inside it unless
    `outside`, without owners or set-id bits unless `same_owner` (docs/restore.md).
    """
    here = (cwd or Path.cwd()).absolute()
    opened = Store.open(resolve_store_dir(store), create=False)
    run_id = opened.runs.resolve(run, workspace_key(workspace, here) if run is None else None)
    options = RestoreOptions(side=side, paths=tuple(paths), force=force, dry_run=dry_run,
                             command=tuple(command), cwd=str(here),
                             workspace=os.fsencode(workspace_key(workspace, here)),
                             outside=outside, same_owner=same_owner)
    return restore_run(opened, run_id, options, progress)
