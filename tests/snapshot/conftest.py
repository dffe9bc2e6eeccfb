"""Workspaces for each backend on the real filesystem it is meant for."""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import sh

from cowsnap.snapshot.base import Backend
from cowsnap.snapshot.registry import backend_named

TMPFS = Path("/dev/shm")


def wait_until_deleted(staging: Path, names: set[str] | None = None) -> None:
    """Wait for the detached process that deletes a released snapshot (`release` returns
    once it has taken the snapshot over, not once it is gone): `names` in `staging`, or
    everything in it, gone. Fails after 100 s, before pytest's own time-out (120 s) would
    hide what was left."""
    deadline = time.monotonic() + 100
    while (left := set(os.listdir(staging))) and (names is None or names & left):
        assert time.monotonic() < deadline, f"the released snapshot was never deleted: {left}"
        time.sleep(0.05)


@dataclass(frozen=True)
class Case:
    """A backend and the filesystem its workspace lives on."""

    backend: str
    filesystem: str

    @property
    def id(self) -> str:
        return f"{self.backend}-on-{self.filesystem}"


CASES = [
    Case("btrfs", "btrfs-subvolume"),
    Case("reflink", "xfs"),
    Case("reflink", "btrfs-directory"),
    Case("copy", "ext4"),
    Case("copy", "tmpfs"),
]


def _tmpfs_dir() -> Iterator[Path]:
    if not os.path.ismount(TMPFS):
        pytest.fail(f"no tmpfs mounted at {TMPFS}")
    path = Path(tempfile.mkdtemp(prefix="cowsnap-test-", dir=TMPFS))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def btrfs_subvolume(parent: Path, name: str = "workspace") -> Path:
    subvolume = parent / name
    sh.btrfs("subvolume", "create", str(subvolume), _timeout=30)
    return subvolume


FIXTURE_OF = {"btrfs-subvolume": "btrfs_dir", "btrfs-directory": "btrfs_dir",
              "xfs": "xfs_dir", "ext4": "ext4_dir"}


def _workspace_for(case: Case, request: pytest.FixtureRequest) -> Iterator[Path]:
    request.getfixturevalue("root_required")
    if case.filesystem == "tmpfs":
        yield from _tmpfs_dir()
        return
    directory: Path = request.getfixturevalue(FIXTURE_OF[case.filesystem])
    if case.filesystem != "btrfs-subvolume":
        yield directory
        return
    subvolume = btrfs_subvolume(directory)
    try:
        yield subvolume
    finally:
        sh.btrfs("subvolume", "delete", str(subvolume), _timeout=30)


@pytest.fixture(params=CASES, ids=lambda case: case.id)
def case(request: pytest.FixtureRequest) -> Case:
    return request.param  # type: ignore[no-any-return]


@pytest.fixture
def workspace(case: Case, isolated_home: Path,
              request: pytest.FixtureRequest) -> Iterator[Path]:
    yield from _workspace_for(case, request)


@pytest.fixture
def backend(case: Case) -> Backend:
    return backend_named(case.backend)


@pytest.fixture
def subvolume(btrfs_dir: Path) -> Iterator[Path]:
    """A fresh btrfs subvolume, deleted afterwards."""
    created = btrfs_subvolume(btrfs_dir)
    try:
        yield created
    finally:
        sh.btrfs("subvolume", "delete", str(created), _timeout=30)
