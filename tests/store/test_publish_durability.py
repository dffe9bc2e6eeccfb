"""Publishing a run: every file of the run is durable before the rename that makes it
visible, and the rename is durable when `publish` returns, with as few flushes as that
needs (one `syncfs` shared with the contents, or one fsync per file and directory)."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest

from cowsnap.errors import DiskFullError
from cowsnap.origin import origin_signer
from cowsnap.store import content, runs
from cowsnap.store.store import Store
from tests.store.test_runs import manifest

RUN = "20261130T160000Z-abcdef"
RUN_FILES = {"manifest.json", "summary.json", "checksums.json", "origin"}


def _path_of(fd: int) -> str:
    return os.readlink(f"/proc/self/fd/{fd}")


@pytest.fixture
def events(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> list[tuple[str, str]]:
    """(call, what) of every fsync, syncfs and rename, in order, from here on."""
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    assert origin_signer() is not None  # the key exists before anything is recorded
    seen: list[tuple[str, str]] = []
    fsync, rename, syncfs_path = os.fsync, os.rename, content.syncfs_path

    def recording_fsync(fd: int) -> None:
        seen.append(("fsync", _path_of(fd)))
        fsync(fd)

    def recording_rename(source: str | bytes, target: str | bytes, *,
                         src_dir_fd: int | None = None, dst_dir_fd: int | None = None) -> None:
        where = _path_of(dst_dir_fd) if dst_dir_fd is not None else ""
        seen.append(("rename", os.path.join(where, os.fsdecode(target))))
        rename(source, target, src_dir_fd=src_dir_fd, dst_dir_fd=dst_dir_fd)

    def recording_syncfs(path: Path) -> None:
        seen.append(("syncfs", str(path)))
        syncfs_path(path)

    monkeypatch.setattr(os, "fsync", recording_fsync)
    monkeypatch.setattr(os, "rename", recording_rename)
    monkeypatch.setattr(content, "syncfs_path", recording_syncfs)
    return seen


def test_a_run_without_contents_fsyncs_its_files_and_directory_then_renames(
        store: Store, events: list[tuple[str, str]]) -> None:
    pending = store.runs.begin(RUN)
    published = pending.publish(manifest(RUN))
    rename = events.index(("rename", str(published)))
    before, after = events[:rename], events[rename + 1:]
    assert sorted(before) == sorted([("fsync", str(pending.directory / name))
                                     for name in RUN_FILES]
                                    + [("fsync", str(pending.directory))])
    assert before[-1] == ("fsync", str(pending.directory))
    assert after == [("fsync", str(store.runs.published))]
    assert {path.name for path in published.iterdir()} == RUN_FILES
    assert store.runs.load_with_origin(RUN)[1]


def test_a_run_with_new_contents_is_flushed_once_with_them(
        store: Store, events: list[tuple[str, str]]) -> None:
    pending = store.runs.begin(RUN)
    blob = store.contents.put_bytes(b"a content this run kept\n")
    published = pending.publish(manifest(RUN))
    renames = [what for call, what in events if call == "rename"]
    assert renames[-1] == str(published)
    before_publishing = events.index(("rename", str(published)))
    assert [call for call, _ in events[:before_publishing] if call != "rename"] == ["syncfs"]
    assert events[before_publishing + 1:] == [("fsync", str(store.runs.published))]
    assert store.read(blob) == b"a content this run kept\n"
    events.clear()
    store.runs.begin("20261130T160001Z-abcdef").publish(manifest("20261130T160001Z-abcdef"))
    assert "syncfs" not in [call for call, _ in events]  # nothing new to flush


def test_a_failed_write_publishes_nothing(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    write_new = runs._write_new

    def full_at_checksums(directory: int, name: str, chunks: list[bytes]) -> int:
        if name == runs.CHECKSUMS:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return write_new(directory, name, chunks)

    monkeypatch.setattr(runs, "_write_new", full_at_checksums)
    pending = store.runs.begin(RUN)
    with pytest.raises(DiskFullError, match=f"no space left while trying to publish run {RUN}"):
        pending.publish(manifest(RUN))
    assert store.runs.ids() == []
    pending.abandon()
    assert list(store.runs.incomplete.iterdir()) == []
