"""A restore pauses Python's cycle collector while it runs, and only then."""

from __future__ import annotations

import gc
from pathlib import Path

import pytest

from cowsnap import api
from cowsnap.restore import apply


def test_the_cycle_collector_is_paused_while_restoring_and_resumed_after(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    workspace, store = tmp_path / "workspace", tmp_path / "store"
    workspace.mkdir()
    (workspace / "f").write_bytes(b"before\n")
    ran = api.run(api.RunRequest(command=["sh", "-c", "echo after >> f"], cwd=workspace,
                                 workspace=workspace, store=store))
    assert (ran.exit_status, ran.recording_error) == (0, None)
    collecting: list[bool] = []
    syncfs = apply.syncfs

    def noting_syncfs(fd: int) -> None:
        collecting.append(gc.isenabled())
        syncfs(fd)

    monkeypatch.setattr(apply, "syncfs", noting_syncfs)
    assert gc.isenabled()
    restored = api.restore(ran.run_id, cwd=workspace, workspace=workspace, store=store)
    assert restored.exit_code == 0, restored
    assert collecting == [False]
    assert gc.isenabled()
    assert (workspace / "f").read_bytes() == b"before\n"
