"""Many cowsnap processes on one store: concurrent runs, and prune racing a run."""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path

import pytest

from tests.conftest import Cowsnap
from tests.lifecycle.conftest import Background


@pytest.mark.timeout(90)
def test_eight_runs_at_once_in_one_workspace(backend_workspace: tuple[str, Path],
                                             cowsnap: Cowsnap,
                                             background: list[Background]) -> None:
    backend, workspace = backend_workspace
    (workspace / "shared.txt").write_text("start\n")
    jobs = []
    for number in range(8):
        script = (f"echo {number} > own{number}.txt; echo {number} >> shared.txt; "
                  f"cat shared.txt > /dev/null")
        jobs.append(Background(cowsnap, ["run", "--backend", backend, "--", "sh", "-c", script],
                               workspace))
    background.extend(jobs)
    for job in jobs:
        result = job.finish()
        assert result.returncode == 0, result.stderr.decode()
        assert b"error" not in result.stderr, result.stderr.decode()
    runs = json.loads(cowsnap("log", "--json", cwd=workspace).stdout)
    assert len(runs) == 8
    writer = {}
    for run in runs:
        manifest = json.loads(cowsnap("show", "--json", run["run_id"], cwd=workspace).stdout)
        writer.update({entry["path"]: run["run_id"] for entry in manifest["files"]
                       if "create" in entry["operations"]})
    for number in range(8):
        run_id = writer[f"{workspace}/own{number}.txt"]
        content = cowsnap("cat", run_id, f"own{number}.txt", cwd=workspace).stdout
        assert content == f"{number}\n".encode()
    checked = cowsnap("check", "--json", cwd=workspace, check=False)
    report = json.loads(checked.stdout)
    assert report["ok"], report["problems"]
    assert report["ok"] and report["runs"] == 8
    assert list((cowsnap.store / "incomplete").iterdir()) == []


def prune_while_paused(cowsnap: Cowsnap, cwd: Path, tmp_path: Path,
                       background: list[Background], args: list[str], stage: str) -> None:
    """Pause `cowsnap ARGS` at `stage`, start `prune --keep-last 1`, check that prune waits
    for the paused command's retention lock, then let both finish successfully."""
    paused = Background(cowsnap, args, cwd, pause_at=stage, marker=tmp_path / "paused")
    background.append(paused)
    paused.wait_for_pause()
    prune = Background(cowsnap, ["prune", "--keep-last", "1"], cwd)
    background.append(prune)
    time.sleep(1)
    assert prune.process.poll() is None, f"prune must wait for {args[0]}'s retention lock"
    paused.resume()
    assert paused.finish().returncode == 0
    result = prune.finish()
    assert result.returncode == 0, result.stderr.decode()


@pytest.mark.timeout(90)
def test_prune_waits_for_a_run_writing_contents_nothing_references_yet(
        ext4_dir: Path, cowsnap: Cowsnap, tmp_path: Path,
        background: list[Background]) -> None:
    cowsnap("run", "--", "sh", "-c", "echo older > older.txt", cwd=ext4_dir)
    prune_while_paused(cowsnap, ext4_dir, tmp_path, background,
                       ["run", "--", "sh", "-c", "echo precious > new.txt"], "run-publishing")
    runs = json.loads(cowsnap("log", "--json", cwd=ext4_dir).stdout)
    assert [entry["command"][-1] for entry in runs] == ["echo precious > new.txt"]
    assert cowsnap("cat", "new.txt", cwd=ext4_dir).stdout == b"precious\n"
    assert json.loads(cowsnap("check", "--json", cwd=ext4_dir).stdout)["ok"]


def test_automatic_pruning_never_waits_for_a_run(ext4_dir: Path, cowsnap: Cowsnap,
                                                 tmp_path: Path,
                                                 background: list[Background]) -> None:
    """With another run writing, a run skips its automatic prune (the next one prunes)."""
    config = cowsnap.home / ".config" / "cowsnap"
    config.mkdir(parents=True)
    (config / "config.toml").write_text('[prune]\nkeep_last = 1\ninterval = "0s"\n')
    marker = tmp_path / "paused"
    slow = Background(cowsnap, ["run", "--", "true"], ext4_dir, pause_at="run-publishing",
                      marker=marker)
    background.append(slow)
    slow.wait_for_pause()
    for _ in range(2):
        cowsnap("run", "--", "true", cwd=ext4_dir, timeout=30)
    assert len(json.loads(cowsnap("log", "--json", cwd=ext4_dir).stdout)) == 2
    slow.resume()
    assert slow.finish().returncode == 0
    assert len(json.loads(cowsnap("log", "--json", cwd=ext4_dir).stdout)) == 1


@pytest.mark.timeout(90)
def test_prune_waits_for_a_restore_writing_contents(ext4_dir: Path, cowsnap: Cowsnap,
                                                    tmp_path: Path,
                                                    background: list[Background]) -> None:
    """Prune may remove the run being restored, but never while the restore still
    needs its contents."""
    (ext4_dir / "f.txt").write_text("original\n")
    cowsnap("run", "--", "sh", "-c", "echo changed > f.txt", cwd=ext4_dir)
    undone = cowsnap("log", "--json", cwd=ext4_dir).stdout
    run_id = json.loads(undone)[0]["run_id"]
    prune_while_paused(cowsnap, ext4_dir, tmp_path, background, ["restore", run_id],
                       "restore-applying")
    assert (ext4_dir / "f.txt").read_text() == "original\n"
    assert json.loads(cowsnap("check", "--json", cwd=ext4_dir).stdout)["ok"]


@pytest.mark.timeout(90)
def test_prune_racing_a_restore_loses_nothing(ext4_dir: Path, cowsnap: Cowsnap,
                                              tmp_path: Path,
                                              background: list[Background]) -> None:
    """The restore holds the retention lock before it reads the run: a prune started
    meanwhile waits, then keeps every content the restore's undo run refers to, so
    the files the restore deleted can be brought back."""
    cowsnap("run", "--", "sh", "-c", "for n in 1 2 3 4 5; do echo made$n > f$n.txt; done",
            cwd=ext4_dir)
    prune_while_paused(cowsnap, ext4_dir, tmp_path, background, ["restore"],
                       "restore-locked")
    assert sorted(os.listdir(ext4_dir)) == []
    cowsnap("restore", cwd=ext4_dir)
    assert (ext4_dir / "f3.txt").read_text() == "made3\n"
    assert json.loads(cowsnap("check", "--json", cwd=ext4_dir).stdout)["ok"]


def test_an_undo_run_stores_what_a_prune_already_reclaimed(ext4_dir: Path,
                                                           cowsnap: Cowsnap) -> None:
    """The undo run never takes a content for stored: one reclaimed before the
    restore started is stored again from the file, before the file is deleted."""
    cowsnap("run", "--", "sh", "-c", "echo precious > f.txt", cwd=ext4_dir)
    blob = subprocess.run(["git", "hash-object", "f.txt"], cwd=ext4_dir, check=True,
                          capture_output=True, timeout=30).stdout.decode().strip()
    loose = cowsnap.store / "objects.git" / "objects" / blob[:2] / blob[2:]
    loose.unlink()
    cowsnap("restore", cwd=ext4_dir)
    assert not (ext4_dir / "f.txt").exists()
    cowsnap("restore", cwd=ext4_dir)
    assert (ext4_dir / "f.txt").read_text() == "precious\n"
