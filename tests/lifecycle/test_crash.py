"""SIGKILL of cowsnap at every stage and at random moments, on every backend: the
traced command dies with it, the workspace is left as the command left it (no
cowsnap debris), and after the next cowsnap command (`check`, which removes
leftover snapshots and incomplete runs) the store passes `check`."""

from __future__ import annotations

import json
import random
import stat
import time
from pathlib import Path

import pytest

from cowsnap.snapshot.staging import candidates
from tests.conftest import Cowsnap
from tests.lifecycle.conftest import Background

ORIGINAL = {"a.txt": b"original a\n", "b.txt": b"original b\n", "sub/c.txt": b"original c\n"}
CHANGED = {"a.txt": b"changed a\n", "sub/c.txt": b"original c\n", "new.txt": b"new\n"}
SCRIPT = ("echo $$ > \"$PIDFILE\"; echo 'changed a' > a.txt; rm b.txt; echo new > new.txt; "
          "cat sub/c.txt > /dev/null")

RUN_STAGES_BEFORE_COMMAND = ["run-preparing", "run-prepared"]
RUN_STAGES_AFTER_COMMAND = ["run-recording", "run-publishing", "run-published", "run-released"]


def populate(workspace: Path) -> None:
    for name, data in ORIGINAL.items():
        (workspace / name).parent.mkdir(exist_ok=True)
        (workspace / name).write_bytes(data)


def tree(workspace: Path) -> dict[str, bytes]:
    """Every file under `workspace` (relative path: content); any debris shows up."""
    found = {}
    for path in workspace.rglob("*"):
        if not path.is_dir() or path.is_symlink():
            found[str(path.relative_to(workspace))] = (
                path.read_bytes() if stat.S_ISREG(path.lstat().st_mode) else b"<special>")
    return found


def snapshots_of(pid: int, workspace: Path, cowsnap: Cowsnap) -> list[Path]:
    """Snapshot directories owned by `pid`, wherever a backend may have put them."""
    places = set(candidates(workspace, same_filesystem=False, environ=cowsnap.env()))
    places.update(candidates(workspace, same_filesystem=True, environ=cowsnap.env()))
    return [entry for place in places if place.is_dir() for entry in place.iterdir()
            if f"-{pid}-" in entry.name]


def wait_gone(pid: int, timeout: float = 10) -> bool:
    deadline = time.monotonic() + timeout
    while Path(f"/proc/{pid}").exists():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def assert_recovers(cowsnap: Cowsnap, workspace: Path, killed: int) -> None:
    """`check --repair` removes what the killed cowsnap left, then passes."""
    result = cowsnap("check", "--repair", cwd=workspace, check=False)
    assert result.returncode == 0, result.stdout.decode() + result.stderr.decode()
    assert snapshots_of(killed, workspace, cowsnap) == []
    incomplete = cowsnap.store / "incomplete"
    assert not incomplete.exists() or list(incomplete.iterdir()) == []


@pytest.mark.parametrize("stage", RUN_STAGES_BEFORE_COMMAND + RUN_STAGES_AFTER_COMMAND)
def test_run_killed_at_a_stage(stage: str, backend_workspace: tuple[str, Path], cowsnap: Cowsnap,
                               tmp_path: Path, background: list[Background]) -> None:
    backend, workspace = backend_workspace
    populate(workspace)
    pidfile = tmp_path / "command.pid"
    marker = tmp_path / "paused"
    job = Background(cowsnap, ["run", "--backend", backend, "--", "env", f"PIDFILE={pidfile}",
                               "sh", "-c", SCRIPT], workspace, pause_at=stage, marker=marker)
    background.append(job)
    job.wait_for_pause()
    leftovers = snapshots_of(job.process.pid, workspace, cowsnap)
    job.kill()
    if stage in RUN_STAGES_BEFORE_COMMAND:
        assert tree(workspace) == ORIGINAL
        assert not pidfile.exists()
    else:
        assert tree(workspace) == CHANGED
        assert wait_gone(int(pidfile.read_text()))
    if stage in ("run-prepared", "run-recording", "run-publishing", "run-published"):
        assert leftovers, "a snapshot was alive when cowsnap was killed"
    assert_recovers(cowsnap, workspace, job.process.pid)
    published = list((cowsnap.store / "runs").iterdir())
    assert len(published) == (1 if stage in ("run-published", "run-released") else 0)


def test_run_killed_while_tracing_takes_the_command_along(
        backend_workspace: tuple[str, Path], cowsnap: Cowsnap, tmp_path: Path,
        background: list[Background]) -> None:
    backend, workspace = backend_workspace
    populate(workspace)
    pidfile = tmp_path / "command.pid"
    job = Background(cowsnap, ["run", "--backend", backend, "--", "env", f"PIDFILE={pidfile}",
                               "sh", "-c", SCRIPT + "; touch ../traced-ready; exec sleep 60"],
                     workspace)
    background.append(job)
    ready = workspace.parent / "traced-ready"
    deadline = time.monotonic() + 30
    while not ready.exists():
        assert time.monotonic() < deadline, "the command never ran"
        time.sleep(0.01)
    job.kill()
    assert wait_gone(int(pidfile.read_text())), "the traced command outlived cowsnap"
    assert tree(workspace) == CHANGED
    assert_recovers(cowsnap, workspace, job.process.pid)


@pytest.mark.timeout(120)
def test_run_killed_at_random_moments(backend_workspace: tuple[str, Path], cowsnap: Cowsnap,
                                      tmp_path: Path, background: list[Background]) -> None:
    """A command writing 150 files, killed anywhere from before the snapshot to after
    the run is published; every time, the store recovers and the command is dead.
    The store exists beforehand (a kill before a new store exists leaves nothing to
    check), a kill before the tracer seized the command kills the command too
    (it must not stay stopped, holding cowsnap's pipes open), and the command's pid
    file appears whole or not at all."""
    backend, workspace = backend_workspace
    chooser = random.Random(20261121)
    script = ('echo $$ > "$PIDFILE.new" && mv "$PIDFILE.new" "$PIDFILE"; '
              'for i in $(seq 150); do echo $i > f$i; done')
    cowsnap("run", "--backend", backend, "--", "true", cwd=workspace)
    for attempt in range(5):
        pidfile = tmp_path / f"command{attempt}.pid"
        job = Background(cowsnap, ["run", "--backend", backend, "--", "env",
                                   f"PIDFILE={pidfile}", "sh", "-c", script], workspace)
        background.append(job)
        time.sleep(chooser.uniform(0.1, 1.0))
        job.kill()
        if pidfile.exists():
            assert wait_gone(int(pidfile.read_text())), attempt
        assert set(tree(workspace)) <= {f"f{i}" for i in range(1, 151)}, attempt
        assert_recovers(cowsnap, workspace, job.process.pid)


def _loose_objects(store: Path) -> int:
    objects = store / "objects.git" / "objects"
    return sum(1 for fan_out in objects.iterdir() if len(fan_out.name) == 2
               for _ in fan_out.iterdir())


@pytest.mark.parametrize("stage", ["prune-removing-runs", "prune-runs-removed",
                                   "prune-reclaiming"])
def test_prune_killed_at_a_stage(stage: str, ext4_dir: Path, cowsnap: Cowsnap, tmp_path: Path,
                                 background: list[Background]) -> None:
    for number in range(3):
        cowsnap("run", "--", "sh", "-c", f"echo {number} > f; echo {number} > g{number}",
                cwd=ext4_dir)
    job = Background(cowsnap, ["prune", "--keep-last", "1"], ext4_dir, pause_at=stage,
                     marker=tmp_path / "paused")
    background.append(job)
    job.wait_for_pause()
    job.kill()
    assert_recovers(cowsnap, ext4_dir, job.process.pid)
    cowsnap("prune", "--keep-last", "1", cwd=ext4_dir)
    report = json.loads(cowsnap("check", "--json", cwd=ext4_dir).stdout)
    assert report["ok"] and report["runs"] == 1
    assert _loose_objects(cowsnap.store) == report["contents"], "every unreferenced content went"


RESTORE_TEMP = ".cowsnap-restore-"
"""Restore writes files under temporary names in batches before renaming them; a kill
in between leaves those (unowned, so nothing removes them later: see docs/lifecycle.md)."""


def _wait_until_restoring(workspace: Path, probes: list[str], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while all((workspace / name).read_bytes() == b"after\n" for name in probes):
        assert time.monotonic() < deadline, "the restore never started writing"


@pytest.mark.timeout(120)
def test_restore_killed_at_random_moments(ext4_dir: Path, cowsnap: Cowsnap,
                                          background: list[Background]) -> None:
    """Each file is either as the run left it or restored, never half-written, and the
    store (with the restore's own undo run, if it was published) passes check. Every
    other attempt is killed as soon as the first file is restored, so mid-way."""
    names = [f"f{number}" for number in range(600)]
    chooser = random.Random(1121)
    interrupted = 0
    for attempt in range(4):
        workspace = ext4_dir / f"ws{attempt}"
        workspace.mkdir()
        for name in names:
            (workspace / name).write_bytes(b"before\n")
        cowsnap("run", "--", "sh", "-c", "for f in f*; do echo after > $f; done",
                cwd=workspace)
        job = Background(cowsnap, ["restore"], workspace)
        background.append(job)
        if attempt % 2:
            time.sleep(chooser.uniform(0.1, 0.6))
        else:
            _wait_until_restoring(workspace, names[::59])
        job.kill()
        contents = tree(workspace)
        for name in [name for name in contents if name.startswith(RESTORE_TEMP)]:
            del contents[name]
        assert sorted(contents) == sorted(names), attempt
        assert set(contents.values()) <= {b"before\n", b"after\n"}, attempt
        interrupted += len(set(contents.values())) == 2
        assert_recovers(cowsnap, workspace, job.process.pid)
    assert interrupted, "no kill landed while files were being restored"
