"""Cost of keeping contents in the store, against reading the file once.

Decides how large contents are kept: compressed in the git object database,
or raw files (cloned when the store shares a reflink filesystem with the
source, else copied and hashed). Run as:

    .venv/bin/python bench/store.py [--size-mib 1024] [--runs 3]

COWSNAP_BENCH_REFLINK_DIR (default /var/tmp/cowsnap-dev/xfs) must be on a
reflink filesystem; COWSNAP_BENCH_OTHER_DIR (default /var/tmp) on another one.
Caches are warm (the file was just written): these are CPU and copy costs.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import tempfile
from pathlib import Path

from benchlib import median_seconds

from cowsnap.store import content as content_module
from cowsnap.store.keeping import ContentWriter
from cowsnap.store.store import Store


def keep(store: Store, path: bytes) -> str | None:
    """Keep one file the way a run does."""
    with ContentWriter(store.contents) as writer:
        return writer.keep_path(path)

CHUNK = 1 << 20


def read_once(path: Path) -> None:
    with path.open("rb", buffering=0) as handle:
        while handle.read(CHUNK):
            pass


def write_random(path: Path, size: int) -> None:
    with path.open("wb") as handle:
        for _ in range(size // CHUNK):
            handle.write(os.urandom(CHUNK))


class FreshStore:
    """A store recreated (empty) before each timed run."""

    def __init__(self, parent: Path) -> None:
        self.root = parent / "bench-store"
        self.store = Store.open(self.root)

    def reset(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)
        self.store = Store.open(self.root)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--sample-mib", type=int, default=128,
                        help="size stored compressed in the object database (extrapolated)")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--small-files", type=int, default=2000)
    options = parser.parse_args()
    reflink_dir = Path(os.environ.get("COWSNAP_BENCH_REFLINK_DIR", "/var/tmp/cowsnap-dev/xfs"))
    other_dir = Path(os.environ.get("COWSNAP_BENCH_OTHER_DIR", "/var/tmp"))
    size = options.size_mib * CHUNK
    runs = options.runs

    work = Path(tempfile.mkdtemp(prefix="cowsnap-bench-", dir=reflink_dir))
    elsewhere = Path(tempfile.mkdtemp(prefix="cowsnap-bench-", dir=other_dir))
    try:
        source = work / "large"
        write_random(source, size)
        raw_source = os.fsencode(source)
        results: dict[str, float] = {}
        results["read once"] = median_seconds(lambda: read_once(source), runs)

        def sha1_once() -> None:
            digest = hashlib.sha1(usedforsecurity=False)
            with source.open("rb", buffering=0) as handle:
                while chunk := handle.read(CHUNK):
                    digest.update(chunk)

        results["sha1 once"] = median_seconds(sha1_once, runs)

        reflinked = FreshStore(work)
        results["raw, cloned (same reflink fs, not hashed)"] = median_seconds(
            lambda: keep(reflinked.store, raw_source), runs, setup=reflinked.reset)
        copied = FreshStore(elsewhere)
        results["raw, hashed then copied (other fs)"] = median_seconds(
            lambda: keep(copied.store, raw_source), runs, setup=copied.reset)
        results["raw, other fs, already stored (dedup)"] = median_seconds(
            lambda: keep(copied.store, raw_source), runs)

        sample = source.read_bytes()[: options.sample_mib * CHUNK]
        scale = size / len(sample)
        seconds = median_seconds(
            lambda: copied.store.contents.put_bytes(sample), runs, setup=copied.reset)
        results[f"odb, deflated (x{scale:g} of {options.sample_mib} MiB)"] = seconds * scale

        small_dir = elsewhere / "small"
        small_dir.mkdir()
        for number in range(options.small_files):
            (small_dir / f"f{number}").write_bytes(os.urandom(2048) + b"%d" % number)
        paths = [os.fsencode(path) for path in small_dir.iterdir()]

        def store_small() -> None:
            for path in paths:
                keep(copied.store, path)

        small = median_seconds(store_small, runs, setup=copied.reset)

        base = results["read once"]
        print(f"storing one {options.size_mib} MiB file of random bytes "
              f"(median of {runs} runs, warm cache)")
        for name, seconds in results.items():
            print(f"  {name:<45} {seconds:8.3f} s   {seconds / base:6.2f} x read once")
        print(f"storing {options.small_files} files of 2 KiB (odb, loose): {small:.3f} s, "
              f"{small / options.small_files * 1e6:.0f} us per file")
        print(f"large contents threshold: {content_module.LARGE_CONTENT // CHUNK} MiB")
    finally:
        shutil.rmtree(work, ignore_errors=True)
        shutil.rmtree(elsewhere, ignore_errors=True)


if __name__ == "__main__":
    main()
