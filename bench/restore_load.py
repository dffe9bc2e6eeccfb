"""The first two steps of a restore of N files: load and check the run, select the paths.

Records the runs of `bench/restore.py` (one that rewrote N small files, one that
created N new ones) once, then times, in a fresh process of each tree in turn,
what a restore does before it looks at the workspace: `restore/session.py`'s
`_confined` (read the manifest, verify its checksum and origin tag, parse and
check it, confine it) and `select` (the paths to restore), for the undo of each
run. Nothing is restored: both steps only read the store. Run as:

    .venv/bin/python bench/restore_load.py --against CHECKOUT [--files 10000] [--runs 5] [DIR]

CHECKOUT is another checkout of cowsnap (`git worktree add --detach /var/tmp/x
COMMIT`); DIR the directory to record in (default: the XFS test mount). Each
process times each step REPEAT times (CPU and wall, the cycle collector paused as
a restore pauses it) and reports the smallest; the figures printed are the medians
over the rounds, with their ratios (this tree / the other) and the load average.
"""

from __future__ import annotations

import argparse
import functools
import gc
import json
import os
import time
from pathlib import Path

REPEAT = 5
STEPS = ("load and check the run", "select the paths")
DEFAULT_DIR = os.environ.get("COWSNAP_TEST_XFS", "/var/tmp/cs/xfs")


def measure(work: Path, runs: dict[str, str]) -> dict[str, list[float]]:
    """{"<run> <step>": [cpu, wall]}: the smallest of REPEAT timings of each step."""
    from cowsnap.restore import session
    from cowsnap.restore.plan import select
    from cowsnap.restore.trust import Confined
    from cowsnap.store.store import Store

    os.environ["COWSNAP_STORE"] = str(work / "store")  # the user's own store
    store = Store.open(work / "store", create=False)
    options = session.RestoreOptions(side="before", cwd=str(work / "workspace"))
    found: dict[str, list[float]] = {}
    gc.disable()
    for which, run_id in runs.items():
        def load(run_id: str = run_id) -> Confined:
            return session._confined(store, lambda: store.runs.load_with_origin(run_id),
                                     options)
        confined = load()
        if not confined.recorded_here:
            raise SystemExit("the run did not verify as recorded here: not the usual path")
        steps = ((STEPS[0], load), (STEPS[1], functools.partial(select, confined.manifest,
                                                                  "before")))
        for step, action in steps:
            best = [float("inf"), float("inf")]
            for _ in range(REPEAT):
                cpu, wall = time.process_time(), time.perf_counter()
                action()
                best = [min(best[0], time.process_time() - cpu),
                        min(best[1], time.perf_counter() - wall)]
            found[f"{which}: {step}"] = best
    return found


def compare(parent: Path, files: int, rounds: int, other: Path) -> None:
    from restore import interleaved, medians, ratio_columns

    printed, loads = interleaved(parent, files, rounds, other, __file__, "--measure")
    print(f"{parent} (N = {files}, undo; best of {REPEAT} per process, medians of {rounds} "
          f"rounds, each tree in turn; load average {min(loads):.1f} to {max(loads):.1f}); "
          f"this tree / {other}")
    print(f"  {'':<40} {'cpu':>13} {'ratio':>6}  {'wall':>13} {'ratio':>6}")
    for what in printed["other"][0]["timings"]:
        cpu, wall = medians({tree: [tuple(measured["timings"][what]) for measured in outputs]
                             for tree, outputs in printed.items()})
        print(f"  {what:<40} {ratio_columns(cpu, wall)}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--against", type=Path, required=False,
                        help="another checkout of cowsnap to compare with, interleaved")
    parser.add_argument("--files", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--measure", nargs=2, metavar=("WORK", "RUNS"),
                        help=argparse.SUPPRESS)  # one process's timings, for --against
    parser.add_argument("dir", nargs="?", default=DEFAULT_DIR)
    options = parser.parse_args()
    if options.measure:
        import cowsnap

        work, runs = options.measure
        print(json.dumps({"tree": str(Path(cowsnap.__file__).resolve().parents[1]),
                          "timings": measure(Path(work), json.loads(runs))}))
        return
    if options.against is None:
        parser.error("--against CHECKOUT is required")
    compare(Path(options.dir), options.files, options.runs, options.against)


if __name__ == "__main__":
    main()
