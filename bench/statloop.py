"""Per traced call: N stat() calls of one path, and N open()+close(), under nothing, the
minimal C tracer loop (bench/c/floor.c, the floor), strace -f --seccomp-bpf, and
cowsnap's trace() (bench/traced.py: no snapshot, no recording) with the native core
(its scheduling policy off, and on: "+follow") and with the Python tracer. Both placements:
everything pinned to one CPU (taskset -c 0) and spread over the CPUs. Medians of 5,
interleaved; µs per call, and each as a ratio to the floor: wall time, and the CPU time
(user + system) of the whole process tree, which a loaded machine disturbs far less.

Run: .venv/bin/python bench/statloop.py [N] [RUNS]
"""

from __future__ import annotations

import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).parent
TRACERS = ("untraced", "floor", "strace", "native", "native+follow", "python")
Command = tuple[list[str], dict[str, str]]


def build(directory: Path) -> dict[str, Path]:
    binaries = {}
    for name in ("statloop", "floor"):
        binaries[name] = directory / name
        subprocess.run(["gcc", "-O2", "-o", str(binaries[name]), str(HERE / "c" / f"{name}.c")],
                       check=True)
    return binaries


def command(tracer: str, loop: list[str], binaries: dict[str, Path]) -> Command:
    env = dict(os.environ)
    if tracer == "untraced":
        return loop, env
    if tracer == "floor":
        return [str(binaries["floor"]), *loop], env
    if tracer == "strace":
        return ["strace", "-f", "--seccomp-bpf", "-e", "trace=%file", "-o", "/dev/null", *loop], env
    env["COWSNAP_TRACER"] = tracer.split("+")[0]
    env["COWSNAP_TRACER_FOLLOW"] = "1" if tracer.endswith("+follow") else "0"
    return [sys.executable, str(HERE / "traced.py"), *loop], env


def _children_cpu() -> float:
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    return used.ru_utime + used.ru_stime


def seconds(argv: list[str], env: dict[str, str], pinned: bool) -> tuple[float, float]:
    """Wall and CPU seconds of one run."""
    if pinned:
        argv = ["taskset", "-c", "0", *argv]
    cpu = _children_cpu()
    start = time.perf_counter()
    subprocess.run(argv, env=env, check=True)
    return time.perf_counter() - start, _children_cpu() - cpu


def main() -> None:
    calls = int(sys.argv[1]) if len(sys.argv) > 1 else 20_000
    runs = int(sys.argv[2]) if len(sys.argv) > 2 else 5
    if shutil.which("strace") is None:
        sys.exit("statloop: strace is needed")
    with tempfile.TemporaryDirectory(prefix="statloop-") as temporary:
        binaries = build(Path(temporary))
        target = Path(temporary) / "target"
        target.write_text("x")
        print(f"load: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} {os.getloadavg()[2]:.2f}"
              f"  (1, 5, 15 min); {calls} calls, median of {runs}")
        for mode in ("stat", "open"):
            loop = [str(binaries["statloop"]), mode, str(calls), str(target)]
            for pinned in (True, False):
                timings: dict[str, list[tuple[float, float]]] = {tracer: [] for tracer in TRACERS}
                startup: dict[str, list[tuple[float, float]]] = {tracer: [] for tracer in TRACERS}
                empty = [str(binaries["statloop"]), mode, "0", str(target)]
                for _ in range(runs):
                    for tracer in TRACERS:
                        argv, env = command(tracer, loop, binaries)
                        timings[tracer].append(seconds(argv, env, pinned))
                        argv, env = command(tracer, empty, binaries)
                        startup[tracer].append(seconds(argv, env, pinned))
                wall, cpu = ({
                    tracer: (statistics.median(t[kind] for t in timings[tracer])
                             - statistics.median(t[kind] for t in startup[tracer])) / calls * 1e6
                    for tracer in TRACERS
                } for kind in (0, 1))
                placement = "pinned (taskset -c 0)" if pinned else "spread"
                print(f"\n{mode} x{calls}, {placement}: µs per call (start-up excluded), x floor;"
                      " wall, then CPU")
                for tracer in TRACERS:
                    ratios = [found[tracer] / found["floor"] if found["floor"] > 0 else 0
                              for found in (wall, cpu)]
                    print(f"  {tracer:13} {wall[tracer]:8.2f} µs   x{ratios[0]:.2f}"
                          f"   {cpu[tracer]:8.2f} µs CPU   x{ratios[1]:.2f}")


if __name__ == "__main__":
    main()
