"""Traced runs with `--versions`, in process: a workspace and a store in tmp_path, an
isolated home, the copy backend (versions do not depend on the snapshot)."""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

from cowsnap import api
from cowsnap.model import FileEntry, Manifest
from cowsnap.store.store import Store


@dataclass
class VersionedRun:
    manifest: Manifest
    store: Store

    def entry(self, path: Path) -> FileEntry:
        found = self.manifest.entry(bytes(path))
        assert found is not None, f"{path} is not in the manifest"
        return found

    def contents(self, path: Path) -> list[bytes]:
        """The content of each version of `path`, in version order."""
        versions = self.entry(path).versions
        assert all(version.blob for version in versions)
        return [self.store.read(version.blob) for version in versions if version.blob]


Runner = Callable[..., VersionedRun]


@pytest.fixture
def run_versions(tmp_path: Path, workspace: Path, isolated_home: Path) -> Runner:
    """Run a Python script (or any argv) traced with the given globs."""
    store_dir = tmp_path / "store"

    def run(script: str | Sequence[str], globs: Sequence[str],
            only_writes: bool = False) -> VersionedRun:
        command = [sys.executable, "-c", script] if isinstance(script, str) else list(script)
        result = api.run(api.RunRequest(command=command, workspace=workspace,
                                        store=store_dir, backend="copy", cwd=workspace,
                                        versions=tuple(globs), only_writes=only_writes))
        assert result.recording_error is None
        assert result.exit_status == 0
        assert result.manifest is not None
        return VersionedRun(result.manifest, Store.open(store_dir, create=False))

    return run
