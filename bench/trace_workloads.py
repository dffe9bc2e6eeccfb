"""Whole workloads under `cowsnap run`, both tracers, against untraced and strace.

Workloads, each in a fresh btrfs workspace (a plain directory when no btrfs test
mount is there): compileall of ~540 copied stdlib files, 1,000 short processes (a
shell loop of /bin/true), make -j2 of a generated 100-file C project, tar x of
~2,600 files, and rm -rf of them. Modes: untraced, `strace -f --seccomp-bpf -e
trace=%file -o /dev/null`, and `cowsnap run` with the native core and with the
Python tracer, for which both the trace phase (cowsnap's own "tracing" timing) and
the whole run (snapshot, trace, record) are reported, each as a ratio to the
untraced command and to strace. Medians of RUNS (5) interleaved runs after a
warm-up; everything pinned to one CPU (taskset -c 0) and spread over the CPUs,
printed side by side.

Run (as root, for btrfs): .venv/bin/python bench/trace_workloads.py [RUNS [WORKLOAD...]]
(workloads: compileall processes make tar rm; all by default)
"""

from __future__ import annotations

import os
import re
import shutil
import statistics
import subprocess
import sys
import sysconfig
import tarfile
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from benchlib import MOUNTS, populate

STDLIB_FILES = 540
C_FILES = 100
TAR_FILES = 2_600
MODES = ("untraced", "strace", "native", "python")
_TRACING = re.compile(rb"tracing ([0-9.]+) (ms|s)\b")


@dataclass
class Workload:
    name: str
    argv: list[str]
    reset: Callable[[], None]
    """Brings the workspace back to the state the command expects (untimed)."""


def _nothing() -> None:
    pass


def compileall(workspace: Path) -> Workload:
    source = Path(sysconfig.get_paths()["stdlib"])
    target = workspace / "stdlib"
    target.mkdir()
    candidates = sorted(p for p in source.glob("*.py") if p.is_file())
    candidates += sorted(p for p in source.glob("*/*.py") if p.is_file())
    for index, path in enumerate(candidates[:STDLIB_FILES]):
        shutil.copyfile(path, target / f"m{index:04d}_{path.name}")
    argv = [sys.executable, "-m", "compileall", "-f", "-q", str(target)]
    return Workload(f"compileall {STDLIB_FILES} files", argv, _nothing)


def processes(workspace: Path) -> Workload:
    del workspace
    argv = ["sh", "-c", "i=0; while [ $i -lt 1000 ]; do /bin/true; i=$((i+1)); done"]
    return Workload("1,000 processes", argv, _nothing)


def make(workspace: Path) -> Workload:
    project = workspace / "cproject"
    project.mkdir()
    for index in range(C_FILES):
        (project / f"f{index}.h").write_text(f"int f{index}(int);\n")
        (project / f"f{index}.c").write_text(
            f'#include <stdio.h>\n#include "f{index}.h"\n'
            f"int f{index}(int x) {{ return x * {index} + 1; }}\n"
        )
    calls = " + ".join(f"f{index}(1)" for index in range(C_FILES))
    declarations = "".join(f'#include "f{index}.h"\n' for index in range(C_FILES))
    (project / "main.c").write_text(f"{declarations}int main(void) {{ return ({calls}) & 1; }}\n")
    objects = " ".join(f"f{index}.o" for index in range(C_FILES))
    (project / "Makefile").write_text(
        f"prog: main.o {objects}\n\tcc -o $@ $^\n%.o: %.c\n\tcc -O0 -c -o $@ $<\n"
    )

    def clean() -> None:
        for built in project.glob("*.o"):
            built.unlink()

    return Workload(f"make -j2, {C_FILES} C files", ["make", "-s", "-j2", "-C", str(project)],
                    clean)


def _archive(scratch: Path) -> Path:
    archive = scratch / "files.tar"
    if not archive.exists():
        tree = scratch / "tree"
        tree.mkdir()
        populate(tree, TAR_FILES)
        with tarfile.open(archive, "w") as tar:
            tar.add(tree, arcname="tree")
    return archive


def tar_x(workspace: Path, scratch: Path) -> Workload:
    archive = _archive(scratch)
    destination = workspace / "extracted"

    def empty() -> None:
        shutil.rmtree(destination, ignore_errors=True)
        destination.mkdir()

    return Workload(f"tar x, {TAR_FILES} files", ["tar", "xf", str(archive), "-C",
                                                   str(destination)], empty)


def rm_rf(workspace: Path, scratch: Path) -> Workload:
    archive = _archive(scratch)
    victim = workspace / "victim"

    def extract() -> None:
        shutil.rmtree(victim, ignore_errors=True)
        victim.mkdir()
        subprocess.run(["tar", "xf", str(archive), "-C", str(victim)], check=True)

    return Workload(f"rm -rf, {TAR_FILES} files", ["rm", "-rf", str(victim / "tree")], extract)


def _btrfs_workspace(scratch: Path, name: str) -> Path:
    mount = MOUNTS["btrfs"]
    if os.geteuid() == 0 and mount.is_dir() and shutil.which("btrfs"):
        workspace = mount / f"bench-{os.getpid()}-{name}"
        subprocess.run(["btrfs", "-q", "subvolume", "create", str(workspace)], check=True)
        return workspace
    workspace = scratch / name
    workspace.mkdir()
    return workspace


def _drop(workspace: Path) -> None:
    shutil.rmtree(workspace, ignore_errors=True)
    subprocess.run(["btrfs", "-q", "subvolume", "delete", str(workspace)], check=False,
                   capture_output=True)


@dataclass
class Timing:
    whole: float
    tracing: float | None = None


def run_once(mode: str, workload: Workload, workspace: Path, scratch: Path,
             pinned: bool) -> Timing:
    env = dict(os.environ, HOME=str(scratch / "home"), COWSNAP_STORE=str(scratch / "store"),
               XDG_CONFIG_HOME=str(scratch / "home" / ".config"))
    argv = workload.argv
    if mode == "strace":
        argv = ["strace", "-f", "--seccomp-bpf", "-e", "trace=%file", "-o", "/dev/null", *argv]
    elif mode in ("native", "python"):
        env["COWSNAP_TRACER"] = mode
        argv = [sys.executable, "-m", "cowsnap", "run", "--workspace", str(workspace), "--", *argv]
    if pinned:
        argv = ["taskset", "-c", "0", *argv]
    workload.reset()
    start = time.perf_counter()
    done = subprocess.run(argv, env=env, cwd=workspace, stdout=subprocess.DEVNULL,
                          stderr=subprocess.PIPE, check=False)
    whole = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"{mode} {workload.name}: exit {done.returncode}: "
                         f"{done.stderr.decode(errors='replace')[-500:]}")
    found = _TRACING.search(done.stderr)
    tracing = None
    if found is not None:
        tracing = float(found.group(1)) / (1000 if found.group(2) == b"ms" else 1)
    return Timing(whole, tracing)


def measure(workload: Workload, workspace: Path, scratch: Path, runs: int,
            pinned: bool) -> dict[str, Timing]:
    for mode in MODES:
        run_once(mode, workload, workspace, scratch, pinned)
    timings: dict[str, list[Timing]] = {mode: [] for mode in MODES}
    for _ in range(runs):
        for mode in MODES:
            timings[mode].append(run_once(mode, workload, workspace, scratch, pinned))
    return {
        mode: Timing(
            statistics.median(t.whole for t in values),
            statistics.median(t.tracing for t in values if t.tracing is not None)
            if mode in ("native", "python") else None,
        )
        for mode, values in timings.items()
    }


def report(name: str, placements: dict[str, dict[str, Timing]]) -> None:
    """One block per workload, pinned and spread side by side: strace's ratio to the
    untraced command, then each tracer's trace phase and whole run, as ratios to the
    untraced command and to strace."""
    bases = {placement: found["untraced"].whole for placement, found in placements.items()}
    print(f"\n{name}: untraced " + ", ".join(f"{base:.2f} s {placement}"
                                             for placement, base in bases.items()))
    print(f"  {'':22}" + "".join(f"{placement:>34}" for placement in placements))
    cells = [f"x{found['strace'].whole / bases[placement]:.2f}"
             for placement, found in placements.items()]
    print(f"  {'strace':22}" + "".join(f"{cell:>34}" for cell in cells))
    for mode in ("native", "python"):
        for label, pick in (("trace phase", lambda t: t.tracing or 0.0),
                            ("whole run", lambda t: t.whole)):
            cells = []
            for placement, found in placements.items():
                value = pick(found[mode])
                cells.append(f"x{value / bases[placement]:.2f} untraced, "
                             f"x{value / found['strace'].whole:.2f} strace")
            print(f"  {mode + ' ' + label:22}" + "".join(f"{cell:>34}" for cell in cells))


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    if shutil.which("strace") is None:
        raise SystemExit("trace_workloads: strace is needed")
    one, five, fifteen = os.getloadavg()
    print(f"load averages at start: {one:.2f} {five:.2f} {fifteen:.2f}; medians of {runs}")
    with tempfile.TemporaryDirectory(prefix="cowsnap-workloads-") as temporary:
        scratch = Path(temporary)
        (scratch / "home").mkdir()
        builders: dict[str, Callable[[Path], Workload]] = {
            "compileall": compileall, "processes": processes, "make": make,
            "tar": lambda workspace: tar_x(workspace, scratch),
            "rm": lambda workspace: rm_rf(workspace, scratch),
        }
        chosen = sys.argv[2:] or list(builders)
        unknown = sorted(set(chosen) - set(builders))
        if unknown:
            raise SystemExit(f"trace_workloads: no workload {unknown[0]!r} "
                             f"(choose from {', '.join(builders)})")
        for index, build in enumerate(builders[name] for name in chosen):
            workspace = _btrfs_workspace(scratch, f"w{index}")
            try:
                workload = build(workspace)
                report(workload.name, {
                    "pinned (taskset -c 0)": measure(workload, workspace, scratch, runs, True),
                    "spread": measure(workload, workspace, scratch, runs, False),
                })
            finally:
                _drop(workspace)
    one, five, fifteen = os.getloadavg()
    print(f"\nload averages at end: {one:.2f} {five:.2f} {fifteen:.2f}")


if __name__ == "__main__":
    main()
