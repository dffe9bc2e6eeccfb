"""A run pauses Python's cycle collector, which is safe only because a run makes no
reference cycles per path: what reference counting leaves behind does not grow with
the paths a run touches."""

from __future__ import annotations

import gc
from pathlib import Path

import pytest

from cowsnap import api
from cowsnap.errors import CowsnapError
from cowsnap.record.recorder import Recorder


def _run_creating(count: int, workspace: Path, store: Path) -> api.RunResult:
    script = f"for i in $(seq {count}); do echo $i > f$i; done; cat f* > /dev/null"
    ran = api.run(api.RunRequest(command=["sh", "-c", script], cwd=workspace,
                                 workspace=workspace, store=store))
    assert (ran.exit_status, ran.recording_error) == (0, None)
    return ran


def test_the_collector_is_paused_while_recording_and_resumed_after(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    workspace = tmp_path / "workspace"
    workspace.mkdir()
    collecting: list[bool] = []
    finish = Recorder.finish

    def noting_finish(*args: object, **kwargs: object) -> api.Manifest:
        collecting.append(gc.isenabled())
        return finish(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(Recorder, "finish", noting_finish)
    assert gc.isenabled()
    _run_creating(3, workspace, tmp_path / "store")
    assert collecting == [False]
    assert gc.isenabled()
    with pytest.raises(CowsnapError):
        api.run(api.RunRequest(command=["true"], workspace=tmp_path / "missing",
                               store=tmp_path / "store"))
    assert gc.isenabled()


def test_a_run_leaves_no_cycles_that_grow_with_its_paths(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    left: dict[int, int] = {}
    gc.disable()
    try:
        for count in (10, 10, 600):
            workspace = tmp_path / f"workspace-{count}-{len(left)}"
            workspace.mkdir()
            gc.collect()
            _run_creating(count, workspace, tmp_path / "store")
            left[count] = gc.collect()
    finally:
        gc.enable()
    assert left[600] < left[10] + 100, left
