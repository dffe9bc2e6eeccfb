"""What a store holds and what it costs: the inventory prune decides on, and the usage
`cowsnap status` shows (size, runs per workspace, space saved by deduplication).

Sizes are apparent sizes of what is stored (compressed loose objects and pack
entries, raw large files), the same measure `--max-size` is compared with.
"""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from cowsnap.errors import CorruptManifestError, RunNotFoundError
from cowsnap.model import Manifest
from cowsnap.store.prune import RunRecord
from cowsnap.store.runs import summarize
from cowsnap.store.store import Store


@dataclass(frozen=True)
class Damaged:
    """A published run whose manifest cannot be read: what it references is unknown."""

    run_id: str
    problem: str


@dataclass(frozen=True)
class Inventory:
    runs: tuple[RunRecord, ...]
    content_sizes: dict[str, int]
    """Stored size of each content some run references and the store holds."""
    damaged: tuple[Damaged, ...] = ()
    """Runs left out of `runs` because their manifest cannot be read: while there is
    one, no content can be known to be unreferenced."""


def referenced_blobs(manifest: Manifest) -> set[str]:
    """Every content id the manifest references (before, after, each version), wherever
    it is kept."""
    return {reference.blob for reference in manifest.content_references()}


def stored_size(store: Store, blob: str) -> int | None:
    """Bytes the store spends on `blob`, or None when the store does not hold it (a
    clean tracked file kept in its own repository)."""
    return store.contents.stored_size(blob)


def _tree_size(directory: Path) -> int:
    total = 0
    for parent, _dirs, files in os.walk(directory):
        for name in files:
            try:
                total += os.lstat(os.path.join(parent, name)).st_size
            except FileNotFoundError:
                continue
    return total


def take_inventory(store: Store) -> Inventory:
    """Every published run with the contents it references; loads every manifest. A run
    whose manifest cannot be read is listed in `damaged` instead."""
    records = []
    damaged = []
    content_sizes: dict[str, int] = {}
    for run_id in store.runs.ids():
        try:
            manifest = store.runs.load(run_id)
        except RunNotFoundError:
            continue  # removed meanwhile
        except CorruptManifestError as error:
            damaged.append(Damaged(run_id, str(error)))
            continue
        summary = summarize(manifest)
        held = set()
        for blob in referenced_blobs(manifest):
            if blob not in content_sizes:
                on_disk = stored_size(store, blob)
                if on_disk is None:
                    continue
                content_sizes[blob] = on_disk
            held.add(blob)
        records.append(RunRecord(
            run_id=summary.run_id, workspace=summary.workspace,
            started_at=datetime.fromisoformat(summary.started_at),
            workspace_exists=os.path.isdir(summary.workspace), contents=frozenset(held),
            own_size=_tree_size(store.runs.published / summary.run_id)))
    return Inventory(runs=tuple(records), content_sizes=content_sizes, damaged=tuple(damaged))


@dataclass(frozen=True)
class WorkspaceUsage:
    workspace: str
    runs: int
    exists: bool


@dataclass(frozen=True)
class Usage:
    size: int
    """Every file of the store, in bytes."""
    runs: int
    """Published runs, damaged ones included (as `check` counts them)."""
    workspaces: tuple[WorkspaceUsage, ...]
    contents: int
    """Distinct contents the runs reference that the store holds."""
    contents_size: int
    """Their stored size, each counted once."""
    referenced_size: int
    """Their stored size counted once per run referencing them: what the store would
    spend without deduplication."""
    damaged: tuple[Damaged, ...] = ()
    """Runs whose manifest cannot be read (counted in `runs`, in no workspace)."""

    @property
    def dedup_saved(self) -> int:
        return self.referenced_size - self.contents_size


def store_usage(store: Store, inventory: Inventory) -> Usage:
    per_workspace = Counter(run.workspace for run in inventory.runs)
    exists = {run.workspace: run.workspace_exists for run in inventory.runs}
    referenced = sum(inventory.content_sizes[blob] for run in inventory.runs
                     for blob in run.contents)
    return Usage(
        size=_tree_size(store.root), runs=len(inventory.runs) + len(inventory.damaged),
        workspaces=tuple(WorkspaceUsage(workspace, count, exists[workspace])
                         for workspace, count in sorted(per_workspace.items())),
        contents=len(inventory.content_sizes),
        contents_size=sum(inventory.content_sizes.values()), referenced_size=referenced,
        damaged=inventory.damaged)
