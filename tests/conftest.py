"""The real-filesystem test bed.

tests/run-all.sh mounts loop images and exports their mount points:
COWSNAP_TEST_BTRFS, COWSNAP_TEST_XFS (mkfs -m reflink=1) and COWSNAP_TEST_EXT4.
A test that needs one of them, or root, skips on a developer machine without it
and fails under CI (CI=true), so a broken test bed can never pass as green.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}

FILESYSTEM_ENV = {
    "btrfs": "COWSNAP_TEST_BTRFS",
    "xfs": "COWSNAP_TEST_XFS",
    "ext4": "COWSNAP_TEST_EXT4",
}


def missing_environment(reason: str) -> None:
    """Fail under CI, skip elsewhere."""
    if IN_CI:
        pytest.fail(f"test environment incomplete under CI: {reason}")
    pytest.skip(reason)


def require_root() -> None:
    if os.geteuid() != 0:
        missing_environment("needs root")


def mount_point(kind: str) -> Path:
    """The mounted test filesystem of `kind` ("btrfs", "xfs", "ext4")."""
    variable = FILESYSTEM_ENV[kind]
    value = os.environ.get(variable)
    if not value or not os.path.ismount(value):
        missing_environment(f"no {kind} test filesystem (set {variable}; tests/run-all.sh does)")
    return Path(value)  # type: ignore[arg-type]


def fresh_dir_on(kind: str) -> Iterator[Path]:
    """A new empty directory on the test filesystem of `kind`, removed afterwards."""
    if kind == "tmp":
        path = Path(tempfile.mkdtemp(prefix="cowsnap-test-"))
    else:
        path = Path(tempfile.mkdtemp(prefix="cowsnap-test-", dir=mount_point(kind)))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def btrfs_dir() -> Iterator[Path]:
    yield from fresh_dir_on("btrfs")


@pytest.fixture
def xfs_dir() -> Iterator[Path]:
    yield from fresh_dir_on("xfs")


@pytest.fixture
def ext4_dir() -> Iterator[Path]:
    yield from fresh_dir_on("ext4")


@pytest.fixture
def root_required() -> None:
    require_root()


@pytest.fixture
def isolated_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """HOME, XDG dirs and the store pointed into tmp_path, so tests never touch the real ones."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_DATA_HOME", str(home / ".local" / "share"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.delenv("COWSNAP_STORE", raising=False)
    return home
