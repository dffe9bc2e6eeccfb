"""Restoring a run that touched 10,000 files (target: under 1 s).

Records one run that rewrote N small files and one that created N new ones,
then times, in-process (`cowsnap.api.restore`): undoing and redoing the
rewrite, and undoing the creation. For scale it also times writing the same N
files with an fsync per file and per directory (what a naive atomic restore
costs) and with no sync at all (the floor). Last, the rewrite is undone and
redone by `cowsnap restore` commands: the whole wait, start-up included. Run as:

    .venv/bin/python bench/restore.py [--files 10000] [--runs 3] [DIR...]
    .venv/bin/python bench/restore.py --against CHECKOUT [--runs 5] [DIR...]
    .venv/bin/python bench/restore.py --steps [--runs 3] [DIR...]
    .venv/bin/python bench/restore.py --steps --against CHECKOUT [--runs 5] [DIR...]

Each DIR is a directory on the filesystem to measure (default: the btrfs,
XFS and ext4 development mounts under /var/tmp/cowsnap-dev or /var/tmp/cs that
exist). `--against` compares this tree's restore with the one of another
checkout of cowsnap (`git worktree add --detach /var/tmp/x COMMIT`), on the
same runs and store: each round runs the four restores in a fresh process of
each, alternating, and prints medians and ratios (this tree / the other).
`--steps` prints where each restore's time goes instead: CPU and wall seconds of
each step of `restore/session.py` (medians), timed by wrapping those functions;
with `--against`, of both trees, interleaved as above, with ratios per step.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from cowsnap import api
from cowsnap.restore import session
from cowsnap.restore.apply import Applier
from cowsnap.restore.contents import Contents

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


def restore_command(workspace: Path, run_id: str, side: str) -> Timing:
    """`cowsnap restore` in a new process (the store: $COWSNAP_STORE); its CPU time is
    that of the child."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    finished = subprocess.run([sys.executable, "-m", "cowsnap", "restore", run_id, "--to",
                               side, "--workspace", str(workspace)], cwd=workspace,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    wall = time.perf_counter() - started
    if finished.returncode != 0:
        raise SystemExit(f"cowsnap restore failed: {finished.stderr.strip()}")
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)


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


RESTORES = (("undo: rewrite N files", "rewrite", "before"),
            ("redo: rewrite N files", "rewrite", "after"),
            ("redo: create N files in a new dir", "created", "after"),
            ("undo: remove N created files", "created", "before"))
"""(what, which run, to which side), in an order that ends where it starts."""
COMMANDS = (("undo: rewrite N files, whole command", "rewrite", "before"),
            ("redo: rewrite N files, whole command", "rewrite", "after"))
"""The rewrite undone and redone again as `cowsnap restore` commands: what a user
waits for, the interpreter's start-up included (after RESTORES, so it ends where it
starts too)."""


def prepare(work: Path, files: int) -> dict[str, str]:
    """The workspace and store under `work`, with the two runs recorded; their ids."""
    workspace, store = work / "workspace", work / "store"
    workspace.mkdir()
    populate(workspace, files, b"before")
    runs = {"rewrite": record(workspace, store, "for f in f*.txt; do echo after >> $f; done"),
            "created": record(workspace, store,
                              f"mkdir new; i=0; while [ $i -lt {files} ]; do "
                              f"echo $i > new/n$i; i=$((i+1)); done")}
    restore(workspace, store, runs["created"], "before")
    return runs


def restore_all(work: Path, runs: dict[str, str]) -> dict[str, Timing]:
    # The store restored from is the user's own, as it is for a real restore (any other
    # --store is checked as a bundle is: docs/restore.md, Trust).
    os.environ["COWSNAP_STORE"] = str(work / "store")
    timings = {what: timed(functools.partial(restore, work / "workspace", work / "store",
                                             runs[which], side))
               for what, which, side in RESTORES}
    for what, which, side in COMMANDS:
        timings[what] = restore_command(work / "workspace", runs[which], side)
    return timings


STEPS: tuple[tuple[str, Any, str], ...] = (
    ("load and check the run", session, "_confined"),
    ("select the paths", session, "select"),
    ("examine the current files", session, "observe_all"),
    ("plan", session, "make_plan"),
    ("read and check the contents", Contents, "verify"),
    ("record the restore's own run", session, "record_restore"),
    ("apply the plan", Applier, "run"),
)
"""The steps of a restore, in order: (what, where it is looked up, its name)."""
SYNC = ("  of which syncfs", Applier, "_sync")


def _timed_step(original: Callable[..., Any], total: list[float]) -> Callable[..., Any]:
    @functools.wraps(original)
    def step(*args: Any, **kwargs: Any) -> Any:
        cpu, wall = time.process_time(), time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            total[0] += time.process_time() - cpu
            total[1] += time.perf_counter() - wall
    return step


@contextmanager
def steps_timed(spent: dict[str, list[float]]) -> Iterator[None]:
    """Each of STEPS (and SYNC) adding its CPU and wall seconds to `spent[what]`."""
    replaced = []
    try:
        for what, owner, name in (*STEPS, SYNC):
            original = getattr(owner, name)
            replaced.append((owner, name, original))
            setattr(owner, name, _timed_step(original, spent.setdefault(what, [0.0, 0.0])))
        yield
    finally:
        for owner, name, original in replaced:
            setattr(owner, name, original)


def round_of_steps(work: Path, recorded: dict[str, str]) -> dict[str, dict[str, Timing]]:
    """One round of RESTORES: the CPU and wall seconds of each step of each."""
    os.environ["COWSNAP_STORE"] = str(work / "store")
    found: dict[str, dict[str, Timing]] = {}
    for what, which, side in RESTORES:
        spent: dict[str, list[float]] = {}
        with steps_timed(spent):
            wall, cpu = timed(functools.partial(
                restore, work / "workspace", work / "store", recorded[which], side))
        top = [spent[step] for step, _owner, _name in STEPS]
        spent["other"] = [cpu - sum(step_cpu for step_cpu, _wall in top),
                          wall - sum(step_wall for _cpu, step_wall in top)]
        spent["whole restore"] = [cpu, wall]
        found[what] = {step: (step_cpu, step_wall) for step, (step_cpu, step_wall)
                       in spent.items()}
    return found


STEP_NAMES = (*(name for name, _owner, _attr in STEPS), SYNC[0], "other", "whole restore")


def steps(parent: Path, files: int, runs: int) -> None:
    """Print where each restore's time goes (module docstring)."""
    work = Path(tempfile.mkdtemp(prefix="cowsnap-bench-restore-", dir=parent))
    found: dict[str, dict[str, list[Timing]]] = {what: {} for what, _which, _side in RESTORES}
    loads = [os.getloadavg()[0]]
    try:
        recorded = prepare(work, files)
        for _ in range(runs):
            for what, round_steps in round_of_steps(work, recorded).items():
                for step, timing in round_steps.items():
                    found[what].setdefault(step, []).append(timing)
            loads.append(os.getloadavg()[0])
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"{parent} (N = {files}, medians of {runs} rounds; load average "
          f"{min(loads):.1f} to {max(loads):.1f}): CPU / wall seconds per step")
    for what, by_step in found.items():
        print(f"  {what}")
        for step in STEP_NAMES:
            cpu = statistics.median(c for c, _w in by_step[step])
            wall = statistics.median(w for _c, w in by_step[step])
            print(f"    {step:<34} {cpu:6.3f} {wall:6.3f}")


def compare_steps(parent: Path, files: int, runs: int, other: Path) -> None:
    """Print each step of this tree's restores against `other`'s, interleaved: a fresh
    process of each tree in turn per round, on the same runs and store."""
    printed, loads = interleaved(parent, files, runs, other, __file__, "--steps-only")
    print(f"{parent} (N = {files}, medians of {runs} rounds, each tree in turn; load "
          f"average {min(loads):.1f} to {max(loads):.1f}); this tree / {other}")
    print(f"    {'':<34} {'cpu':>13} {'ratio':>6}  {'wall':>13} {'ratio':>6}")
    for what, _which, _side in RESTORES:
        print(f"  {what}")
        for step in STEP_NAMES:
            cpu, wall = medians({tree: [tuple(measured["steps"][what][step])
                                        for measured in outputs]
                                 for tree, outputs in printed.items()})
            print(f"    {step:<34} {ratio_columns(cpu, wall)}")


def _ratio(this: float, other: float) -> str:
    return f"x{this / other:.2f}" if other >= 0.001 else "-"


def in_tree(script: str, checkout: Path, mode: str, work: Path,
            recorded: dict[str, str]) -> Any:
    """What `script` prints with `mode` (a hidden option) run on `checkout`'s cowsnap."""
    environment = {**os.environ, "PYTHONPATH": str(checkout)}
    environment.pop("PYTHONDONTWRITEBYTECODE", None)
    output = subprocess.run(
        [sys.executable, script, mode, str(work), json.dumps(recorded)],
        env=environment, check=True, capture_output=True, text=True).stdout
    measured = json.loads(output)
    if measured["tree"] != str(checkout):
        raise SystemExit(f"{checkout}'s cowsnap was not the one measured")
    return measured


def interleaved(parent: Path, files: int, rounds: int, other: Path, script: str,
                mode: str) -> tuple[dict[str, list[Any]], list[float]]:
    """The runs recorded under `parent`, then `rounds` rounds of `script`'s `mode` in a
    fresh process of each tree in turn (this checkout and `other`; which goes first
    alternates from round to round, so that neither always finds the caches and the
    filesystem as the other left them), on the same runs and store: what each printed,
    by tree ("other", "this"), and the load averages seen."""
    work = Path(tempfile.mkdtemp(prefix="cowsnap-bench-restore-", dir=parent))
    trees = {"other": other.resolve(), "this": Path(__file__).resolve().parent.parent}
    printed: dict[str, list[Any]] = {tree: [] for tree in trees}
    loads = [os.getloadavg()[0]]
    try:
        recorded = prepare(work, files)
        order = list(trees)
        for _ in range(rounds):
            for tree in order:
                printed[tree].append(in_tree(script, trees[tree], mode, work, recorded))
            order.reverse()
            loads.append(os.getloadavg()[0])
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return printed, loads


def medians(pairs: dict[str, list[tuple[float, float]]]
            ) -> tuple[tuple[float, float], tuple[float, float]]:
    """Of pairs of figures by tree: ((other's median first figure, this one's), (other's
    median second figure, this one's))."""
    return ((statistics.median(first for first, _second in pairs["other"]),
             statistics.median(first for first, _second in pairs["this"])),
            (statistics.median(second for _first, second in pairs["other"]),
             statistics.median(second for _first, second in pairs["this"])))


def ratio_columns(*pairs: tuple[float, float]) -> str:
    """Each (other, this) pair as "other this xRATIO", two spaces apart."""
    return "  ".join(f"{other:6.3f} {this:6.3f} {_ratio(this, other):>6}"
                     for other, this in pairs)


def measure(parent: Path, files: int, runs: int) -> dict[str, list[Timing]]:
    work = Path(tempfile.mkdtemp(prefix="cowsnap-bench-restore-", dir=parent))
    results: dict[str, list[Timing]] = {}
    try:
        recorded = prepare(work, files)
        for _ in range(runs):
            for what, timing in restore_all(work, recorded).items():
                results.setdefault(what, []).append(timing)
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


def compare(parent: Path, files: int, runs: int, other: Path) -> None:
    """Print this tree's restores against `other`'s, interleaved (module docstring)."""
    printed, loads = interleaved(parent, files, runs, other, __file__, "--restore-only")
    print(f"{parent} (N = {files}, medians of {runs} rounds, each tree in turn; load "
          f"average {min(loads):.1f} to {max(loads):.1f}); this tree / {other}")
    print(f"  {'':<36} {'wall':>13} {'ratio':>6}  {'cpu':>13} {'ratio':>6}")
    for what, _which, _side in (*RESTORES, *COMMANDS):
        wall, cpu = medians({tree: [tuple(measured["timings"][what]) for measured in outputs]
                             for tree, outputs in printed.items()})
        print(f"  {what:<36} {ratio_columns(wall, cpu)}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--files", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--against", type=Path,
                        help="another checkout of cowsnap to compare with, interleaved")
    parser.add_argument("--steps", action="store_true",
                        help="where each restore's time goes, step by step")
    parser.add_argument("--restore-only", nargs=2, metavar=("WORK", "RUNS"),
                        help=argparse.SUPPRESS)  # one round, for --against
    parser.add_argument("--steps-only", nargs=2, metavar=("WORK", "RUNS"),
                        help=argparse.SUPPRESS)  # one round, for --steps --against
    parser.add_argument("dirs", nargs="*")
    options = parser.parse_args()
    if options.restore_only:
        work, runs = options.restore_only
        print(json.dumps({"tree": str(Path(api.__file__).resolve().parents[2]),
                          "timings": restore_all(Path(work), json.loads(runs))}))
        return
    if options.steps_only:
        work, runs = options.steps_only
        print(json.dumps({"tree": str(Path(api.__file__).resolve().parents[2]),
                          "steps": round_of_steps(Path(work), json.loads(runs))}))
        return
    dirs = [Path(path) for path in (options.dirs or DEFAULT_DIRS) if os.path.isdir(path)]
    for parent in dirs:
        if options.against is not None and options.steps:
            compare_steps(parent, options.files, options.runs, options.against)
            continue
        if options.against is not None:
            compare(parent, options.files, options.runs, options.against)
            continue
        if options.steps:
            steps(parent, options.files, options.runs)
            continue
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
