"""Publishing a run: what `PendingRun.publish` costs, this checkout against another.

For each filesystem (FS arguments, default: /var/tmp and the $COWSNAP_TEST_* mounts
that are set), times `begin` + `publish` of a run that stored no content (as
`cowsnap run -- true`) and of one that stored 10 small new contents (their
`put_bytes` happens before the clock starts: only publishing, which flushes them,
is timed), ROUNDS rounds of 5 publishes each, this checkout and the BASELINE
checkout (for example `git archive <commit> | tar x -C DIR`) interleaved round by
round in child processes. With `--load`, a writer keeps dirtying 64 MiB files on
the same filesystem meanwhile (no fsync: "disk under load"), where flushes cost the
most. Prints the median ms of a publish and the ratio this / baseline.

Run: .venv/bin/python bench/publish.py --baseline DIR [--load] [--rounds N] [FS ...]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent.parent
PUBLISHES = 5
CASES = ("no contents", "10 contents")


def measure(filesystem: Path, case: str) -> list[float]:
    """Seconds of each of PUBLISHES publishes into a new store on `filesystem`."""
    from cowsnap.model import Manifest
    from cowsnap.store.runs import new_run_id
    from cowsnap.store.store import Store

    scratch = Path(tempfile.mkdtemp(prefix="bench-publish-", dir=filesystem))
    try:
        store = Store.open(scratch / "store")
        seconds = []
        for _ in range(PUBLISHES):
            run_id = new_run_id()
            pending = store.runs.begin(run_id)
            if case == "10 contents":
                for _ in range(10):
                    store.contents.put_bytes(os.urandom(2000))
            manifest = Manifest(
                run_id=run_id, tool_version="0", command=("true",), exit_status=0,
                start_cwd="/w", workspace="/w", backend="copy", uid=0, gid=0,
                started_at="2026-11-30T16:00:00Z", finished_at="2026-11-30T16:00:00Z",
                files=())
            clock = time.perf_counter()
            pending.publish(manifest)
            seconds.append(time.perf_counter() - clock)
        return seconds
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def child(checkout: Path, filesystem: Path, case: str, environ: dict[str, str]) -> list[float]:
    """`measure` run by a Python that imports cowsnap from `checkout`."""
    done = subprocess.run(
        [sys.executable, __file__, "--measure", str(filesystem), case],
        env={**environ, "PYTHONPATH": str(checkout)}, capture_output=True, check=True)
    found = json.loads(done.stdout)
    if not Path(found["cowsnap"]).is_relative_to(checkout.resolve()):
        sys.exit(f"the child imported {found['cowsnap']}, not the checkout {checkout}")
    seconds: list[float] = found["seconds"]
    return seconds


def dirty_writer(filesystem: Path, stop: threading.Event) -> None:
    """Keep rewriting a 64 MiB file on `filesystem` (page cache, no fsync) until `stop`."""
    block = os.urandom(1 << 20)
    path = filesystem / f".bench-publish-load-{os.getpid()}"
    try:
        while not stop.is_set():
            with open(path, "wb") as handle:
                for _ in range(64):
                    handle.write(block)
    finally:
        path.unlink(missing_ok=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", type=Path, required=True)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--load", action="store_true")
    parser.add_argument("filesystems", nargs="*", type=Path)
    arguments = parser.parse_args()
    filesystems = arguments.filesystems or [Path("/var/tmp")] + [
        Path(os.environ[name]) for name in ("COWSNAP_TEST_EXT4", "COWSNAP_TEST_XFS",
                                            "COWSNAP_TEST_BTRFS") if os.environ.get(name)]
    print("load:", os.getloadavg(), "(rerun on a quiet machine);",
          "a writer dirties the filesystem meanwhile" if arguments.load else "no writer")
    with tempfile.TemporaryDirectory() as state:
        environ = {**os.environ, "XDG_STATE_HOME": state}  # an origin key: origin is written
        for filesystem in filesystems:
            stop = threading.Event()
            writer = threading.Thread(target=dirty_writer, args=(filesystem, stop))
            if arguments.load:
                writer.start()
            try:
                timings: dict[tuple[str, str], list[float]] = {}
                for _ in range(arguments.rounds):
                    for case in CASES:
                        for name, checkout in (("this", HERE), ("baseline", arguments.baseline)):
                            timings.setdefault((name, case), []).extend(
                                child(checkout, filesystem, case, environ))
            finally:
                stop.set()
                if arguments.load:
                    writer.join()
            for case in CASES:
                this = statistics.median(timings["this", case]) * 1000
                baseline = statistics.median(timings["baseline", case]) * 1000
                print(f"{filesystem} {case}: publish {this:.2f} ms, baseline {baseline:.2f} ms,"
                      f" x{this / baseline:.2f}")


if __name__ == "__main__":
    if sys.argv[1:2] == ["--measure"]:
        import cowsnap

        print(json.dumps({"cowsnap": cowsnap.__file__,
                          "seconds": measure(Path(sys.argv[2]), sys.argv[3])}))
    else:
        main()
