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
"""

from __future__ import annotations

import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

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


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 10
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


if __name__ == "__main__":
    main()
