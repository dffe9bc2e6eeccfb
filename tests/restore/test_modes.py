"""A written file gets exactly its recorded permission bits, whatever the umask: it is
created with them (less set-id bits and write for group and others) and `chmod`ed only
when that, or the umask, made them differ."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from cowsnap import api
from cowsnap.restore import apply

MODES = {"private": 0o600, "shared": 0o644, "group-writable": 0o664, "program": 0o755,
         "read-only": 0o444, "setuid": 0o4755, "nothing": 0o000}


@pytest.fixture
def chmods(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[list[int]]:
    """The modes restore sets with chmod, from here on."""
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    seen: list[int] = []
    chmod = os.chmod

    def recording_chmod(path: int | str | bytes, mode: int, **kwargs: bool) -> None:
        seen.append(mode)
        chmod(path, mode, **kwargs)

    monkeypatch.setattr(apply.os, "chmod", recording_chmod)
    yield seen


@pytest.mark.parametrize("umask", [0o022, 0o077, 0o000])
def test_removed_files_come_back_with_their_modes_whatever_the_umask(
        tmp_path: Path, chmods: list[int], umask: int) -> None:
    workspace = tmp_path / "workspace"
    workspace.mkdir()
    for name, mode in MODES.items():
        (workspace / name).write_bytes(name.encode())
        os.chmod(workspace / name, mode)
    store = tmp_path / "store"
    ran = api.run(api.RunRequest(command=["sh", "-c", f"rm -f {' '.join(MODES)}"],
                                 cwd=workspace, workspace=workspace, store=store))
    assert (ran.exit_status, ran.recording_error) == (0, None)
    chmods.clear()
    previous = os.umask(umask)
    try:
        restored = api.restore(ran.run_id, cwd=workspace, workspace=workspace, store=store)
    finally:
        os.umask(previous)
    assert restored.exit_code == 0, restored
    for name, mode in MODES.items():  # set-id bits too: the restoring user's own run
        assert stat.S_IMODE((workspace / name).stat().st_mode) == mode, name
        assert (workspace / name).read_bytes() == name.encode()
    needed = {stat.S_IMODE(mode) for mode in MODES.values()
              if mode & ~umask & apply.CREATED_MODE != mode}
    assert set(chmods) == needed
    assert len(chmods) == len(needed)
