"""Staging directories planted by another user (issue 10, item 4): a symlink at
`<mount>/.cowsnap-snapshots/<uid>` never makes root chmod (or write into) its target,
and a `.cowsnap-snapshots` the attacker owns is not used at all."""

from __future__ import annotations

import os
import stat
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from cowsnap.snapshot.staging import HIDDEN_NAME, staging_dir
from tests.attacker import as_attacker, tree_digest
from tests.conftest import Cowsnap


@pytest.fixture
def shared_mount(tmp_path: Path, root_required: None) -> Iterator[Path]:
    """A fresh tmpfs whose top is writable by everyone (sticky, like /tmp)."""
    mount_point = tmp_path / "shared"
    mount_point.mkdir()
    os.chmod(tmp_path, 0o755)
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=8m,mode=1777", "tmpfs",
                    str(mount_point)], check=True, timeout=10)
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", str(mount_point)], check=True, timeout=10)


@pytest.fixture
def victim(shared_mount: Path) -> Path:
    """A root-owned directory (0755) the attacker wants root to chmod."""
    directory = shared_mount / "victim"
    directory.mkdir(mode=0o755)
    os.chmod(directory, 0o755)
    (directory / "config").write_text("keep me\n")
    return directory


def _workspace(shared_mount: Path) -> Path:
    workspace = shared_mount / "workspace"
    workspace.mkdir()
    return workspace


def _environ(tmp_path: Path) -> dict[str, str]:
    """A cache on another filesystem: not a candidate when the backend cannot cross."""
    return {"XDG_CACHE_HOME": str(tmp_path / "cache"), "HOME": str(tmp_path)}


def test_a_planted_symlink_in_a_sticky_hidden_root_is_never_followed(
        shared_mount: Path, victim: Path, tmp_path: Path) -> None:
    hidden = shared_mount / HIDDEN_NAME
    hidden.mkdir()
    os.chmod(hidden, 0o1777)
    as_attacker(f"ln -s {victim} {os.geteuid()}", cwd=hidden)
    before = tree_digest(victim)
    workspace = _workspace(shared_mount)
    staging = staging_dir(workspace, same_filesystem=True, environ=_environ(tmp_path))
    assert staging == workspace / HIDDEN_NAME / str(os.geteuid())
    assert stat.S_IMODE(staging.lstat().st_mode) == 0o700
    assert (hidden / str(os.geteuid())).is_symlink()
    assert tree_digest(victim) == before


def test_a_hidden_root_owned_by_the_attacker_is_not_used(
        shared_mount: Path, victim: Path, tmp_path: Path) -> None:
    as_attacker(f"mkdir -m 1777 {HIDDEN_NAME} && ln -s {victim} {HIDDEN_NAME}/{os.geteuid()}",
                cwd=shared_mount)
    before = tree_digest(victim)
    workspace = _workspace(shared_mount)
    staging = staging_dir(workspace, same_filesystem=True, environ=_environ(tmp_path))
    assert staging is not None and not staging.is_relative_to(shared_mount / HIDDEN_NAME)
    assert tree_digest(victim) == before


def test_a_symlinked_hidden_root_is_not_followed(
        shared_mount: Path, victim: Path, tmp_path: Path) -> None:
    as_attacker(f"ln -s {victim} {HIDDEN_NAME}", cwd=shared_mount)
    before = tree_digest(victim)
    workspace = _workspace(shared_mount)
    staging_dir(workspace, same_filesystem=True, environ=_environ(tmp_path))
    assert tree_digest(victim) == before
    assert not (victim / str(os.geteuid())).exists()


def test_status_check_and_run_leave_a_planted_target_alone(
        cowsnap: Cowsnap, shared_mount: Path, victim: Path) -> None:
    hidden = shared_mount / HIDDEN_NAME
    hidden.mkdir()
    os.chmod(hidden, 0o1777)
    as_attacker(f"ln -s {victim} {os.geteuid()}", cwd=hidden)
    workspace = _workspace(shared_mount)
    (workspace / HIDDEN_NAME).mkdir()
    os.chmod(workspace / HIDDEN_NAME, 0o1777)
    as_attacker(f"ln -s {victim} {os.geteuid()}", cwd=workspace / HIDDEN_NAME)
    before = tree_digest(victim)
    for command in (["status"], ["check"], ["run", "--", "sh", "-c", "echo x > f"]):
        result = cowsnap(*command, cwd=workspace, check=False)
        assert b"Traceback" not in result.stderr
    assert tree_digest(victim) == before
