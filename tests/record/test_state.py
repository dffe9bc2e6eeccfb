"""Path state read with lstat, for every kind of file, bytes paths included."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from cowsnap.record.state import MISSING, read_state


def test_each_kind(tmp_path: Path) -> None:
    base = os.fsencode(tmp_path)
    (tmp_path / "file").write_bytes(b"12345")
    os.chmod(tmp_path / "file", 0o640)
    (tmp_path / "dir").mkdir()
    os.symlink(b"\xffwhere", base + b"/link")
    os.mkfifo(tmp_path / "fifo")

    file_state = read_state(base + b"/file")
    assert (file_state.type, file_state.size, stat.S_IMODE(file_state.mode or 0)) == (
        "file", 5, 0o640)
    assert file_state.uid == os.geteuid() and file_state.writable
    assert file_state.mtime_ns == os.stat(tmp_path / "file").st_mtime_ns
    assert read_state(base + b"/dir").type == "directory"
    assert read_state(base + b"/dir").size is None
    link = read_state(base + b"/link")
    assert (link.type, link.target) == ("symlink", b"\xffwhere")
    assert read_state(base + b"/fifo").type == "fifo"
    assert read_state(base + b"/missing") is MISSING
    assert read_state(base + b"/file/below") is MISSING
    os.symlink(b"loop/x", base + b"/loop")
    assert read_state(base + b"/loop").type == "symlink"
    assert read_state(base + b"/loop/x") is MISSING
