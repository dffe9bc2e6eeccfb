"""Tracer overhead: wall time traced / untraced, next to strace's, medians of several runs.

Workloads: (a) python -m compileall -f over ~500 copied stdlib files (syscall-heavy),
(b) 1,000 short-lived processes (a shell loop of /bin/true), (c) make -j2 of a
generated 100-file C project. Modes: cowsnap's tracer (all events, and
only-writes), and `strace -f --seccomp-bpf -e trace=%file -o /dev/null`.

Run: .venv/bin/python bench/trace_overhead.py [RUNS]
"""

from __future__ import annotations

import resource
import shutil
import statistics
import sys
import sysconfig
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import sh

from cowsnap.trace import trace
from cowsnap.trace.events import Event

STDLIB_FILES = 500
C_FILES = 100


def compileall_workload(root: Path) -> list[str]:
    source = Path(sysconfig.get_paths()["stdlib"])
    target = root / "stdlib"
    target.mkdir()
    candidates = sorted(p for p in source.glob("*.py") if p.is_file())
    candidates += sorted(p for p in source.glob("*/*.py") if p.is_file())
    for index, path in enumerate(candidates[:STDLIB_FILES]):
        shutil.copyfile(path, target / f"m{index:04d}_{path.name}")
    return [sys.executable, "-m", "compileall", "-f", "-q", str(target)]


def processes_workload(root: Path) -> list[str]:
    del root
    return ["sh", "-c", "i=0; while [ $i -lt 1000 ]; do /bin/true; i=$((i+1)); done"]


def make_workload(root: Path) -> list[str]:
    project = root / "cproject"
    project.mkdir()
    objects = []
    for index in range(C_FILES):
        (project / f"f{index}.h").write_text(f"int f{index}(int);\n")
        (project / f"f{index}.c").write_text(
            f'#include <stdio.h>\n#include "f{index}.h"\n'
            f"int f{index}(int x) {{ return x * {index} + 1; }}\n"
        )
        objects.append(f"f{index}.o")
    calls = " + ".join(f"f{index}(1)" for index in range(C_FILES))
    declarations = "".join(f'#include "f{index}.h"\n' for index in range(C_FILES))
    (project / "main.c").write_text(f"{declarations}int main(void) {{ return ({calls}) & 1; }}\n")
    (project / "Makefile").write_text(
        f"prog: main.o {' '.join(objects)}\n\tcc -o $@ $^\n%.o: %.c\n\tcc -O0 -c -o $@ $<\n"
    )
    return ["make", "-s", "-B", "-j2", "-C", str(project), "prog"]


def untraced(argv: list[str]) -> None:
    sh.Command(argv[0])(*argv[1:], _out=None, _err=None)


def cowsnap_traced(argv: list[str], only_writes: bool = False) -> None:
    events: list[Event] = []
    status = trace(argv, on_event=events.append, only_writes=only_writes)
    if status != 0:
        raise RuntimeError(f"{argv[0]} exited {status} under the tracer")


def strace_traced(argv: list[str]) -> None:
    sh.strace("-f", "--seccomp-bpf", "-e", "trace=%file", "-o", "/dev/null", *argv)


@dataclass(frozen=True)
class Cost:
    """One run: wall time, and CPU time (user + system) of everything involved: the
    tracer (cowsnap's own process, or strace) and the traced processes."""

    wall: float
    cpu: float


def _cpu() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def measure(action: Callable[[], None]) -> Cost:
    cpu, start = _cpu(), time.perf_counter()
    action()
    return Cost(time.perf_counter() - start, _cpu() - cpu)


def interleaved_medians(actions: dict[str, Callable[[], None]], runs: int) -> dict[str, Cost]:
    """Median cost of each action; runs interleaved so that load drifting on a shared
    machine hits every mode alike."""
    for action in actions.values():
        action()
    costs: dict[str, list[Cost]] = {name: [] for name in actions}
    for _ in range(runs):
        for name, action in actions.items():
            costs[name].append(measure(action))
    return {
        name: Cost(
            statistics.median(cost.wall for cost in values),
            statistics.median(cost.cpu for cost in values),
        )
        for name, values in costs.items()
    }


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    workloads = {
        "(a) compileall 500 files": compileall_workload,
        "(b) 1000 processes": processes_workload,
        "(c) make -j2, 100 C files": make_workload,
    }
    modes = ("cowsnap", "writes", "strace")
    print(f"medians of {runs} interleaved runs (after a warm-up); ratios to the untraced run")
    print("wall: elapsed time; cpu: CPU time of tracer + traced processes (load-independent)")
    print(f"{'workload':27} {'untraced':>15} " + " ".join(f"{m + ' wall/cpu':>17}" for m in modes))
    with tempfile.TemporaryDirectory(prefix="cowsnap-bench-") as scratch:
        for name, build in workloads.items():
            argv = build(Path(scratch))
            costs = interleaved_medians(
                {
                    "untraced": lambda argv=argv: untraced(argv),
                    "cowsnap": lambda argv=argv: cowsnap_traced(argv),
                    "writes": lambda argv=argv: cowsnap_traced(argv, True),
                    "strace": lambda argv=argv: strace_traced(argv),
                },
                runs,
            )
            base = costs["untraced"]
            ratios = " ".join(
                f"{costs[m].wall / base.wall:7.2f}x /{costs[m].cpu / base.cpu:6.2f}x" for m in modes
            )
            print(f"{name:27} {base.wall:6.2f}s/{base.cpu:6.2f}s {ratios}")


if __name__ == "__main__":
    main()
