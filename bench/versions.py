"""The cost of `cowsnap run --versions`: per captured version, for 4 KiB and 4 MiB files.

A writer rewrites one file N times (O_TRUNC, one write, close), each time with a
distinct content. The same traced run with and without `--versions` on that file
(a fresh store each time, so nothing is deduplicated away): the difference divided
by N is what one version costs (the extra stops at close, reading the file,
hashing and compressing it into the store), in all and for the writer alone (the
tracing phase: contents set aside are stored after it). The untraced writer is
shown too.

Run: .venv/bin/python bench/versions.py [RUNS]
On each of the development filesystems that is mounted ($COWSNAP_TEST_EXT4, _XFS,
_BTRFS; default /var/tmp/cowsnap-dev/KIND), workspace and store side by side:
versions of 1 MiB and more are cloned where the filesystem can (XFS, btrfs).
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from functools import partial
from pathlib import Path

from benchlib import MOUNTS

from cowsnap import api

WRITER = """
import os, sys
size, count = int(sys.argv[1]), int(sys.argv[2])
block = os.urandom(size - 8)
for i in range(count):
    fd = os.open("data.bin", os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
    os.write(fd, i.to_bytes(8, "big") + block)
    os.close(fd)
"""

CASES = ((4 * 1024, 500), (4 * 1024 * 1024, 40))


def traced(workspace: Path, scratch: Path, command: list[str],
           globs: tuple[str, ...]) -> float:
    """Run traced; return the seconds of the tracing phase (the writer's own time)."""
    store = Path(tempfile.mkdtemp(dir=scratch))
    result = api.run(api.RunRequest(command=command, workspace=workspace, store=store,
                                    backend="copy", cwd=workspace, versions=globs))
    if result.exit_status != 0 or result.recording_error is not None:
        raise SystemExit(f"run failed: {result.exit_status} {result.recording_error}")
    if globs:
        entry = result.manifest.entry(bytes(workspace / "data.bin")) if result.manifest else None
        count = int(command[-1])
        if entry is None or len(entry.versions) != count:
            raise SystemExit("not every version was captured")
    subprocess.run(["rm", "-rf", str(store)], check=True)
    return result.timings["tracing"]


def measure(parent: Path, runs: int) -> None:
    """Interleaved runs (untraced, traced, traced with versions), so that writeback
    and cache noise spreads evenly over the three."""
    with tempfile.TemporaryDirectory(dir=parent) as temporary:
        scratch = Path(temporary)
        os.environ["XDG_CONFIG_HOME"] = str(scratch / "config")
        workspace = scratch / "workspace"
        workspace.mkdir()
        for size, count in CASES:
            command = [sys.executable, "-c", WRITER, str(size), str(count)]
            actions = {
                "untraced": partial(subprocess.run, command, cwd=workspace, check=True),
                "traced": partial(traced, workspace, scratch, command, ()),
                "versions": partial(traced, workspace, scratch, command, ("data.bin",)),
            }
            timings: dict[str, list[float]] = {name: [] for name in actions}
            tracing: dict[str, list[float]] = {"traced": [], "versions": []}
            for _ in range(runs):
                for name, action in actions.items():
                    start = time.perf_counter()
                    phase = action()
                    timings[name].append(time.perf_counter() - start)
                    if isinstance(phase, float):
                        tracing[name].append(phase)
            untraced, without, with_versions = (statistics.median(timings[name])
                                                for name in actions)
            held = statistics.median(tracing["versions"]) - statistics.median(tracing["traced"])
            per_version = (with_versions - without) / count
            label = f"{size // 1024} KiB" if size < 1024 * 1024 else f"{size // 1024**2} MiB"
            print(f"  {label} x {count}: untraced {untraced:.3f} s, traced {without:.3f} s, "
                  f"with --versions {with_versions:.3f} s "
                  f"({with_versions / without:.2f}x traced); per version "
                  f"{per_version * 1000:.2f} ms in all, of which the writer waits "
                  f"{held / count * 1000:.2f} ms")


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    print(f"median of {runs} runs")
    for kind in ("ext4", "xfs", "btrfs"):
        if MOUNTS[kind].is_dir():
            print(f"{kind} ({MOUNTS[kind]}):")
            measure(MOUNTS[kind], runs)


if __name__ == "__main__":
    main()
