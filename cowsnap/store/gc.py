"""Pruning a store: remove the runs the policy gives up, then reclaim every content
no remaining run references (loose objects, packed objects, large raw files, their
seals) and the
temporary files of writers that died.

All of it happens under the exclusive retention lock, so no run is writing
contents that no manifest refers to yet. A SIGKILL at any point is harmless:
a run is removed by one rename out of `runs/` (into `incomplete/`, under this
process's name, where the next opening of the store finishes the job), made
durable before any content goes, so a published run never refers to a deleted
content; a content left behind is reclaimed by the next prune.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from cowsnap.errors import StoreDamagedError
from cowsnap.processes import owner_tag, process_start_time
from cowsnap.stages import reached
from cowsnap.store.atomic import fsync_dir, storage_error
from cowsnap.store.prune import Policy, PrunePlan, plan_prune
from cowsnap.store.seals import SEALS, seal_name
from cowsnap.store.store import Store
from cowsnap.store.usage import take_inventory

LAST_PRUNE = "last-prune"
"""When the store was last pruned (RFC 3339), for automatic pruning's interval."""


def last_pruned(store: Store) -> datetime | None:
    try:
        raw = store.directory.read_bytes(LAST_PRUNE, limit=256)
        return datetime.fromisoformat(raw.decode("ascii").strip())
    except (FileNotFoundError, ValueError):
        return None


def mark_pruned(store: Store, when: datetime) -> None:
    store.directory.write_atomic(LAST_PRUNE, when.isoformat().encode() + b"\n",
                                 action="record the time of pruning")


@dataclass(frozen=True)
class Reclaimed:
    contents: int
    """Contents deleted (loose objects and large files)."""
    size: int
    """Bytes they and the removed runs' directories took."""
    leftovers: int
    """Temporary files of dead writers deleted."""


@dataclass(frozen=True)
class PruneOutcome:
    plan: PrunePlan
    reclaimed: Reclaimed | None
    """None for a dry run."""


def _owner_alive(name: str) -> bool:
    """Whether the pid a temporary file's name starts with (`<pid>.` or
    `.<target>.tmp-<pid>-`) is a running process."""
    atomic_temp = ".tmp-" in name
    pid = name.rsplit(".tmp-", 1)[1].split("-", 1)[0] if atomic_temp else name.split(".", 1)[0]
    return pid.isdigit() and process_start_time(int(pid)) is not None


def remove_runs(store: Store, run_ids: Iterable[str]) -> int:
    """Unpublish each run with one rename, durably, then delete it; return bytes freed."""
    owner = owner_tag()
    moved = []
    for run_id in run_ids:
        target = store.runs.incomplete / f"{run_id}.{owner}"
        os.rename(store.runs.published / run_id, target)
        moved.append(target)
    if not moved:
        return 0
    fsync_dir(store.runs.published)
    fsync_dir(store.runs.incomplete)
    reached("prune-runs-removed")
    freed = sum(path.stat().st_size for directory in moved for path in directory.iterdir())
    for directory in moved:
        shutil.rmtree(directory)
    return freed


def _entries(directory: Path) -> Iterator[os.DirEntry[str]]:
    try:
        with os.scandir(directory) as found:
            yield from found
    except FileNotFoundError:
        return


def collect_garbage(store: Store, referenced: set[str]) -> Reclaimed:
    """Delete every content not in `referenced`; the caller holds the exclusive lock."""
    contents = size = leftovers = 0

    def delete(entry: os.DirEntry[str]) -> int:
        freed = entry.stat(follow_symlinks=False).st_size
        os.unlink(entry.path)
        return freed

    for blob, entry in store.contents.loose_files():
        if blob is None:
            if not _owner_alive(entry.name):
                delete(entry)
                leftovers += 1
        elif blob not in referenced:
            reached("prune-reclaiming")
            size += delete(entry)
            contents += 1
    packed, packed_size = store.contents.reclaim_packed(referenced)
    contents += packed
    size += packed_size
    for blob, entry in store.contents.large_files():
        if blob is None:
            if not _owner_alive(entry.name):
                delete(entry)
                leftovers += 1
        elif blob not in referenced:
            size += delete(entry)
            contents += 1
            (store.root / seal_name(blob)).unlink(missing_ok=True)
    for entry in _entries(store.contents.scratch):
        if not _owner_alive(entry.name):
            if entry.is_dir(follow_symlinks=False):
                shutil.rmtree(entry.path)  # a push or fetch's scratch repository
            else:
                delete(entry)
            leftovers += 1
    for entry in _entries(store.root / SEALS):
        if entry.name.startswith("."):
            if not _owner_alive(entry.name):
                delete(entry)
                leftovers += 1
        elif not (store.root / store.contents.large_name(entry.name)).exists():
            delete(entry)
    return Reclaimed(contents=contents, size=size, leftovers=leftovers)


def prune_store(store: Store, policy: Policy, *, now: datetime, dry_run: bool = False,
                wait: bool = True) -> PruneOutcome:
    """Plan under `policy`; unless `dry_run`, remove the runs it gives up and reclaim
    what nothing references. Without `wait`, BlockingIOError when a run is writing."""
    with store.retention_lock(exclusive=not dry_run, wait=wait):
        inventory = take_inventory(store)
        if inventory.damaged:
            first = inventory.damaged[0]
            raise StoreDamagedError(
                f"cannot prune: run {first.run_id} cannot be read, so no content is known to "
                f"be unreferenced ({first.problem}); cowsnap forget {first.run_id} removes it")
        plan = plan_prune(inventory.runs, inventory.content_sizes, policy, now)
        if dry_run:
            return PruneOutcome(plan=plan, reclaimed=None)
        removed = {decision.run_id for decision in plan.removed}
        referenced = {blob for run in inventory.runs if run.run_id not in removed
                      for blob in run.contents}
        try:
            reached("prune-removing-runs")
            freed = remove_runs(store, sorted(removed))
            reclaimed = collect_garbage(store, referenced)
            mark_pruned(store, now)
        except OSError as error:
            raise storage_error(error, "prune the store") from None
    return PruneOutcome(plan=plan, reclaimed=Reclaimed(
        contents=reclaimed.contents, size=reclaimed.size + freed, leftovers=reclaimed.leftovers))
