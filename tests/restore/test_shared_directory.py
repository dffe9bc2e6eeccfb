"""A user restoring a file in a directory another user owns (a shared, world-writable
one): only a directory's owner may set its times, so the restore leaves that directory's
times as writing in it made them, and succeeds."""

from __future__ import annotations

import ctypes
import os
from pathlib import Path

import pytest

from cowsnap import api
from tests.snapshot.test_snapshot_unprivileged import NOBODY, run_as_nobody

PR_SET_DUMPABLE = 4


@pytest.mark.usefixtures("root_required")
def test_undo_in_a_directory_owned_by_another_user(
        ext4_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    os.chmod(ext4_dir, 0o755)
    home, workspace = ext4_dir / "home", ext4_dir / "workspace"
    shared = workspace / "shared"
    shared.mkdir(parents=True)
    home.mkdir()
    (shared / "f").write_bytes(b"before\n")
    for path in (home, workspace, shared / "f"):
        os.chown(path, NOBODY, NOBODY)
    os.chmod(shared, 0o777)  # root's, writable by all
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    monkeypatch.delenv("XDG_STATE_HOME", raising=False)
    monkeypatch.delenv("COWSNAP_STORE", raising=False)

    def run_then_undo(root: Path = workspace, user_home: Path = home) -> None:
        os.environ["HOME"] = str(user_home)
        ran = api.run(api.RunRequest(command=["sh", "-c", "printf after > shared/f"],
                                     cwd=root, workspace=root))
        assert (ran.exit_status, ran.recording_error) == (0, None)
        restored = api.restore(ran.run_id, cwd=root, workspace=root)
        assert restored.exit_code == 0, restored
        assert (root / "shared" / "f").read_bytes() == b"before\n"

    # once as root first: nobody may not read the interpreter's own modules (a Python
    # under /root), so every module the run and the restore need is loaded before
    warm_up = ext4_dir / "warm-up"
    (warm_up / "shared").mkdir(parents=True)
    (warm_up / "shared" / "f").write_bytes(b"before\n")
    run_then_undo(warm_up, warm_up)
    def as_a_user() -> None:
        # dropping root made this process undumpable, which forbids tracing its children
        # as its own user: a user's login shell is dumpable
        assert ctypes.CDLL(None, use_errno=True).prctl(PR_SET_DUMPABLE, 1, 0, 0, 0) == 0
        run_then_undo()

    assert run_as_nobody(as_a_user, timeout=60) == ""
