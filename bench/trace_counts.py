"""What the tracer does per file, counted, not timed: the stops it takes and its own
system calls, against strace's, for the file-heavy REP '24 workloads (bench/
rep_workloads.py's builders) and `rm -rf` of the same tree.

`strace -c` watches the tracing process (without -f: its tracees are not
strace's): `trace()` alone (bench/traced.py, the native core unless COWSNAP_TRACER
says otherwise), its start-up (`traced.py true`) subtracted, and `strace -f
--seccomp-bpf -e trace=%file` itself. Stops are counted as ptrace requests / 2
(each syscall stop is one PTRACE_GET_SYSCALL_INFO and one resume, for both).
Counts do not depend on the machine's load, so this compares versions where
timings cannot (docs/tracer.md, "Stops and the tracer's own syscalls per file").

Run: .venv/bin/python bench/trace_counts.py [CACHE_DIR] [ONLY...]
(ONLY: tar cp checkout postmark rm; needs strace, git, tar, postmark; in
$COWSNAP_TEST_BTRFS when it is there, as bench/rep_workloads.py)
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
from collections.abc import Callable
from pathlib import Path

import rep_workloads as rep
from benchlib import MOUNTS

TRACED = [sys.executable, str(Path(__file__).with_name("traced.py"))]
_ROW = re.compile(r"^\s*[\d.]+\s+[\d.]+\s+\d+\s+(\d+)\s+(?:\d+\s+)?(\w+)$")
COLUMNS = {
    "stops": ("ptrace",),
    "fd lookups": ("readlink", "readlinkat"),
    "stats": ("newfstatat", "lstat", "statx"),
    "memory reads": ("process_vm_readv",),
    "opens": ("openat", "open"),
}


def counts(argv: list[str], cwd: Path, env: dict[str, str]) -> dict[str, int]:
    """Syscall counts of the process running `argv` (strace -c, no -f)."""
    with tempfile.NamedTemporaryFile(prefix="trace-counts-") as log:
        subprocess.run(["strace", "-c", "-o", log.name, *argv], cwd=cwd, env=env, check=True,
                       capture_output=True)
        rows = (_ROW.match(line) for line in Path(log.name).read_text().splitlines())
        return {found[2]: int(found[1]) for found in rows if found}


def columns(calls: dict[str, int]) -> dict[str, float]:
    found = {name: float(sum(calls.get(call, 0) for call in names))
             for name, names in COLUMNS.items()}
    found["stops"] /= 2
    return found


def rm_workload(root: Path, tree: Path) -> rep.Workload:
    directory = root / "rm"
    directory.mkdir()

    def extract() -> None:
        shutil.rmtree(directory / "victim", ignore_errors=True)
        (directory / "victim").mkdir()
        with tarfile.open(tree) as archive:
            archive.extractall(directory / "victim", filter="data")

    return rep.Workload("rm -rf (the tree)", directory, lambda: ["rm", "-rf", "victim"], extract)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("cache", nargs="?", type=Path,
                        default=Path("/var/tmp/cowsnap-bench-cache"))
    parser.add_argument("only", nargs="*")
    options = parser.parse_args()
    missing = [tool for tool in ("strace", "git", "tar", "postmark") if shutil.which(tool) is None]
    if missing:
        raise SystemExit(f"missing tools: {' '.join(missing)} (apt-get install them)")
    options.cache.mkdir(parents=True, exist_ok=True)
    tree = rep.source_tree(options.cache)
    env = {**os.environ, **rep.GIT_ENV}
    # cp -r clones on btrfs (an ioctl, not stopped at) and copies elsewhere
    # (copy_file_range, a write on an fd): the REP workloads run on btrfs
    place = MOUNTS["btrfs"] if MOUNTS["btrfs"].is_dir() else Path("/var/tmp")
    with tempfile.TemporaryDirectory(prefix="trace-counts-", dir=place) as temporary:
        root = Path(temporary)
        start_up = columns(counts([*TRACED, "true"], root, env))
        makers: dict[str, Callable[[], rep.Workload]] = {
            "tar": lambda: rep.untar_workload(root, tree),
            "cp": lambda: rep.copy_workload(root, tree),
            "checkout": lambda: rep.checkout_workload(root, tree),
            "postmark": lambda: rep.postmark_workload(root),
            "rm": lambda: rm_workload(root, tree),
        }
        with tarfile.open(tree) as archive:
            files = sum(1 for member in archive if member.isfile())
        print(f"per file of the {files}-file tree (postmark: per file of its 3,000), "
              "cowsnap's trace() / strace:")
        print(f"{'workload':36s}" + "".join(f"{name:>22s}" for name in COLUMNS))
        for name in options.only or list(makers):
            workload = makers[name]()
            per = 3000 if name == "postmark" else files
            found = {}
            for tracer, prefix in (("cowsnap", TRACED), ("strace", rep.STRACE)):
                workload.reset()
                measured = columns(counts([*prefix, *workload.command()], workload.directory,
                                          env))
                if tracer == "cowsnap":
                    measured = {key: value - start_up[key] for key, value in measured.items()}
                found[tracer] = measured
            cowsnap, strace = found["cowsnap"], found["strace"]
            cells = "".join(f"{cowsnap[key] / per:>12.2f} /{strace[key] / per:>7.2f}"
                            for key in COLUMNS)
            print(f"{workload.name:36s}{cells}")


if __name__ == "__main__":
    main()
