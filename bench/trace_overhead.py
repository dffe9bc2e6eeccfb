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


def interleaved_medians(actions: dict[str, Callable[[], None]], runs: int) -> dict[str, float]:
    """Median wall time of each action; runs interleaved so that load drifting on a
    shared machine hits every mode alike."""
    for action in actions.values():
        action()
    timings: dict[str, list[float]] = {name: [] for name in actions}
    for _ in range(runs):
        for name, action in actions.items():
            start = time.perf_counter()
            action()
            timings[name].append(time.perf_counter() - start)
    return {name: statistics.median(values) for name, values in timings.items()}


def tracer_cpu_per_run(argv: list[str]) -> float:
    """cowsnap's own CPU time (user + system) for one traced run: the per-stop price."""
    before = resource.getrusage(resource.RUSAGE_SELF)
    cowsnap_traced(argv)
    after = resource.getrusage(resource.RUSAGE_SELF)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    workloads = {
        "(a) compileall 500 files": compileall_workload,
        "(b) 1000 processes": processes_workload,
        "(c) make -j2, 100 C files": make_workload,
    }
    print(f"medians of {runs} interleaved runs (after a warm-up); ratio = traced / untraced")
    print(
        f"{'workload':28} {'untraced':>9} {'cowsnap':>9} {'writes':>9} {'strace':>9} "
        f"{'tracer CPU':>11}"
    )
    with tempfile.TemporaryDirectory(prefix="cowsnap-bench-") as scratch:
        for name, build in workloads.items():
            argv = build(Path(scratch))
            medians = interleaved_medians(
                {
                    "untraced": lambda argv=argv: untraced(argv),
                    "cowsnap": lambda argv=argv: cowsnap_traced(argv),
                    "writes": lambda argv=argv: cowsnap_traced(argv, True),
                    "strace": lambda argv=argv: strace_traced(argv),
                },
                runs,
            )
            base = medians["untraced"]
            cpu = tracer_cpu_per_run(argv)
            print(
                f"{name:28} {base:8.3f}s {medians['cowsnap'] / base:8.2f}x "
                f"{medians['writes'] / base:8.2f}x {medians['strace'] / base:8.2f}x "
                f"{cpu:10.2f}s"
            )


if __name__ == "__main__":
    main()
