"""A store on a real, tiny, loop-mounted filesystem that fills up while a run is recorded:
a clear error, the command's own exit status, nothing half-written."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from cowsnap.store.store import Store
from tests.conftest import Cowsnap


@pytest.mark.timeout(120)
def test_a_full_store_keeps_the_commands_status_and_half_of_nothing(
        small_filesystem: Path, ext4_dir: Path, tmp_path: Path) -> None:
    cowsnap = Cowsnap(home=tmp_path, store=small_filesystem / "store")
    cowsnap("run", "--", "sh", "-c", "echo small > small.txt", cwd=ext4_dir)
    result = cowsnap("run", "--", "sh", "-c",
                     "head -c 100M /dev/urandom > big.bin; echo kept > other.txt; exit 3",
                     cwd=ext4_dir, check=False)
    assert result.returncode == 3, result.stderr.decode()
    errors = [line for line in result.stderr.decode().splitlines() if "error" in line]
    assert errors == ["cowsnap: error: the run was not recorded: no space left while trying "
                      "to store a large content"]
    assert (ext4_dir / "big.bin").stat().st_size == 100 * 1024 * 1024
    store = small_filesystem / "store"
    assert list((store / "incomplete").iterdir()) == []
    assert list((store / "tmp").iterdir()) == []
    assert [run["command"][-1] for run in json.loads(
        cowsnap("log", "--json", cwd=ext4_dir).stdout)] == ["echo small > small.txt"]
    report = json.loads(cowsnap("check", "--json", cwd=ext4_dir).stdout)
    assert report["ok"] and report["runs"] == 1


@pytest.mark.timeout(120)
def test_a_store_filling_up_with_small_contents(small_filesystem: Path, ext4_dir: Path,
                                                tmp_path: Path) -> None:
    """The run's pack runs out of space, not one large file; the failed run leaves
    no content behind (its pack is dropped, not left for prune)."""
    cowsnap = Cowsnap(home=tmp_path, store=small_filesystem / "store")
    cowsnap("run", "--", "sh", "-c", "echo small > small.txt", cwd=ext4_dir)
    space = os.statvfs(small_filesystem)
    filler = small_filesystem / "filler"
    with filler.open("wb") as handle:
        os.posix_fallocate(handle.fileno(), 0, space.f_bfree * space.f_frsize - 2 * 1024 * 1024)
    script = "head -c 4M /dev/urandom | split -b 4096 - part.; exit 5"
    result = cowsnap("run", "--", "sh", "-c", script, cwd=ext4_dir, check=False)
    assert result.returncode == 5, result.stderr.decode()
    errors = [line for line in result.stderr.decode().splitlines() if "error" in line]
    assert len(errors) == 1, errors
    assert errors[0].startswith("cowsnap: error: the run was not recorded: no space left "
                                "while trying to store a content")
    store = small_filesystem / "store"
    assert list((store / "incomplete").iterdir()) == []
    filler.unlink()
    report = json.loads(cowsnap("check", "--json", cwd=ext4_dir).stdout)
    assert report["ok"] and report["runs"] == 1
    pruned = json.loads(cowsnap("prune", "--json", cwd=ext4_dir).stdout)
    assert pruned["reclaimed_contents"] == 0
    assert list((store / "tmp").iterdir()) == []
    assert not list(Store.open(store, create=False).contents.pack_dir.glob("*.pack"))
