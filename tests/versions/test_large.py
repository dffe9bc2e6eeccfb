"""Large versions on real filesystems: cloned into the store where the filesystem can
(XFS with reflink), elsewhere (ext4) set aside and stored after the run; the size
cap only limits copying."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from cowsnap import api
from cowsnap.model import TOO_LARGE, Version
from cowsnap.record.policy import CaptureSettings
from cowsnap.store.content import LARGE_CONTENT
from cowsnap.store.store import Store
from tests.conftest import fresh_dir_on

MIB = 1024 * 1024
WRITER = """
import os
for i in range(3):
    fd = os.open("big.bin", os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
    os.write(fd, bytes([65 + i]) * (2 * 1024 * 1024) + b"%d" % i)
    os.close(fd)
"""
EXPECTED = [bytes([65 + i]) * (2 * MIB) + b"%d" % i for i in range(3)]


@pytest.fixture(params=["xfs", "ext4"])
def filesystem(request: pytest.FixtureRequest) -> Iterator[tuple[str, Path]]:
    kind: str = request.param
    for directory in fresh_dir_on(kind):
        yield kind, directory


def run_writer(directory: Path, max_file_size: int | None) -> tuple[tuple[Version, ...], Store]:
    workspace = directory / "workspace"
    workspace.mkdir()
    store_dir = directory / "store"
    result = api.run(api.RunRequest(
        command=[sys.executable, "-c", WRITER], workspace=workspace, store=store_dir,
        backend="copy", cwd=workspace, versions=("*.bin",),
        capture=CaptureSettings(max_file_size=max_file_size)))
    assert result.exit_status == 0 and result.manifest is not None
    entry = result.manifest.entry(bytes(workspace / "big.bin"))
    assert entry is not None
    return entry.versions, Store.open(store_dir, create=False)


def test_large_versions_are_kept_exactly(filesystem: tuple[str, Path],
                                         isolated_home: Path) -> None:
    kind, directory = filesystem
    versions, store = run_writer(directory, None)
    blobs = [version.blob for version in versions]
    assert [store.read(blob) for blob in blobs if blob] == EXPECTED
    cloned = all(blob and blob.startswith("large-") for blob in blobs)
    assert cloned is (kind == "xfs")
    assert list(store.contents.scratch.iterdir()) == []


def test_the_size_cap_limits_copying_not_cloning(filesystem: tuple[str, Path],
                                                 isolated_home: Path) -> None:
    kind, directory = filesystem
    versions, store = run_writer(directory, MIB)
    if kind == "xfs":
        assert [store.read(v.blob) for v in versions if v.blob] == EXPECTED
    else:
        kept = [(v.blob, v.not_captured, v.size) for v in versions]
        assert kept == [(None, TOO_LARGE, 2 * MIB + 1)] * 3


def test_a_store_on_another_filesystem_gets_every_large_version(
        ext4_dir: Path, xfs_dir: Path, isolated_home: Path) -> None:
    # workspace on ext4, store on XFS: no clone from the workspace, so each version is
    # copied aside into the store, which then clones the copy under an id of its own
    workspace = ext4_dir / "workspace"
    workspace.mkdir()
    size = LARGE_CONTENT + 1
    writer = f"""
import os
for i in range(2):
    with open("huge.bin", "wb") as handle:
        handle.write(bytes([65 + i]) * {size})
"""
    result = api.run(api.RunRequest(
        command=[sys.executable, "-c", writer], workspace=workspace, store=xfs_dir / "store",
        backend="copy", cwd=workspace, versions=("huge.bin",)))
    assert result.recording_error is None and result.manifest is not None
    entry = result.manifest.entry(bytes(workspace / "huge.bin"))
    assert entry is not None and len(entry.versions) == 2
    store = Store.open(xfs_dir / "store", create=False)
    for index, version in enumerate(entry.versions):
        assert version.blob is not None and version.blob.startswith("large-")
        assert version.size == size
        content = store.read(version.blob)
        assert len(content) == size and set(content) == {65 + index}
    assert list(store.contents.scratch.iterdir()) == []
