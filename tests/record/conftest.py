"""Fixtures of the recorder tests: a workspace and a store in tmp_path."""

from __future__ import annotations

from pathlib import Path

import pytest

from cowsnap.store.store import Store


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store.open(tmp_path / "store")
