"""Start-up: what `cowsnap run -- true` costs, and which imports it pays for.

Runs `cowsnap run -- true` RUNS times in an empty workspace (its store already
made, so the first run's creation is not counted) and prints the median wall
and CPU time (target: 100 ms), where it goes (the interpreter's own start, the
imports, the four phases of the run's `time:` line, and the rest: store, config,
locks, report, exit), then the modules with the largest self import time
(`python -X importtime`, median over the runs), and whether libgit2 (pygit2) or
python-ptrace were loaded (neither may be: the run touches no repository, and
the native tracer needs no python-ptrace).

Run: .venv/bin/python bench/startup.py [RUNS]
     .venv/bin/python bench/startup.py --against CHECKOUT [--runs 15] [btrfs|xfs|ext4|DIR]

`--against` compares this tree with another checkout of cowsnap (`git worktree
add --detach /var/tmp/x COMMIT`, its native core built or copied in), on the
same workspace and store, in a fresh process of each in turn (which goes first
alternates from round to round): `cowsnap run --
true`, `cowsnap restore` of a run that wrote 5 files (undo and redo
alternately, so every restore has work), and `cowsnap restore --help` (the
CLI's start-up alone). The workspace is a btrfs subvolume on the btrfs test
mount by default ($COWSNAP_TEST_BTRFS; xfs, ext4 or any directory instead).
Prints wall and CPU medians of each and their ratios (this tree / the other),
with the load average; pin it with `taskset -c 0` to see it on one CPU.
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from benchlib import MOUNTS

TOP = 25
_LINE = re.compile(r"import time:\s+(\d+) \|\s+(\d+) \|(\s*)(\S+)")
_PHASE = re.compile(r"(preparing|tracing|recording|releasing) (\d+) ms")
PHASES = ("preparing", "tracing", "recording", "releasing")


def timed_run(command: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, float, str]:
    """(wall seconds, CPU seconds of the process tree, stderr)."""
    before = os.times()
    start = time.perf_counter()
    done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, check=True)
    wall = time.perf_counter() - start
    after = os.times()
    cpu = (after.children_user - before.children_user
           + after.children_system - before.children_system)
    return wall, cpu, done.stderr.decode(errors="replace")


def _top_level_total(stderr: str) -> int:
    """µs spent in top-level imports, from `-X importtime` output."""
    return sum(int(cumulative) for _own, cumulative, indent, _module in _LINE.findall(stderr)
               if len(indent) == 1)


def profile(runs: int) -> None:
    """Where `cowsnap run -- true`'s time goes (module docstring)."""
    print("load:", os.getloadavg(), "(rerun on a quiet machine)")
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        workspace = root / "ws"
        workspace.mkdir()
        env = {**os.environ, "COWSNAP_STORE": str(root / "store"),
               "XDG_CONFIG_HOME": str(root / "config"), "XDG_CACHE_HOME": str(root / "cache")}
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        cowsnap = [sys.executable, "-m", "cowsnap", "run", "--", "true"]
        timed_run(cowsnap, workspace, env)
        walls, cpus = [], []
        phases: dict[str, list[int]] = defaultdict(list)
        for _ in range(runs):
            wall, cpu, stderr = timed_run(cowsnap, workspace, env)
            walls.append(wall)
            cpus.append(cpu)
            for name, milliseconds in _PHASE.findall(stderr):
                phases[name].append(int(milliseconds))
        interpreter = [timed_run([sys.executable, "-c", "pass"], workspace, env)[0]
                       for _ in range(runs)]
        self_times: dict[str, list[int]] = defaultdict(list)
        totals, own_totals = [], []
        loaded_pygit2 = loaded_ptrace = False
        for _ in range(min(runs, 5)):
            _, _, stderr = timed_run([sys.executable, "-X", "importtime", "-c", "pass"],
                                     workspace, env)
            own_totals.append(_top_level_total(stderr))
            _, _, stderr = timed_run([sys.executable, "-X", "importtime", *cowsnap[1:]],
                                     workspace, env)
            for own, _cumulative, _indent, module in _LINE.findall(stderr):
                self_times[module].append(int(own))
            totals.append(_top_level_total(stderr))
            loaded_pygit2 |= "pygit2" in self_times
            loaded_ptrace |= "ptrace" in self_times
    print(f"cowsnap run -- true: {statistics.median(walls) * 1000:.0f} ms wall, "
          f"{statistics.median(cpus) * 1000:.0f} ms CPU (median of {runs}); "
          f"python -c pass: {statistics.median(interpreter) * 1000:.0f} ms")
    imports = (statistics.median(totals) - statistics.median(own_totals)) / 1000
    print(f"imports: {imports:.0f} ms beyond the interpreter's own "
          f"({len(self_times)} modules); pygit2 loaded: {loaded_pygit2}; "
          f"python-ptrace loaded: {loaded_ptrace}")
    wall_ms = statistics.median(walls) * 1000
    split = {"interpreter": statistics.median(interpreter) * 1000,
             "imports": imports,
             **{name: statistics.median(phases[name]) for name in PHASES if phases[name]}}
    split["rest"] = wall_ms - sum(split.values())
    print("where the wall time goes (medians; imports measured under -X importtime): "
          + ", ".join(f"{name} {value:.0f} ms ({value / wall_ms:.0%})"
                      for name, value in split.items()))
    ranked = sorted(self_times.items(), key=lambda item: -statistics.median(item[1]))
    for module, values in ranked[:TOP]:
        print(f"  {statistics.median(values) / 1000:6.1f} ms  {module}")


@contextmanager
def workspace_on(where: str) -> Iterator[Path]:
    """A fresh workspace on `where` (btrfs: a subvolume), removed afterwards."""
    parent = Path(tempfile.mkdtemp(prefix="cowsnap-bench-startup-",
                                   dir=MOUNTS.get(where, Path(where))))
    workspace = parent / "workspace"
    subvolume = where == "btrfs"
    try:
        if subvolume:
            subprocess.run(["btrfs", "-q", "subvolume", "create", str(workspace)], check=True)
        else:
            workspace.mkdir()
        yield workspace
    finally:
        if subvolume:
            subprocess.run(["btrfs", "-q", "subvolume", "delete", str(workspace)],
                           capture_output=True, check=False)
        shutil.rmtree(parent, ignore_errors=True)


def timed_command(command: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, float]:
    """(wall, CPU of every process it started) seconds of `command`, which must succeed."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(command, cwd=cwd, env=env, capture_output=True, check=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)


COMPARED = {
    "run -- true": ["run", "--", "true"],
    "restore (5 files, undo/redo)": ["restore"],
    "restore --help": ["restore", "--help"],
}


def compare(other: Path, runs: int, where: str) -> None:
    """This tree against `other`, interleaved (module docstring)."""
    trees = {"other": other.resolve(), "this": Path(__file__).resolve().parent.parent}
    timings: dict[tuple[str, str], list[tuple[float, float]]] = defaultdict(list)
    loads = [os.getloadavg()[0]]
    with workspace_on(where) as workspace:
        scratch = workspace.parent
        base = {**os.environ, "COWSNAP_STORE": str(scratch / "store"),
                "XDG_CONFIG_HOME": str(scratch / "config"),
                "XDG_CACHE_HOME": str(scratch / "cache")}
        base.pop("PYTHONDONTWRITEBYTECODE", None)
        envs = {tree: {**base, "PYTHONPATH": str(path)} for tree, path in trees.items()}
        cowsnap = [sys.executable, "-m", "cowsnap"]
        for tree, env in envs.items():
            found = subprocess.run(
                [sys.executable, "-c", "import cowsnap; print(cowsnap.__file__)"],
                cwd=workspace, env=env, capture_output=True, text=True, check=True).stdout
            if Path(found.strip()).parent.parent != trees[tree]:
                raise SystemExit(f"{trees[tree]} is not the cowsnap that {tree} runs")
        subprocess.run([*cowsnap, "run", "--", "sh", "-c",
                        "for i in 1 2 3 4 5; do echo $i > f$i; done"],
                       cwd=workspace, env=envs["this"], capture_output=True, check=True)
        for round_number in range(runs):
            order = list(envs) if round_number % 2 == 0 else list(reversed(envs))
            for name, arguments in COMPARED.items():
                for tree in order:  # each tree first every other round: a run's release
                    timings[(name, tree)].append(  # slows the next one's snapshot
                        timed_command([*cowsnap, *arguments], workspace, envs[tree]))
            loads.append(os.getloadavg()[0])
    print(f"{where}: medians of {runs} rounds, each tree in turn; load average "
          f"{min(loads):.1f} to {max(loads):.1f}; this tree / {other}")
    print(f"  {'':<30} {'wall ms':>15} {'ratio':>6}  {'CPU ms':>15} {'ratio':>6}")
    for name in COMPARED:
        wall = {tree: statistics.median(w for w, _c in timings[(name, tree)]) * 1000
                for tree in trees}
        cpu = {tree: statistics.median(c for _w, c in timings[(name, tree)]) * 1000
               for tree in trees}
        print(f"  {name:<30} {wall['other']:6.1f} {wall['this']:6.1f}   "
              f"x{wall['this'] / wall['other']:.2f}  {cpu['other']:6.1f} {cpu['this']:6.1f}   "
              f"x{cpu['this'] / cpu['other']:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("runs", type=int, nargs="?", default=None)
    parser.add_argument("--runs", dest="rounds", type=int, default=15)
    parser.add_argument("--against", type=Path,
                        help="another checkout of cowsnap to compare with, interleaved")
    parser.add_argument("where", nargs="?", default="btrfs",
                        help="btrfs, xfs, ext4 (the test mounts) or a directory")
    options = parser.parse_args()
    if options.against is None:
        profile(options.runs or 10)
    else:
        compare(options.against, options.runs or options.rounds, options.where)


if __name__ == "__main__":
    main()
