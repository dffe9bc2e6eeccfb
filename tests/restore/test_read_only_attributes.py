"""A user's read-only file and directory with extended attributes: setting a `user.*`
attribute needs write permission on the inode, even for its owner, so a copy or a
restore that made them read-only first could not give them their attributes back: the
run refused to record, the undo failed. Attributes come before permission bits."""

from __future__ import annotations

import ctypes
import os
import stat
from pathlib import Path

import pytest

from cowsnap import api
from tests.snapshot.test_snapshot_unprivileged import NOBODY, run_as_nobody

PR_SET_DUMPABLE = 4


def _make(workspace: Path) -> None:
    (workspace / "ro").write_bytes(b"read only\n")
    (workspace / "sealed").write_bytes(b"sealed by the run\n")
    (workspace / "locked").mkdir()
    for name, mode in (("ro", 0o444), ("locked", 0o555)):
        os.setxattr(workspace / name, "user.note", name.encode())
        os.chmod(workspace / name, mode)


def _run_then_undo(workspace: Path, home: Path) -> None:
    os.environ["HOME"] = str(home)
    _make(workspace)
    script = "rm -f ro && rmdir locked && setfattr -n user.seal -v 1 sealed && chmod 444 sealed"
    ran = api.run(api.RunRequest(command=["sh", "-c", script], cwd=workspace,
                                 workspace=workspace))
    assert (ran.exit_status, ran.recording_error) == (0, None)
    assert not (workspace / "ro").exists() and not (workspace / "locked").exists()
    undone = api.restore(ran.run_id, cwd=workspace, workspace=workspace)
    assert undone.exit_code == 0, undone
    for name, mode in (("ro", 0o444), ("locked", 0o555)):
        assert stat.S_IMODE((workspace / name).stat().st_mode) == mode, name
        assert os.getxattr(workspace / name, "user.note") == name.encode(), name
    assert (workspace / "ro").read_bytes() == b"read only\n"
    assert stat.S_IMODE((workspace / "sealed").stat().st_mode) == 0o644
    assert os.listxattr(workspace / "sealed") == []
    redone = api.restore(cwd=workspace, workspace=workspace)  # undoes the undo
    assert redone.exit_code == 0, redone
    assert not (workspace / "ro").exists() and not (workspace / "locked").exists()
    assert stat.S_IMODE((workspace / "sealed").stat().st_mode) == 0o444
    assert os.getxattr(workspace / "sealed", "user.seal") == b"1"


@pytest.mark.usefixtures("root_required")
def test_a_users_read_only_paths_get_their_attributes_back(
        ext4_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    os.chmod(ext4_dir, 0o755)
    home, workspace = ext4_dir / "home", ext4_dir / "workspace"
    for directory in (home, workspace):
        directory.mkdir()
        os.chown(directory, NOBODY, NOBODY)
    for variable in ("XDG_CACHE_HOME", "XDG_STATE_HOME", "XDG_DATA_HOME", "XDG_CONFIG_HOME",
                     "COWSNAP_STORE"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("HOME", str(home))  # put back at teardown: _run_then_undo sets it
    # once as root first: nobody may not read the interpreter's own modules (a Python
    # under /root), so every module the run and the restore need is loaded before
    warm_up = ext4_dir / "warm-up"
    warm_up.mkdir()
    _run_then_undo(warm_up, warm_up)

    def as_a_user() -> None:
        # dropping root made this process undumpable, which forbids tracing its children
        assert ctypes.CDLL(None, use_errno=True).prctl(PR_SET_DUMPABLE, 1, 0, 0, 0) == 0
        _run_then_undo(workspace, home)

    failure = run_as_nobody(as_a_user, timeout=60)
    assert failure == "", failure
