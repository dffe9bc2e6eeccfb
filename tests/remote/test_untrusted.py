"""A fetched run is untrusted exactly like a bundle (issue 10, issue 16): whoever can
push to a remote can write any manifest that passes fetch's checks, and root restoring
it gets the same refusals as for a bundle. The attacker here records nothing: it
publishes a forged run into a store of its own (its own key) and pushes it."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from cowsnap.model import FileEntry, FileState, Manifest, Operation
from cowsnap.store.runs import new_run_id
from cowsnap.store.store import Store
from tests.conftest import Cowsnap
from tests.remote.conftest import make_bare

PAYLOAD = b"#!/bin/sh\nid\n"


def _created(path: Path, *, blob: str, in_workspace: bool = True) -> FileEntry:
    """`path` created by the run as a setuid-root file of uid 4321's."""
    return FileEntry(path=os.fsencode(path), operations=(Operation.CREATE, Operation.WRITE),
                     before=FileState(exists=False),
                     after=FileState(exists=True, type="file", mode=0o104755,
                                     size=len(PAYLOAD), mtime_ns=0, uid=4321, gid=4321,
                                     blob=blob, blob_source="store"),
                     in_workspace=in_workspace)


def _forged_remote(tmp_path: Path, workspace: str, entries: list[FileEntry] | None,
                   forger: Cowsnap) -> tuple[Path, str]:
    """A remote holding one forged run recorded in `workspace` (entries None: its
    `tool` and an outside `planted`, see `_created`)."""
    store = Store.open(forger.store)
    blob = store.contents.put_bytes(PAYLOAD)
    if entries is None:
        entries = [_created(Path(workspace, "tool"), blob=blob),
                   _created(tmp_path / "victim" / "planted", blob=blob, in_workspace=False)]
    run_id = new_run_id()
    stamp = "2026-01-01T00:00:00Z"
    manifest = Manifest(run_id=run_id, tool_version="forged", command=("true",), exit_status=0,
                        start_cwd=workspace, workspace=workspace, backend="copy", uid=4321,
                        gid=4321, started_at=stamp, finished_at=stamp,
                        files=tuple(sorted(entries, key=lambda entry: entry.path)))
    store.runs.begin(run_id).publish(manifest)
    remote = make_bare(tmp_path / "runs.git")
    forger("push", str(remote), run_id, cwd=tmp_path)
    return remote, run_id


@pytest.fixture
def forger(tmp_path: Path) -> Cowsnap:
    forger = Cowsnap(home=tmp_path / "forger", store=tmp_path / "forger-store")
    forger.home.mkdir()
    return forger


def test_a_fetched_run_writes_only_the_workspace_and_no_set_id_or_owner(
        cowsnap: Cowsnap, tmp_path: Path, forger: Cowsnap, root_required: None) -> None:
    victim = tmp_path / "victim"
    victim.mkdir()
    remote, run_id = _forged_remote(tmp_path, "/srv/cowsnap-forged", None, forger)
    workspace = tmp_path / "workspace"
    workspace.mkdir()
    fetched = json.loads(cowsnap("fetch", str(remote), "--json", cwd=tmp_path).stdout)
    assert [run["status"] for run in fetched["runs"]] == ["fetched"]
    dry = cowsnap("restore", run_id, "--to", "after", "--dry-run", cwd=workspace)
    assert f"skip      {victim / 'planted'}: recorded outside its workspace".encode() \
        in dry.stdout
    result = cowsnap("restore", run_id, "--to", "after", cwd=workspace, check=False)
    assert result.returncode == 0, result.stderr
    assert f"left alone: {victim / 'planted'}".encode() in result.stderr
    assert os.listdir(victim) == []
    assert not Path("/srv/cowsnap-forged").exists()
    info = os.lstat(workspace / "tool")
    assert (info.st_mode & 0o7777, info.st_uid) == (0o755, os.geteuid())
    assert (workspace / "tool").read_bytes() == PAYLOAD


@pytest.mark.parametrize("recorded", ["/", "/etc"])
def test_a_fetched_run_recorded_in_a_system_workspace_is_refused(
        recorded: str, cowsnap: Cowsnap, tmp_path: Path, forger: Cowsnap) -> None:
    store = Store.open(forger.store)
    blob = store.contents.put_bytes(PAYLOAD)
    planted = Path(recorded, "cowsnap-test-planted")
    remote, run_id = _forged_remote(tmp_path, recorded, [_created(planted, blob=blob)], forger)
    cowsnap("fetch", str(remote), cwd=tmp_path)
    workspace = tmp_path / "workspace"
    workspace.mkdir()
    result = cowsnap("restore", run_id, "--to", "after", "--outside", cwd=workspace,
                     check=False)
    assert result.returncode == 1
    assert f"its recorded workspace {recorded} ".encode() in result.stderr
    assert result.stderr.count(b"\n") == 1
    assert not planted.exists() and os.listdir(workspace) == []
