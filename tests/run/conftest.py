"""Workspaces on each real backend, and a runner for the installed `cowsnap` CLI.

`cowsnap run` passes the command's stdio through at the file-descriptor level,
so these tests run the real CLI in a subprocess rather than click's CliRunner.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import fresh_dir_on, require_root


@dataclass
class Cowsnap:
    """Runs `python -m cowsnap` with an isolated home, config and store."""

    home: Path
    store: Path

    def env(self) -> dict[str, str]:
        env = {key: value for key, value in os.environ.items() if not key.startswith("GIT_")}
        env.update(HOME=str(self.home), XDG_CONFIG_HOME=str(self.home / ".config"),
                   XDG_CACHE_HOME=str(self.home / ".cache"),
                   XDG_DATA_HOME=str(self.home / ".local" / "share"),
                   COWSNAP_STORE=str(self.store), LC_ALL="C.UTF-8")
        return env

    def __call__(self, *args: str | bytes, cwd: Path, timeout: float = 60,
                 check: bool = True) -> subprocess.CompletedProcess[bytes]:
        result = subprocess.run([sys.executable, "-m", "cowsnap", *args], cwd=cwd,
                                env=self.env(), capture_output=True, timeout=timeout)
        if check and result.returncode != 0:
            raise AssertionError(
                f"cowsnap {args!r} exited {result.returncode}: {result.stderr.decode()}")
        return result


@pytest.fixture
def cowsnap(tmp_path: Path) -> Cowsnap:
    home = tmp_path / "home"
    home.mkdir()
    return Cowsnap(home=home, store=tmp_path / "store")


def btrfs_workspace() -> Iterator[Path]:
    require_root()
    for parent in fresh_dir_on("btrfs"):
        workspace = parent / "workspace"
        subprocess.run(["btrfs", "-q", "subvolume", "create", str(workspace)], check=True)
        try:
            yield workspace
        finally:
            shutil.rmtree(workspace, ignore_errors=True)
            subprocess.run(["btrfs", "-q", "subvolume", "delete", str(workspace)],
                           check=False, capture_output=True)


def plain_workspace(kind: str) -> Iterator[Path]:
    for parent in fresh_dir_on(kind):
        workspace = parent / "workspace"
        workspace.mkdir()
        yield workspace


BACKEND_FILESYSTEMS = {"btrfs": "btrfs", "reflink": "xfs", "copy": "ext4"}


@pytest.fixture(params=list(BACKEND_FILESYSTEMS))
def backend_workspace(request: pytest.FixtureRequest) -> Iterator[tuple[str, Path]]:
    """(backend name, a fresh workspace on the filesystem that backend is meant for)."""
    backend = request.param
    if backend == "btrfs":
        yield from ((backend, workspace) for workspace in btrfs_workspace())
    else:
        kind = BACKEND_FILESYSTEMS[backend]
        yield from ((backend, workspace) for workspace in plain_workspace(kind))
