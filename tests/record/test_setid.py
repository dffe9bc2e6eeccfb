"""A set-id program under a non-root tracer runs without its privileges: the run's
warnings say so (issue 10)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from record_support import CopiedSnapshot, play, run_facts

from cowsnap.model import Operation
from cowsnap.record.ignore import IgnoreRules
from cowsnap.record.policy import CaptureSettings
from cowsnap.record.recorder import Recorder
from cowsnap.record.setid import lost_privileges
from cowsnap.store.store import Store

USER = 1000


def _program(directory: Path, mode: int) -> Path:
    program = directory / f"program-{mode:o}"
    shutil.copy("/bin/true", program)
    os.chown(program, 0, 0)
    os.chmod(program, mode)
    return program


def test_a_set_user_id_program_run_by_a_user_is_a_warning_once(tmp_path: Path) -> None:
    workspace = tmp_path / "ws"
    workspace.mkdir()
    recorder = Recorder(workspace=workspace, snapshot=CopiedSnapshot(workspace, tmp_path / "s"),
                        store=Store.open(tmp_path / "store"), ignores=IgnoreRules(()),
                        settings=CaptureSettings(), uid=USER)
    setuid = _program(workspace, 0o4755)
    plain = _program(workspace, 0o755)
    for program in (setuid, setuid, plain):
        play(recorder, Operation.EXEC, program)
    manifest = recorder.finish(run_facts())
    [warning] = [text for text in manifest.warnings if "set-user-ID" in text]
    assert warning.startswith(f"{setuid} is set-user-ID (uid 0), but ran without")
    assert Operation.EXEC in next(entry for entry in manifest.files
                                  if entry.path == os.fsencode(setuid)).operations


def test_who_loses_privileges(tmp_path: Path) -> None:
    setuid, setgid = _program(tmp_path, 0o4755), _program(tmp_path, 0o2755)
    assert lost_privileges(os.fsencode(setuid), 0, 0) is None, "root's tracer keeps them"
    assert lost_privileges(os.fsencode(_program(tmp_path, 0o755)), USER, USER) is None
    assert "set-group-ID (gid 0)" in (lost_privileges(os.fsencode(setgid), USER, USER) or "")
    os.chown(setuid, USER, USER)
    assert lost_privileges(os.fsencode(setuid), USER, USER) is None, "its own program"
    assert lost_privileges(b"/nonexistent/program", USER, USER) is None
