"""What every benchmark shares: medians of repeated timings, trees of small files."""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Callable
from pathlib import Path

FILES_PER_DIRECTORY = 100
MOUNTS = {
    kind: Path(os.environ.get(f"COWSNAP_TEST_{kind.upper()}", f"/var/tmp/cowsnap-dev/{kind}"))
    for kind in ("btrfs", "xfs", "ext4")
}


def median_seconds(action: Callable[[], object], runs: int,
                   setup: Callable[[], object] | None = None) -> float:
    """The median wall time of `runs` calls of `action`, each after an untimed `setup`."""
    timings = []
    for _ in range(runs):
        if setup is not None:
            setup()
        start = time.perf_counter()
        action()
        timings.append(time.perf_counter() - start)
    return statistics.median(timings)


def populate(root: Path, files: int) -> None:
    """`files` small C-like files, FILES_PER_DIRECTORY to a directory."""
    for index in range(files):
        directory = root / f"d{index // FILES_PER_DIRECTORY:04d}"
        if index % FILES_PER_DIRECTORY == 0:
            directory.mkdir()
        (directory / f"f{index:06d}.c").write_bytes(b"int x = %d;\n" % index * 20)
