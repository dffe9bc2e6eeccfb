"""Preparation cost (prepare + release) against workspace size, per snapshot backend.

Also times the alternative the lazy backends rejected — copying the whole tree
up front, by reflink (XFS) and by plain copy (ext4) — and the price lazy pays
instead: one capture, taken while the traced process is stopped.

Run as root: .venv/bin/python bench/prepare.py [RUNS]
Filesystems: $COWSNAP_TEST_BTRFS, $COWSNAP_TEST_XFS, $COWSNAP_TEST_EXT4
(default: the development mounts under /var/tmp/cowsnap-dev).
"""

from __future__ import annotations

import os
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import sh
from benchlib import MOUNTS, median_seconds, populate

from cowsnap.libc import clone
from cowsnap.snapshot.copy import copy_data
from cowsnap.snapshot.registry import backend_named

SIZES = (200, 50_000)
CopyData = Callable[[int, int], None]


def eager_copy(source: Path, destination: Path, copy: CopyData) -> None:
    """The rejected alternative: every file copied before the command starts."""
    for directory, subdirectories, files in os.walk(source):
        target = destination / Path(directory).relative_to(source)
        target.mkdir(exist_ok=True)
        for name in subdirectories:
            (target / name).mkdir()
        for name in files:
            with open(Path(directory) / name, "rb") as src, open(target / name, "wb") as dst:
                copy(src.fileno(), dst.fileno())
            shutil.copystat(Path(directory) / name, target / name)


def measure_backend(name: str, workspace: Path, runs: int) -> float:
    backend = backend_named(name)
    return median_seconds(lambda: backend.prepare(workspace).release(), runs)


def measure_eager(workspace: Path, copy: CopyData, runs: int) -> float:
    def once() -> None:
        target = Path(tempfile.mkdtemp(dir=workspace.parent))
        eager_copy(workspace, target, copy)
        shutil.rmtree(target)
    return median_seconds(once, runs)


def measure_capture(name: str, workspace: Path, runs: int) -> float:
    """One lazy capture of a file, the first in its 100-entry directory (so listing it too)."""
    backend = backend_named(name)
    targets = [os.fsencode(workspace / f"d{index:04d}" / f"f{index * 100:06d}.c")
               for index in range(2)]
    timings = []
    for _ in range(runs):
        with backend.prepare(workspace) as snapshot:
            for target in targets:
                start = time.perf_counter()
                snapshot.capture(target)
                timings.append(time.perf_counter() - start)
    return statistics.median(timings)


def workspace_on(kind: str, files: int) -> tuple[Path, Callable[[], None]]:
    parent = Path(tempfile.mkdtemp(prefix="cowsnap-bench-", dir=MOUNTS[kind]))
    workspace = parent / "workspace"
    if kind == "btrfs":
        sh.btrfs("subvolume", "create", str(workspace))
    else:
        workspace.mkdir()
    populate(workspace, files)
    os.sync()

    def remove() -> None:
        if kind == "btrfs":
            sh.btrfs("subvolume", "delete", str(workspace))
        shutil.rmtree(parent)
    return workspace, remove


def main(runs: int) -> None:
    rows: dict[str, dict[int, float]] = {}
    for files in SIZES:
        for label, kind, measure in [
            ("btrfs prepare+release (btrfs)", "btrfs",
             lambda ws: measure_backend("btrfs", ws, runs)),
            ("reflink prepare+release (xfs)", "xfs",
             lambda ws: measure_backend("reflink", ws, runs)),
            ("reflink one capture (xfs)", "xfs",
             lambda ws: measure_capture("reflink", ws, runs)),
            ("eager reflink tree copy (xfs)", "xfs",
             lambda ws: measure_eager(ws, clone, min(runs, 3))),
            ("copy prepare+release (ext4)", "ext4",
             lambda ws: measure_backend("copy", ws, runs)),
            ("copy one capture (ext4)", "ext4",
             lambda ws: measure_capture("copy", ws, runs)),
            ("eager plain tree copy (ext4)", "ext4",
             lambda ws: measure_eager(ws, copy_data, min(runs, 3))),
        ]:
            workspace, remove = workspace_on(kind, files)
            try:
                rows.setdefault(label, {})[files] = measure(workspace)
            finally:
                remove()
    small, large = SIZES
    print(f"median of {runs} runs (eager: {min(runs, 3)})")
    print(f"{'':32} {small:>10} files {large:>10} files {'ratio':>8}")
    for label, by_size in rows.items():
        ratio = by_size[large] / by_size[small]
        print(f"{label:32} {by_size[small] * 1000:>13.2f} ms {by_size[large] * 1000:>13.2f} ms"
              f" {ratio:>7.1f}x")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 5)
