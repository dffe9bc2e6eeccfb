"""Restoring a run that touched 10,000 files (target: under 1 s).

Records one run that rewrote N small files and one that created N new ones,
then times, in-process (`cowsnap.api.restore`): undoing and redoing the
rewrite, and undoing the creation. For scale it also times writing the same N
files with an fsync per file and per directory (what a naive atomic restore
costs) and with no sync at all (the floor). Run as:

    .venv/bin/python bench/restore.py [--files 10000] [--runs 3] [DIR...]

Each DIR is a directory on the filesystem to measure (default: the btrfs,
XFS and ext4 development mounts under /var/tmp/cowsnap-dev or /var/tmp/cs that
exist).
"""

from __future__ import annotations

import argparse
import functools
import os
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from cowsnap import api

FSYNC_EACH = "reference: N atomic writes, fsync each"
NO_SYNC = "reference: N atomic writes, no sync"
DEFAULT_DIRS = [f"/var/tmp/{top}/{kind}" for top in ("cowsnap-dev", "cs")
                for kind in ("btrfs", "xfs", "ext4")]


Timing = tuple[float, float]


def timed(action: Callable[[], object]) -> Timing:
    """(wall seconds, CPU seconds of this process): CPU time shows the cost when other
    work on the machine stretches the wall time."""
    started, cpu = time.perf_counter(), time.process_time()
    action()
    return time.perf_counter() - started, time.process_time() - cpu


def populate(directory: Path, files: int, tag: bytes) -> None:
    for number in range(files):
        (directory / f"f{number:05}.txt").write_bytes(b"%s %d\n" % (tag, number) * 20)


def record(workspace: Path, store: Path, script: str) -> str:
    result = api.run(api.RunRequest(command=["sh", "-c", script], workspace=workspace,
                                    store=store, cwd=workspace))
    if result.recording_error is not None:
        raise SystemExit(f"recording failed: {result.recording_error}")
    return result.run_id


def restore(workspace: Path, store: Path, run_id: str, side: str) -> None:
    result = api.restore(run_id, side="after" if side == "after" else "before",
                         workspace=workspace, store=store, cwd=workspace)
    if result.failures:
        raise SystemExit(f"restore failed: {result.failures[:3]}")


def naive_atomic(directory: Path, files: int, durable: bool) -> None:
    """Temporary file, (fsync), rename, (fsync the directory): per file."""
    dir_fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        for number in range(files):
            name = f"f{number:05}.txt"
            fd = os.open(f".{name}.tmp", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644,
                         dir_fd=dir_fd)
            os.write(fd, b"naive %d\n" % number * 20)
            if durable:
                os.fsync(fd)
            os.close(fd)
            os.rename(f".{name}.tmp", name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
            if durable:
                os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def measure(parent: Path, files: int, runs: int) -> dict[str, list[Timing]]:
    work = Path(tempfile.mkdtemp(prefix="cowsnap-bench-restore-", dir=parent))
    results: dict[str, list[Timing]] = {}
    try:
        workspace, store = work / "workspace", work / "store"
        workspace.mkdir()
        populate(workspace, files, b"before")
        rewrite = record(workspace, store,
                         "for f in f*.txt; do echo after >> $f; done")
        created = record(workspace, store,
                         f"mkdir new; i=0; while [ $i -lt {files} ]; do "
                         f"echo $i > new/n$i; i=$((i+1)); done")
        restore(workspace, store, created, "before")
        for _ in range(runs):
            results.setdefault("undo: rewrite N files", []).append(
                timed(lambda: restore(workspace, store, rewrite, "before")))
            results.setdefault("redo: rewrite N files", []).append(
                timed(lambda: restore(workspace, store, rewrite, "after")))
            results.setdefault("redo: create N files in a new dir", []).append(
                timed(lambda: restore(workspace, store, created, "after")))
            results.setdefault("undo: remove N created files", []).append(
                timed(lambda: restore(workspace, store, created, "before")))
            references = ((True, "fsync each"), (False, "no sync"))
            for durable, name in references if not results.get(FSYNC_EACH) else references[1:]:
                scratch = work / "naive"
                scratch.mkdir()
                results.setdefault(f"reference: N atomic writes, {name}", []).append(
                    timed(functools.partial(naive_atomic, scratch, files, durable)))
                shutil.rmtree(scratch)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return results


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--files", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("dirs", nargs="*")
    options = parser.parse_args()
    dirs = [Path(path) for path in (options.dirs or DEFAULT_DIRS) if os.path.isdir(path)]
    for parent in dirs:
        load = os.getloadavg()[0]
        results = measure(parent, options.files, options.runs)
        floor = statistics.median(wall for wall, _cpu in results[NO_SYNC])
        print(f"{parent} (N = {options.files}, median of {options.runs} runs; load average "
              f"{load:.1f} before, {os.getloadavg()[0]:.1f} after; the fsync reference once)")
        print(f"  {'':<42} {'wall':>7}    {'cpu':>7}    wall / no-sync writes")
        for name, timings in results.items():
            wall = statistics.median(seconds for seconds, _cpu in timings)
            cpu = statistics.median(seconds for _wall, seconds in timings)
            print(f"  {name:<42} {wall:7.3f} s  {cpu:7.3f} s  {wall / floor:6.2f} x")


if __name__ == "__main__":
    main()
