"""The restore tests' fixtures: a CLI runner with its own store, an ext4 workspace."""

from __future__ import annotations

from tests.restore.conftest import cowsnap, ext4_workspace

__all__ = ["cowsnap", "ext4_workspace"]
