"""A store on a real, tiny, loop-mounted filesystem that fills up while a run is recorded:
a clear error, the command's own exit status, nothing half-written."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.run.conftest import Cowsnap


@pytest.fixture
def small_filesystem(tmp_path: Path, root_required: None) -> Iterator[Path]:
    """A 64 MiB ext4 image, loop-mounted; unmounted and removed afterwards."""
    image = tmp_path / "small.img"
    mount_point = tmp_path / "small"
    mount_point.mkdir()
    with image.open("wb") as handle:
        handle.truncate(64 * 1024 * 1024)
    subprocess.run(["mkfs.ext4", "-q", "-F", str(image)], check=True, timeout=60)
    subprocess.run(["mount", "-o", "loop", str(image), str(mount_point)], check=True,
                   timeout=60)
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", str(mount_point)], check=True, timeout=60)


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
