"""Cost of recording a run that changes one byte of a 1 GiB file, against reading it once.

The workspace holds one large file on a reflink filesystem; a minimal lazy
snapshot clones it at the pre-mutation hook (as the reflink backend does). The
recorder then keeps its before- and after-content. The store is either on the
same filesystem (contents cloned) or on another (contents copied).

    .venv/bin/python bench/store_record.py [--size-mib 1024] [--runs 3]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from cowsnap.libc import clone
from cowsnap.model import Operation
from cowsnap.record.ignore import IgnoreRules
from cowsnap.record.policy import CaptureSettings
from cowsnap.record.recorder import Recorder, RunFacts
from cowsnap.snapshot.base import Snapshot
from cowsnap.store.store import Store
from cowsnap.trace.events import PathEvent

CHUNK = 1 << 20


class ClonedFileSnapshot(Snapshot):
    """Clones each path at its first capture, like the reflink backend."""

    backend = "bench-reflink"

    def __init__(self, workspace: Path, keep: Path) -> None:
        super().__init__(workspace)
        self._keep = keep
        keep.mkdir()

    def _kept(self, path: bytes) -> bytes:
        return os.path.join(os.fsencode(self._keep), os.path.basename(path))

    def capture(self, path: bytes, *, subtree: bool = False) -> None:
        if os.path.lexists(self._kept(path)):
            return
        with open(path, "rb") as source, open(self._kept(path), "wb") as target:
            clone(source.fileno(), target.fileno())
        shutil.copystat(path, self._kept(path))

    def where(self, path: bytes) -> bytes | None:
        kept = self._kept(path)
        return kept if os.path.lexists(kept) else path

    def release(self) -> None:
        shutil.rmtree(self._keep, ignore_errors=True)

    @property
    def location(self) -> Path | None:
        return self._keep


def read_once(path: Path) -> None:
    with path.open("rb", buffering=0) as handle:
        while handle.read(CHUNK):
            pass


def one_run(workspace: Path, big: Path, store_root: Path) -> tuple[float, float]:
    """(seconds in the pre-mutation hook, seconds in finish) for one byte changed."""
    shutil.rmtree(store_root, ignore_errors=True)
    store = Store.open(store_root)
    snapshot = ClonedFileSnapshot(workspace, workspace.parent / "snapshot")
    recorder = Recorder(workspace=workspace, snapshot=snapshot, store=store,
                        ignores=IgnoreRules(()), settings=CaptureSettings(max_file_size=None))
    event = PathEvent(pid=1, tid=1, syscall="openat", operation=Operation.WRITE,
                      path=os.fsencode(big), result=0)
    started = time.perf_counter()
    recorder.before_mutation(event)
    hooked = time.perf_counter()
    with big.open("r+b") as handle:
        handle.seek(12345)
        handle.write(os.urandom(1))
    recorder.on_event(event)
    finishing = time.perf_counter()
    manifest = recorder.finish(RunFacts("20261121T093012Z-000000", ("bench",), 0, "/", "", "",
                                        0, 0))
    store.runs.begin(manifest.run_id).publish(manifest)
    done = time.perf_counter()
    snapshot.release()
    return hooked - started, done - finishing


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--runs", type=int, default=3)
    options = parser.parse_args()
    reflink_dir = Path(os.environ.get("COWSNAP_BENCH_REFLINK_DIR", "/var/tmp/cowsnap-dev/xfs"))
    other_dir = Path(os.environ.get("COWSNAP_BENCH_OTHER_DIR", "/var/tmp"))
    work = Path(tempfile.mkdtemp(prefix="cowsnap-bench-", dir=reflink_dir))
    elsewhere = Path(tempfile.mkdtemp(prefix="cowsnap-bench-", dir=other_dir))
    try:
        workspace = work / "workspace"
        workspace.mkdir()
        big = workspace / "big"
        with big.open("wb") as handle:
            for _ in range(options.size_mib):
                handle.write(os.urandom(CHUNK))
        os.sync()
        reads = []
        for _ in range(options.runs):
            started = time.perf_counter()
            read_once(big)
            reads.append(time.perf_counter() - started)
        base = statistics.median(reads)
        print(f"one byte changed in a {options.size_mib} MiB file "
              f"(median of {options.runs} runs, warm cache)")
        print(f"  {'read once':<34} {base:7.3f} s")
        for name, store_root in (("store on the same XFS (clone)", work / "store"),
                                 ("store on another fs (copy)", elsewhere / "store")):
            samples = [one_run(workspace, big, store_root) for _ in range(options.runs)]
            hook = statistics.median(sample[0] for sample in samples)
            finish = statistics.median(sample[1] for sample in samples)
            print(f"  {name:<34} hook {hook:6.3f} s, finish {finish:6.3f} s "
                  f"= {(hook + finish) / base:6.1f} x read once")
    finally:
        shutil.rmtree(work, ignore_errors=True)
        shutil.rmtree(elsewhere, ignore_errors=True)


if __name__ == "__main__":
    main()
