"""What restore makes durable, and in which order: each written content before the
rename that puts it in place (one `syncfs` for a batch), and every rename before the
first removal (one more `syncfs`), so undoing `mv a b` never leaves neither."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from cowsnap import api
from cowsnap.restore import apply


@pytest.fixture
def events(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> list[str]:
    """The syncs, and the renames and removals in tmp_path/workspace, in order, from
    here on."""
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    seen: list[str] = []
    syncfs, rename, unlink = apply.syncfs, os.rename, os.unlink

    def note(call: str, name: str | bytes, dir_fd: int | None) -> None:
        if dir_fd is not None and os.readlink(f"/proc/self/fd/{dir_fd}").startswith(
                str(tmp_path / "workspace")):
            seen.append(f"{call} {os.fsdecode(name)}")

    def recording_syncfs(fd: int) -> None:
        seen.append("syncfs")
        syncfs(fd)

    def recording_rename(source: str | bytes, target: str | bytes, *,
                         src_dir_fd: int | None = None, dst_dir_fd: int | None = None) -> None:
        note("rename", target, dst_dir_fd)
        rename(source, target, src_dir_fd=src_dir_fd, dst_dir_fd=dst_dir_fd)

    def recording_unlink(path: str | bytes, *, dir_fd: int | None = None) -> None:
        note("unlink", path, dir_fd)
        unlink(path, dir_fd=dir_fd)

    monkeypatch.setattr(apply, "syncfs", recording_syncfs)
    monkeypatch.setattr(apply.os, "rename", recording_rename)
    monkeypatch.setattr(apply.os, "unlink", recording_unlink)
    return seen


def _run_then_undo(workspace: Path, script: str, events: list[str]) -> list[str]:
    ran = api.run(api.RunRequest(command=["sh", "-c", script], cwd=workspace,
                                 workspace=workspace, store=workspace.parent / "store"))
    assert (ran.exit_status, ran.recording_error) == (0, None)
    events.clear()
    restored = api.restore(ran.run_id, cwd=workspace, workspace=workspace,
                           store=workspace.parent / "store")
    assert restored.exit_code == 0, restored
    return list(events)


def test_undoing_a_move_makes_the_rename_durable_before_the_removal(
        tmp_path: Path, events: list[str]) -> None:
    workspace = tmp_path / "workspace"
    workspace.mkdir()
    (workspace / "a").write_bytes(b"kept\n")
    seen = _run_then_undo(workspace, "mv a b", events)
    assert seen == ["syncfs", "rename a", "syncfs", "unlink b"]
    assert (workspace / "a").read_bytes() == b"kept\n"
    assert not (workspace / "b").exists()


def test_a_restore_that_removes_nothing_syncs_once_before_renaming(
        tmp_path: Path, events: list[str]) -> None:
    workspace = tmp_path / "workspace"
    workspace.mkdir()
    for name in ("a", "b"):
        (workspace / name).write_bytes(b"before\n")
    seen = _run_then_undo(workspace, "echo after >> a; echo after >> b", events)
    assert seen == ["syncfs", "rename a", "rename b"]
    assert (workspace / "a").read_bytes() == (workspace / "b").read_bytes() == b"before\n"
