"""Cost of the store lifecycle commands as a store grows: status (usage), prune
(dry run and real), check; and the per-run cost of automatic pruning.

A synthetic store of RUNS runs in 10 workspaces, each run writing FILES files of
about 2 KiB, half of them shared with the previous run of its workspace (so
deduplication matters). Run as:

    .venv/bin/python bench/lifecycle_store.py [--runs 200 1000] [--files 20] [--repeat 5]

COWSNAP_TEST_EXT4 (default /var/tmp/cowsnap-dev/ext4) holds the stores.
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

from benchlib import MOUNTS, median_seconds

from cowsnap.model import FileEntry, FileState, Manifest, Operation
from cowsnap.stages import reached
from cowsnap.store.check import check_store
from cowsnap.store.gc import prune_store
from cowsnap.store.prune import Policy
from cowsnap.store.runs import new_run_id
from cowsnap.store.store import Store
from cowsnap.store.usage import store_usage, take_inventory

WORKSPACES = 10
START = datetime(2026, 1, 1, tzinfo=UTC)


def build(root: Path, runs: int, files: int) -> Store:
    store = Store.open(root)
    workspaces = [root.parent / f"ws{number}" for number in range(WORKSPACES)]
    for workspace in workspaces:
        workspace.mkdir(exist_ok=True)
    for number in range(runs):
        workspace = workspaces[number % WORKSPACES]
        moment = START + timedelta(minutes=number)
        entries = []
        for index in range(files):
            generation = number // WORKSPACES if index % 2 else number // (2 * WORKSPACES)
            data = f"{workspace} file {index} generation {generation}\n".encode() * 40
            blob = store.contents.put_bytes(data)
            entries.append(FileEntry(
                path=os.fsencode(workspace / f"f{index}"), operations=(Operation.WRITE,),
                before=FileState(exists=False),
                after=FileState(exists=True, type="file", mode=0o100644, size=len(data),
                                mtime_ns=0, uid=0, blob=blob, blob_source="store")))
        stamp = moment.isoformat().replace("+00:00", "Z")
        run_id = new_run_id(moment)
        store.runs.begin(run_id).publish(Manifest(
            run_id=run_id, tool_version="bench", command=("bench",), exit_status=0,
            start_cwd=str(workspace), workspace=str(workspace), backend="copy", uid=0, gid=0,
            started_at=stamp, finished_at=stamp, files=tuple(entries)))
    return store


def measure(runs: int, files: int, repeat: int) -> str:
    """One line of the table: the medians for a store of `runs` runs."""
    now = START + timedelta(days=30)
    scratch = Path(tempfile.mkdtemp(prefix="lifecycle-bench-", dir=MOUNTS["ext4"]))
    try:
        store = build(scratch / "store", runs, files)
        usage = store_usage(store, take_inventory(store))
        status = median_seconds(lambda: store_usage(store, take_inventory(store)), repeat)
        dry = median_seconds(
            lambda: prune_store(store, Policy(keep_last=5), now=now, dry_run=True), repeat)
        check = median_seconds(lambda: check_store(store), repeat)
        real = []
        for copy in range(3):
            target = scratch / f"copy{copy}"
            shutil.copytree(scratch / "store", target)
            copied = Store.open(target)
            real.append(median_seconds(
                lambda copied=copied: prune_store(copied, Policy(keep_last=5), now=now), 1))
        real.sort()
        saved = usage.dedup_saved / max(usage.referenced_size, 1)
        return (f"{runs:>6} {status:>8.3f}s {dry:>8.3f}s {real[1]:>8.3f}s {check:>8.3f}s "
                f"{check / runs * 1000:>8.2f}ms {saved:>6.0%}")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, nargs="+", default=[200, 1000])
    parser.add_argument("--files", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=5)
    options = parser.parse_args()
    print(f"{options.files} files per run, {WORKSPACES} workspaces, median of "
          f"{options.repeat} (real prune --keep-last 5: median of 3 fresh copies)")
    print(f"{'runs':>6} {'status':>9} {'dry run':>9} {'prune':>9} {'check':>9} "
          f"{'check/run':>10} {'saved':>7}")
    for runs in options.runs:
        print(measure(runs, options.files, options.repeat))
    calls = 1_000_000
    seconds = median_seconds(lambda: [reached("run-prepared") for _ in range(calls)], 3)
    print(f"a stage point not asked to pause: {seconds / calls * 1e9:.0f} ns per call")


if __name__ == "__main__":
    main()
