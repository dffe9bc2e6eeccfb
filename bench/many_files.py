"""One run that creates many small files (100,000 by default): its time against
`strace -f` on the same command (target: within 2x), and cowsnap's peak memory
(target: under 150 MiB).

The command (Debian's python3) creates FILES files of about 100 bytes, 1,000 to a
directory, in a fresh btrfs subvolume ($COWSNAP_TEST_BTRFS); cowsnap's store is on
$COWSNAP_TEST_EXT4, new for each run (every content new to it). Modes interleaved:
untraced, `strace -f --seccomp-bpf -e trace=%file`, `cowsnap run`; medians of RUNS.
Peak memory is the largest resident set of the cowsnap process (wait4's rusage).

Run as root: .venv/bin/python bench/many_files.py [FILES] [RUNS]
"""

from __future__ import annotations

import os
import re
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

from benchlib import MOUNTS

CREATE = """
import os, sys
count = int(sys.argv[1])
for index in range(count):
    if index % 1000 == 0:
        directory = "d%03d" % (index // 1000)
        os.mkdir(directory)
    with open("%s/f%06d.txt" % (directory, index), "w") as handle:
        handle.write("file %d of a run that creates many small files\\n" % index * 2)
"""
STRACE = ["strace", "-f", "--seccomp-bpf", "-e", "trace=%file", "-o", "/dev/null"]
MODES = ("untraced", "strace", "cowsnap")


def timed(command: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, int, str]:
    """Wall seconds, peak RSS in KiB, stderr of `command`."""
    start = time.perf_counter()
    process = subprocess.Popen(command, cwd=cwd, env=env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE)
    assert process.stderr is not None
    stderr = process.stderr.read()
    _pid, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    seconds = time.perf_counter() - start
    if process.returncode != 0:
        raise SystemExit(f"{command[:4]} failed: {stderr.decode(errors='replace')[-2000:]}")
    return seconds, usage.ru_maxrss, stderr.decode(errors="replace")


def main() -> None:
    files = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    runs = int(sys.argv[2]) if len(sys.argv) > 2 else 1
    print("load:", os.getloadavg(), "(rerun on a quiet machine)")
    parent = MOUNTS["btrfs"] / f"many-files-{os.getpid()}"
    store = MOUNTS["ext4"] / f"many-files-store-{os.getpid()}"
    env = {key: value for key, value in os.environ.items() if key != "PYTHONDONTWRITEBYTECODE"}
    env["XDG_CONFIG_HOME"] = str(store / "config")
    subprocess.run(["btrfs", "-q", "subvolume", "create", str(parent)], check=True)
    walls: dict[str, list[float]] = {mode: [] for mode in MODES}
    peaks: list[int] = []
    recording: list[str] = []
    try:
        for number in range(runs):
            for mode in MODES:
                workspace = parent / f"{mode}{number}"
                workspace.mkdir()
                command = ["/usr/bin/python3", "-c", CREATE, str(files)]
                if mode == "strace":
                    command = [*STRACE, *command]
                elif mode == "cowsnap":
                    shutil.rmtree(store / "store", ignore_errors=True)
                    cowsnap = [sys.executable, "-m", "cowsnap", "run", "--store",
                               str(store / "store"), "--workspace", str(workspace), "--"]
                    subprocess.run([*cowsnap, "true"], cwd=workspace, env=env, check=True,
                                   capture_output=True)
                    command = [*cowsnap, *command]
                subprocess.run(["sync"], check=True)
                seconds, peak, stderr = timed(command, workspace, env)
                walls[mode].append(seconds)
                if mode == "cowsnap":
                    peaks.append(peak)
                    recording += re.findall(r"cowsnap: time: .*", stderr)
                shutil.rmtree(workspace)
    finally:
        shutil.rmtree(store, ignore_errors=True)
        subprocess.run(["btrfs", "-q", "subvolume", "delete", str(parent)], check=False,
                       capture_output=True)
    medians = {mode: statistics.median(values) for mode, values in walls.items()}
    print(f"{files} files created in one run, median of {runs}:")
    for mode in MODES:
        print(f"  {mode:9s} {medians[mode]:7.2f} s  x{medians[mode] / medians['untraced']:.1f}"
              " untraced")
    print(f"  cowsnap / strace: x{medians['cowsnap'] / medians['strace']:.2f} (target <= 2)")
    print(f"  cowsnap peak RSS: {max(peaks) / 1024:.0f} MiB (target < 150)")
    for line in recording:
        print(f"  {line}")
    print("load:", os.getloadavg())


if __name__ == "__main__":
    main()
