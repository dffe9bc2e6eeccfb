"""A restore killed or interrupted anywhere can be finished, and undone, to exact trees.

Killed (SIGKILL) at each of its stages and at random moments, on every backend's
filesystem: running the same restore again finishes it (no --force needed, though
it created private directories and left temporaries), and undoing what it did
gives back the tree it started from. SIGINT, SIGTERM and SIGHUP leave no
temporary at all.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
from pathlib import Path

import pytest

from cowsnap.processes import owner_tag
from cowsnap.restore.leftovers import TEMP_PREFIX, remove_workspace_leftovers
from tests.conftest import Cowsnap
from tests.lifecycle.conftest import Background
from tests.restore.conftest import Tree, read_tree
from tests.restore.test_restore_cli import SCENARIO, populate

RESTORE_STAGES = ("restore-locked", "restore-applying", "restore-written",
                  "restore-removing", "restore-directories")
WIDE = "mkdir -p wide/deeper; for n in $(seq 40); do echo $n > wide/f$n; done; "
"""Enough files in a new directory for every stage to be reached mid-restore."""


def _temporaries(workspace: Path) -> list[str]:
    return [name for name in read_tree(workspace)
            if os.path.basename(name).startswith(os.fsdecode(TEMP_PREFIX))]


def _newest(cowsnap: Cowsnap, workspace: Path) -> dict[str, object]:
    runs: list[dict[str, object]] = json.loads(cowsnap("log", "--json", cwd=workspace).stdout)
    return runs[0]


class Scene:
    """A workspace and one run in it: `before` and `after` are its two trees."""

    def __init__(self, cowsnap: Cowsnap, backend: str, workspace: Path) -> None:
        self.cowsnap = cowsnap
        self.workspace = workspace
        populate(workspace)
        self.before = read_tree(workspace)
        cowsnap("run", "--backend", backend, "--", "sh", "-c", WIDE + SCENARIO, cwd=workspace)
        self.after = read_tree(workspace)
        self.run_id = str(_newest(cowsnap, workspace)["run_id"])
        self.newest_before = self.run_id

    def start(self) -> None:
        """Note the newest run before a restore that is about to be interrupted."""
        self.newest_before = str(_newest(self.cowsnap, self.workspace)["run_id"])

    def interrupted_undo_run(self) -> str | None:
        """The run the interrupted restore published of itself, if it got that far."""
        newest = str(_newest(self.cowsnap, self.workspace)["run_id"])
        return newest if newest != self.newest_before else None

    def restore(self, run_id: str) -> Tree:
        result = self.cowsnap("restore", run_id, cwd=self.workspace, check=False)
        assert result.returncode == 0, result.stderr.decode()
        return read_tree(self.workspace)

    def redo(self) -> None:
        self.cowsnap("restore", self.run_id, "--to", "after", cwd=self.workspace)
        assert read_tree(self.workspace) == self.after

    def finish_then_undo(self) -> None:
        """Finish the interrupted restore, then undo what it did before it was stopped."""
        undo_run = self.interrupted_undo_run()
        assert self.restore(self.run_id) == self.before
        if undo_run is not None:
            assert self.restore(undo_run) == self.after

    def undo_then_finish(self) -> None:
        """Undo what the interrupted restore did, then restore the run in full."""
        undo_run = self.interrupted_undo_run()
        if undo_run is not None:
            assert self.restore(undo_run) == self.after
        assert self.restore(self.run_id) == self.before


@pytest.mark.timeout(180)
@pytest.mark.parametrize("order", ["finish", "undo"])
@pytest.mark.parametrize("stage", RESTORE_STAGES)
def test_restore_killed_at_a_stage(stage: str, order: str, backend_workspace: tuple[str, Path],
                                   cowsnap: Cowsnap, tmp_path: Path,
                                   background: list[Background]) -> None:
    backend, workspace = backend_workspace
    scene = Scene(cowsnap, backend, workspace)
    job = Background(cowsnap, ["restore", scene.run_id], workspace, pause_at=stage,
                     marker=tmp_path / "paused")
    background.append(job)
    job.wait_for_pause()
    job.kill()
    if stage == "restore-written":
        assert _temporaries(workspace), "killed with its temporaries written"
    if order == "finish":
        scene.finish_then_undo()
    else:
        scene.undo_then_finish()


@pytest.mark.timeout(300)
def test_restore_killed_at_random_moments_is_finished_and_undone(
        backend_workspace: tuple[str, Path], cowsnap: Cowsnap,
        background: list[Background]) -> None:
    """Any moment will do: the assertions hold wherever the kill lands (a restore that
    finished first is simply finished)."""
    backend, workspace = backend_workspace
    scene = Scene(cowsnap, backend, workspace)
    chooser = random.Random(1130)
    for attempt in range(4):
        scene.start()
        job = Background(cowsnap, ["restore", scene.run_id], workspace)
        background.append(job)
        try:
            job.process.wait(timeout=chooser.uniform(0.2, 1.5))
        except subprocess.TimeoutExpired:
            job.kill()
        if attempt % 2:
            scene.finish_then_undo()
        else:
            scene.undo_then_finish()
            scene.redo()


@pytest.mark.timeout(120)
@pytest.mark.parametrize("signal_number", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP])
def test_a_stopping_signal_leaves_no_temporary(signal_number: int, ext4_workspace: Path,
                                               cowsnap: Cowsnap, tmp_path: Path,
                                               background: list[Background]) -> None:
    scene = Scene(cowsnap, "copy", ext4_workspace)
    job = Background(cowsnap, ["restore", scene.run_id], ext4_workspace,
                     pause_at="restore-written", marker=tmp_path / "paused")
    background.append(job)
    job.wait_for_pause()
    assert _temporaries(ext4_workspace)
    job.process.send_signal(signal_number)
    result = job.finish()
    assert result.returncode == 128 + signal_number
    (line,) = result.stderr.decode().splitlines()
    assert "temporary files were removed; finish it with: cowsnap restore" in line
    assert _temporaries(ext4_workspace) == []
    scene.undo_then_finish()


def test_leftovers_of_a_dead_restore_are_removed_by_a_workspace_sweep(
        ext4_workspace: Path) -> None:
    dead = ext4_workspace / "d" / (os.fsdecode(TEMP_PREFIX) + "999999999.1-abcd-1")
    dead.parent.mkdir()
    dead.write_text("half")
    recycled = ext4_workspace / (os.fsdecode(TEMP_PREFIX) + f"{os.getpid()}.1-abcd-1")
    live = ext4_workspace / (os.fsdecode(TEMP_PREFIX) + owner_tag() + "-abcd-1")
    for path in (recycled, live):
        path.write_text("x")
    removed = remove_workspace_leftovers(os.fsencode(ext4_workspace))
    assert sorted(removed) == sorted([os.fsencode(dead), os.fsencode(recycled)])
    assert live.exists() and not dead.exists()
