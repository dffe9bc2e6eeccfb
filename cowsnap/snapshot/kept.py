"""Snapshots kept with `cowsnap run --keep-snapshot`.

A kept snapshot is renamed `kept-BACKEND-RUNID` in its staging directory: the
name carries no owner process, so no stale-snapshot cleanup (`check --repair`,
`prune`, the next run) ever takes it; it is found again by its run's id, and
removed only when that run is forgotten or pruned.
"""

from __future__ import annotations

import os
from pathlib import Path

from cowsnap.errors import SnapshotError
from cowsnap.snapshot.registry import BACKEND_NAMES, backend_named
from cowsnap.snapshot.staging import candidates

PREFIX = "kept-"


def keep(location: Path, backend: str, run_id: str) -> Path:
    """Rename the snapshot at `location` after its run; its new path."""
    target = location.with_name(f"{PREFIX}{backend}-{run_id}")
    try:
        os.rename(location, target)
    except OSError as error:
        raise SnapshotError(f"cannot keep the snapshot {location} as {target.name}: "
                            f"{error.strerror}") from None
    return target


def _parse(name: str) -> tuple[str, str] | None:
    """(backend, run id) of a kept snapshot's name; None for any other name."""
    if not name.startswith(PREFIX):
        return None
    backend, _, run_id = name[len(PREFIX):].partition("-")
    return (backend, run_id) if backend in BACKEND_NAMES and run_id else None


def kept_snapshots(workspace: Path) -> dict[str, tuple[str, Path]]:
    """Every kept snapshot where a run of `workspace` may have put one: run id ->
    (backend, path). The staging directories a workspace shares (the cache) may hold
    other workspaces' too; callers match run ids."""
    found: dict[str, tuple[str, Path]] = {}
    places = {*candidates(workspace, same_filesystem=True),
              *candidates(workspace, same_filesystem=False)}
    for place in places:
        try:
            entries = list(place.iterdir())
        except OSError:
            continue
        for entry in entries:
            parsed = _parse(entry.name)
            if parsed is not None:
                found[parsed[1]] = (parsed[0], entry)
    return found


def remove_kept(workspace: Path, run_ids: set[str]) -> list[Path]:
    """Delete the kept snapshots of `run_ids` (runs of `workspace`); what was removed."""
    removed = []
    for run_id, (backend, location) in kept_snapshots(workspace).items():
        if run_id in run_ids:
            backend_named(backend).remove_snapshot(location)
            removed.append(location)
    return removed
