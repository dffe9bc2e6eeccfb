"""Fixtures of the store tests: an opened store, and a tiny tmpfs to fill up."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import sh

from cowsnap.store.store import Store


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store.open(tmp_path / "store")


@pytest.fixture
def tiny_filesystem(tmp_path: Path, root_required: None) -> Iterator[Path]:
    """A 1 MiB tmpfs, unmounted afterwards."""
    mount_point = tmp_path / "tiny"
    mount_point.mkdir()
    sh.mount("-t", "tmpfs", "-o", "size=1m,mode=0700", "tmpfs", str(mount_point), _timeout=10)
    try:
        yield mount_point
    finally:
        sh.umount(str(mount_point), _timeout=10)
