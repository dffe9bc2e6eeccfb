"""A non-root user's lazy snapshot, through a read-only directory it opens up and empties.

The unprivileged part runs in a forked child that drops to `nobody` (the
interpreter may live where `nobody` cannot execute it anew).
"""

from __future__ import annotations

import os
import signal
import stat
import time
import traceback
from collections.abc import Callable
from pathlib import Path

import pytest

from cowsnap.snapshot.registry import backend_named
from tests.snapshot.conftest import wait_until_deleted

NOBODY = 65534


def run_as_nobody(action: Callable[[], None], timeout: float = 30) -> str:
    """Run `action` in a child with uid/gid nobody; its traceback, or '' when it succeeded."""
    reader, writer = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(reader)
        status = 0
        try:
            os.setgroups([])
            os.setresgid(NOBODY, NOBODY, NOBODY)
            os.setresuid(NOBODY, NOBODY, NOBODY)
            action()
        except BaseException:
            os.write(writer, traceback.format_exc().encode())
            status = 1
        os._exit(status)
    os.close(writer)
    deadline = time.monotonic() + timeout
    while os.waitpid(pid, os.WNOHANG) == (0, 0):
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            return "timed out"
        time.sleep(0.01)
    with os.fdopen(reader, "rb") as pipe:
        return pipe.read().decode()


@pytest.mark.usefixtures("root_required")
def test_a_non_root_owner_keeps_read_only_directories(
        ext4_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    os.chmod(ext4_dir, 0o755)
    home, workspace = ext4_dir / "home", ext4_dir / "workspace"
    locked = workspace / "locked"
    locked.mkdir(parents=True)
    (locked / "file").write_bytes(b"before\n")
    home.mkdir()
    for path in (home, workspace, locked, locked / "file"):
        os.chown(path, NOBODY, NOBODY)
    os.chmod(locked, 0o555)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    inside, new = os.fsencode(locked / "file"), os.fsencode(locked / "new")

    def mutate_and_check() -> None:
        snapshot = backend_named("copy").prepare(workspace)
        snapshot.capture(os.fsencode(locked))
        os.chmod(locked, 0o755)
        snapshot.capture(inside)
        os.unlink(inside)
        snapshot.capture(new)
        (locked / "new").write_bytes(b"")
        kept = snapshot.locate(os.fsencode(locked))
        assert kept is not None and stat.S_IMODE(os.lstat(kept).st_mode) == 0o555
        found = snapshot.locate(inside)
        assert found is not None and Path(os.fsdecode(found)).read_bytes() == b"before\n"
        assert snapshot.locate(new) is None
        snapshot.release()

    assert run_as_nobody(mutate_and_check) == ""
    wait_until_deleted(home / ".cache" / "cowsnap" / "snapshots")
