"""The version keeper on its own, fed the callbacks the tracer would make."""

from __future__ import annotations

import os
from pathlib import Path

from cowsnap.model import Operation
from cowsnap.record.version_capture import VersionKeeper
from cowsnap.record.versions import VersionGlobs
from cowsnap.store.keeping import ContentWriter
from cowsnap.store.store import Store
from cowsnap.trace.events import PathEvent


def keeper(tmp_path: Path, *globs: str) -> tuple[VersionKeeper, Path, ContentWriter, Store]:
    workspace = tmp_path / "w"
    workspace.mkdir()
    store = Store.open(tmp_path / "store")
    writer = ContentWriter(store.contents)
    found = VersionKeeper(VersionGlobs(globs, bytes(workspace)), writer, None,
                          lambda path: True)
    return found, workspace, writer, store


def test_repeats_by_the_same_process_are_one_version(tmp_path: Path) -> None:
    versions, workspace, writer, store = keeper(tmp_path, "f")
    path = workspace / "f"
    path.write_bytes(b"x")
    for pid in (os.getpid(), os.getpid(), os.getppid()):
        versions.on_written_close(pid, bytes(path))
    kept = versions.versions(bytes(path))
    assert [(v.number, v.pid) for v in kept] == [(1, os.getpid()), (2, os.getppid())]
    writer.close()
    assert {store.read(v.blob) for v in kept if v.blob} == {b"x"}
    assert kept[0].comm and kept[0].exe == os.path.realpath(f"/proc/{os.getpid()}/exe")


def test_nothing_but_regular_files_at_watched_paths(tmp_path: Path) -> None:
    versions, workspace, _, _ = keeper(tmp_path, "fifo", "dir", "link", "missing")
    os.mkfifo(workspace / "fifo")
    (workspace / "dir").mkdir()
    (workspace / "link").symlink_to("elsewhere")
    (workspace / "unwatched").write_bytes(b"x")
    for name in ("fifo", "dir", "link", "missing", "unwatched"):
        versions.on_written_close(os.getpid(), bytes(workspace / name))
        assert versions.versions(bytes(workspace / name)) == ()


def test_renames_give_a_version_of_their_target_only(tmp_path: Path) -> None:
    versions, workspace, _, _ = keeper(tmp_path, "*")
    (workspace / "new").write_bytes(b"moved")
    source, target = bytes(workspace / "old"), bytes(workspace / "new")
    versions.on_event(PathEvent(os.getpid(), os.getpid(), "renameat2", Operation.RENAME,
                                source, 0, 0, target))
    versions.on_event(PathEvent(os.getpid(), os.getpid(), "renameat2", Operation.CREATE,
                                target, 0, 0, source))
    assert versions.versions(source) == ()
    assert [v.trigger for v in versions.versions(target)] == ["rename"]
