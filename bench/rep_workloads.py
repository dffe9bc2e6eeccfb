"""The five workloads of Grayson et al. (ACM REP '24), sized for this machine:
untraced, under `strace -f --seccomp-bpf -e trace=%file`, and under the whole
`cowsnap run`, interleaved, medians of RUNS; the geometric-mean overhead of each,
and cowsnap's per-phase split (prepare, trace, record, release).

Workloads, each in its own btrfs subvolume ($COWSNAP_TEST_BTRFS), so the btrfs
backend (a project directory that is not a subvolume root gets the lazy reflink
backend instead, whose captures are part of the trace phase). Where the store is
(`--store-on`): `same`, the default, puts it on the workspace's filesystem,
where a user's default store is (~/.local/share/cowsnap beside projects in the
same home); `other` puts it on $COWSNAP_TEST_EXT4 (a home
on another filesystem than the projects: no clone can share extents). A fresh
store for every cowsnap run (so every content is new to it: the worst case; the
store's one-time measurement of its size, made by its first run, is done by an
untimed `cowsnap run -- true`):
  compile    `make -j2` of Brotli's C library and tool (c/common, c/dec, c/enc,
             c/tools: the C sources shipped in the `brotli` sdist on PyPI, fetched
             once with `pip download` into the cache directory)
  postmark   Debian's postmark: 3,000 files, 10,000 transactions
  cp -r      of a ~2,600-file tree (this interpreter's standard library: real
             source files of real sizes, the same on every run of this bench)
  tar x      of the same tree
  checkout   `git checkout` between two branches differing in half of the files
Also timed, interleaved: `cowsnap run -- true` in each workspace, cowsnap's fixed
cost (start-up, snapshot, publishing, release). Added to each untraced time it
gives the overhead cowsnap would have if tracing and recording cost nothing: the
floor the REP '24 target has to fit above.

Run as root: .venv/bin/python bench/rep_workloads.py [RUNS] [CACHE_DIR] [ONLY...]
    [--store-on same|other] [--against DIR]
(ONLY: run just the workloads whose name contains one of these words; --against:
also run the cowsnap of the source checkout DIR, interleaved, and print the ratio
of each phase and of the whole run to it: `git archive COMMIT | tar x -C DIR`, then
`python setup.py build_ext --inplace` in DIR, for its own C core)
Needs: gcc, make, git, tar, strace, postmark (apt-get install postmark).
"""

from __future__ import annotations

import argparse
import math
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import sysconfig
import tarfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from benchlib import MOUNTS

TREE_FILES = 2600
BROTLI = "brotli==1.2.1"
STRACE = ["strace", "-f", "--seccomp-bpf", "-e", "trace=%file", "-o", "/dev/null"]
MODES = ("untraced", "strace", "cowsnap")
BASELINE = "baseline"
FIXED = "fixed"
PHASES = ("preparing", "tracing", "recording", "releasing")
GIT_ENV = {"GIT_CONFIG_GLOBAL": "/dev/null", "GIT_CONFIG_NOSYSTEM": "1",
           "GIT_AUTHOR_NAME": "b", "GIT_AUTHOR_EMAIL": "b@b", "GIT_COMMITTER_NAME": "b",
           "GIT_COMMITTER_EMAIL": "b@b"}


def run(args: list[str], cwd: Path, env: dict[str, str] | None = None) -> str:
    done = subprocess.run(args, cwd=cwd, env=env, check=True, capture_output=True)
    return done.stderr.decode(errors="replace")


@dataclass
class Workload:
    name: str
    directory: Path
    command: Callable[[], list[str]]
    """The command of the next run, after `reset` has put the workspace back."""
    reset: Callable[[], None]


def brotli_sources(cache: Path) -> Path:
    """Brotli's C sources from its PyPI sdist (downloaded once)."""
    cache.mkdir(parents=True, exist_ok=True)
    archives = sorted(cache.glob("brotli-*.tar.gz"))
    if not archives:
        subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps",
                        "--no-binary", ":all:", BROTLI, "-d", str(cache)], check=True)
        archives = sorted(cache.glob("brotli-*.tar.gz"))
    return archives[-1]


MAKEFILE = """\
CFLAGS = -O2 -Ic/include
LIB = $(sort $(wildcard c/common/*.c c/dec/*.c c/enc/*.c))
OBJ = $(LIB:.c=.o)
brotli: c/tools/brotli.o $(OBJ)
\t$(CC) -o $@ $^ -lm
%.o: %.c
\t$(CC) $(CFLAGS) -c -o $@ $<
clean:
\trm -f brotli $(OBJ) c/tools/brotli.o
"""


def compile_workload(root: Path, cache: Path) -> Workload:
    directory = root / "compile"
    directory.mkdir()
    with tarfile.open(brotli_sources(cache)) as archive:
        top = archive.getnames()[0].split("/")[0]
        members = [m for m in archive.getmembers() if m.name.startswith(f"{top}/c/")]
        archive.extractall(root, members=members, filter="data")
    shutil.move(root / top / "c", directory / "c")
    (directory / "Makefile").write_text(MAKEFILE)
    return Workload("compile (make -j2, brotli)", directory, lambda: ["make", "-s", "-j2"],
                    lambda: run(["make", "-s", "clean"], directory))


def postmark_workload(root: Path) -> Workload:
    directory = root / "postmark"
    (directory / "pm").mkdir(parents=True)
    config = directory / "postmark.cfg"
    config.write_text(f"set location {directory / 'pm'}\nset number 3000\n"
                      "set transactions 10000\nset seed 42\nrun\nquit\n")
    return Workload("postmark (3,000 files, 10,000 tx)", directory,
                    lambda: ["postmark", str(config)], lambda: None)


def source_tree(cache: Path) -> Path:
    """A tar of the first TREE_FILES files of the standard library (sorted paths)."""
    archive = cache / f"tree{TREE_FILES}.tar"
    if archive.exists():
        return archive
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    files = sorted(path for path in stdlib.rglob("*") if path.is_file()
                   and "site-packages" not in path.parts and "__pycache__" not in path.parts)
    with tarfile.open(archive, "w") as out:
        for path in files[:TREE_FILES]:
            out.add(path, arcname=str(path.relative_to(stdlib)))
    return archive


def copy_workload(root: Path, tree: Path) -> Workload:
    directory = root / "copy"
    (directory / "src").mkdir(parents=True)
    with tarfile.open(tree) as archive:
        archive.extractall(directory / "src", filter="data")
    return Workload(f"cp -r ({TREE_FILES} files)", directory,
                    lambda: ["cp", "-r", "src", "dst"],
                    lambda: shutil.rmtree(directory / "dst", ignore_errors=True))


def untar_workload(root: Path, tree: Path) -> Workload:
    directory = root / "untar"
    directory.mkdir()
    shutil.copyfile(tree, directory / "tree.tar")
    out = directory / "out"
    return Workload(f"tar x ({TREE_FILES} files)", directory,
                    lambda: ["sh", "-c", "mkdir out && tar xf tree.tar -C out"],
                    lambda: shutil.rmtree(out, ignore_errors=True))


def checkout_workload(root: Path, tree: Path) -> Workload:
    directory = root / "checkout"
    directory.mkdir()
    env = {**os.environ, **GIT_ENV}
    with tarfile.open(tree) as archive:
        archive.extractall(directory, filter="data")
    run(["git", "init", "-q", "-b", "one"], directory, env)
    run(["git", "add", "-A"], directory, env)
    run(["git", "commit", "-q", "-m", "one"], directory, env)
    run(["git", "checkout", "-q", "-b", "two"], directory, env)
    files = sorted(path for path in directory.rglob("*")
                   if path.is_file() and ".git" not in path.parts)
    for path in files[::2]:
        with path.open("ab") as handle:
            handle.write(b"\n# changed on branch two\n")
    run(["git", "commit", "-q", "-a", "-m", "two"], directory, env)

    def back_to_two() -> None:
        run(["git", "checkout", "-q", "two"], directory, env)

    # every timed checkout goes from two to one: alternating directions would give each
    # mode of a round the same direction every round (an even number of modes)
    return Workload(f"git checkout (half of {len(files)} files)", directory,
                    lambda: ["git", "checkout", "-q", "one"], back_to_two)


@dataclass
class Timings:
    wall: dict[str, list[float]] = field(
        default_factory=lambda: {mode: [] for mode in (*MODES, BASELINE, FIXED)})
    cpu: dict[str, list[float]] = field(
        default_factory=lambda: {mode: [] for mode in (*MODES, BASELINE, FIXED)})
    """CPU time (user + system) of the run and every process it waited for: what a
    busy machine distorts less than wall time."""
    phases: dict[str, dict[str, list[float]]] = field(
        default_factory=lambda: {mode: {p: [] for p in PHASES} for mode in ("cowsnap", BASELINE)})


_PHASE = re.compile(r"(preparing|tracing|recording|releasing) ([0-9.]+) (ms|s)")


def phases_of(stderr: str) -> dict[str, float]:
    line = next((line for line in stderr.splitlines() if "cowsnap: time:" in line), "")
    return {name: float(value) / (1000 if unit == "ms" else 1)
            for name, value, unit in _PHASE.findall(line)}


def measure(workload: Workload, mode: str, store: Path, timings: Timings,
            against: Path | None = None) -> None:
    command = ["true"]
    if mode != FIXED:  # the fixed cost is a run of `true` in the workspace as it is
        workload.reset()
        command = workload.command()
    env = {**os.environ, **GIT_ENV}
    if mode == BASELINE and against is not None:
        env["PYTHONPATH"] = str(against)
    if mode == "strace":
        command = [*STRACE, *command]
    elif mode in ("cowsnap", BASELINE, FIXED):
        shutil.rmtree(store, ignore_errors=True)
        cowsnap = [sys.executable, "-m", "cowsnap", "run", "--store", str(store),
                   "--workspace", str(workload.directory), "--"]
        env["XDG_CONFIG_HOME"] = str(store.parent / "config")
        # a new store measures itself once (its size cap): not part of any workload
        subprocess.run([*cowsnap, "true"], cwd=workload.directory, env=env, check=True,
                       capture_output=True)
        command = [*cowsnap, *command]
    subprocess.run(["sync"], check=True)
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(command, cwd=workload.directory, env=env, capture_output=True)
    timings.wall[mode].append(time.perf_counter() - start)
    now = resource.getrusage(resource.RUSAGE_CHILDREN)
    timings.cpu[mode].append(now.ru_utime + now.ru_stime - used.ru_utime - used.ru_stime)
    if done.returncode != 0:
        raise SystemExit(f"{workload.name} ({mode}) failed: {done.stderr.decode()[-2000:]}")
    if mode in timings.phases:
        for name, seconds in phases_of(done.stderr.decode(errors="replace")).items():
            timings.phases[mode][name].append(seconds)


def subvolume(parent: Path, name: str) -> Path:
    path = parent / name
    subprocess.run(["btrfs", "-q", "subvolume", "create", str(path)], check=True)
    return path


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("runs", nargs="?", type=int, default=3)
    parser.add_argument("cache", nargs="?", type=Path,
                        default=Path("/var/tmp/cowsnap-bench-cache"))
    parser.add_argument("only", nargs="*")
    parser.add_argument("--store-on", choices=("same", "other"), default="same")
    parser.add_argument("--against", type=Path)
    return parser.parse_args()


def main() -> None:
    options = arguments()
    runs, cache = options.runs, options.cache
    missing = [tool for tool in ("gcc", "make", "git", "tar", "strace", "postmark", "btrfs")
               if shutil.which(tool) is None]
    if missing:
        raise SystemExit(f"missing tools: {' '.join(missing)} (apt-get install them)")
    print("load:", os.getloadavg(), "(uptime; rerun on a quiet machine)")
    cache.mkdir(parents=True, exist_ok=True)
    tree = source_tree(cache)
    scratch = subvolume(MOUNTS["btrfs"], f"rep-bench-{os.getpid()}")
    store_fs = MOUNTS["btrfs"] if options.store_on == "same" else MOUNTS["ext4"]
    print(f"store on {'the workspace' if options.store_on == 'same' else 'another'}"
          f" filesystem ({store_fs})")
    store = store_fs / f"rep-bench-store-{os.getpid()}" / "store"
    store.parent.mkdir()
    try:
        makers: list[Callable[[], Workload]] = [
            lambda: compile_workload(subvolume(scratch, "c"), cache),
            lambda: postmark_workload(subvolume(scratch, "p")),
            lambda: copy_workload(subvolume(scratch, "cp"), tree),
            lambda: untar_workload(subvolume(scratch, "t"), tree),
            lambda: checkout_workload(subvolume(scratch, "g"), tree)]
        names = ["compile", "postmark", "cp", "tar", "checkout"]
        only = options.only
        workloads = [make() for name, make in zip(names, makers, strict=True)
                     if not only or name in only]
        results = {workload.name: Timings() for workload in workloads}
        modes = (*MODES, FIXED, *([BASELINE] if options.against else []))
        for _ in range(runs):
            for workload in workloads:
                for mode in modes:
                    measure(workload, mode, store, results[workload.name], options.against)
        report(results)
        if options.against:
            report_against(results, options.against)
    finally:
        shutil.rmtree(store.parent, ignore_errors=True)
        for inner in sorted(scratch.iterdir()):
            subprocess.run(["btrfs", "-q", "subvolume", "delete", str(inner)], check=False)
        subprocess.run(["btrfs", "-q", "subvolume", "delete", str(scratch)], check=False)


def report(results: dict[str, Timings]) -> None:
    print(f"{'workload':36s} {'untraced':>9s} {'strace':>9s} {'cowsnap':>9s} "
          f"{'strace %':>9s} {'cowsnap %':>9s}   cowsnap phases (s): "
          + " ".join(PHASES))
    ratios: dict[str, list[float]] = {"strace": [], "cowsnap": []}
    for name, timings in results.items():
        medians = {mode: statistics.median(timings.wall[mode]) for mode in MODES}
        for mode in ratios:
            ratios[mode].append(medians[mode] / medians["untraced"])
        split = " ".join(f"{statistics.median(values):.3f}" if values else "-"
                         for values in timings.phases["cowsnap"].values())
        print(f"{name:36s} {medians['untraced']:9.3f} {medians['strace']:9.3f} "
              f"{medians['cowsnap']:9.3f} {100 * (ratios['strace'][-1] - 1):8.0f}% "
              f"{100 * (ratios['cowsnap'][-1] - 1):8.0f}%   {split}")
    print_geometric("geometric-mean overhead", ratios)
    print_geometric("the same in CPU time (less distorted by a busy machine)", {
        mode: [statistics.median(timings.cpu[mode]) / statistics.median(timings.cpu["untraced"])
               for timings in results.values()] for mode in ratios})
    report_fixed_cost(results, ratios["strace"])


def report_fixed_cost(results: dict[str, Timings], strace: list[float]) -> None:
    """How much of the overhead budget cowsnap's fixed cost alone takes."""
    floors = []
    for timings in results.values():
        untraced = statistics.median(timings.wall["untraced"])
        floors.append((untraced + statistics.median(timings.wall[FIXED])) / untraced)
    costs = ", ".join(f"{statistics.median(t.wall[FIXED]) * 1000:.0f}"
                      for t in results.values())
    floor = math.exp(statistics.fmean(math.log(r) for r in floors))
    target = (math.exp(statistics.fmean(math.log(r) for r in strace)) - 1) / 2
    print(f"fixed cost (`cowsnap run -- true` in each workspace, ms): {costs}; "
          f"added to the untraced times alone, a geometric-mean overhead of "
          f"{100 * (floor - 1):.0f}%, against the target of {100 * target:.0f}% "
          f"(half of strace's)")


def print_geometric(title: str, ratios: dict[str, list[float]]) -> None:
    geo = {mode: math.exp(statistics.fmean(math.log(r) for r in values))
           for mode, values in ratios.items()}
    print(f"{title}: strace {100 * (geo['strace'] - 1):.0f}%, "
          f"cowsnap {100 * (geo['cowsnap'] - 1):.0f}% "
          f"(cowsnap / strace overhead: {(geo['cowsnap'] - 1) / (geo['strace'] - 1):.2f})")



def report_against(results: dict[str, Timings], against: Path) -> None:
    """Each workload's cowsnap run and phases as ratios to the baseline's (interleaved)."""
    print(f"ratios to {against} (median / median, the same interleaved runs): "
          f"whole run, its CPU time, then " + " ".join(PHASES))
    overheads = []
    for name, timings in results.items():
        overheads.append(statistics.median(timings.wall[BASELINE])
                         / statistics.median(timings.wall["untraced"]))
        whole = statistics.median(timings.wall["cowsnap"]) / statistics.median(
            timings.wall[BASELINE])
        cpu = statistics.median(timings.cpu["cowsnap"]) / statistics.median(
            timings.cpu[BASELINE])
        split = []
        for phase in PHASES:
            now, then = timings.phases["cowsnap"][phase], timings.phases[BASELINE][phase]
            split.append(f"x{statistics.median(now) / statistics.median(then):.2f}"
                         if now and then and statistics.median(then) > 0 else "-")
        base_split = " ".join(f"{statistics.median(v):.3f}" if v else "-"
                              for v in timings.phases[BASELINE].values())
        print(f"{name:36s} x{whole:.2f} x{cpu:.2f}   {' '.join(split)}   "
              f"(baseline {statistics.median(timings.wall[BASELINE]):.3f} s: {base_split})")
    geo = math.exp(statistics.fmean(math.log(r) for r in overheads))
    print(f"baseline geometric-mean overhead: {100 * (geo - 1):.0f}%")


if __name__ == "__main__":
    main()
