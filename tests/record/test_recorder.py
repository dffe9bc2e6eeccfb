"""The recorder fed with fake event streams over real directories and a real store."""

from __future__ import annotations

import dataclasses
import os
import shutil
from pathlib import Path

import pytest
from record_support import make_recorder, make_repository, play, run_facts

from cowsnap.errors import ContentNotFoundError
from cowsnap.model import (
    CREATED_AND_DELETED,
    TOO_LARGE,
    FileEntry,
    FileState,
    Manifest,
    Operation,
    dump_manifest,
    load_manifest,
)
from cowsnap.record.policy import CaptureSettings
from cowsnap.store.store import Store
from cowsnap.trace.events import PathEvent, TraceWarning


def entry(manifest: Manifest, path: Path) -> FileEntry:
    found = manifest.entry(os.fsencode(path))
    assert found is not None, f"{path} not in manifest"
    return found


def content(store: Store, blob: str | None) -> bytes:
    assert blob is not None
    return store.read(blob)


def test_a_typical_command(workspace: Path, store: Store, tmp_path: Path) -> None:
    (workspace / "edit.txt").write_bytes(b"old\n")
    (workspace / "gone.txt").write_bytes(b"deleted content\n")
    (workspace / "input.txt").write_bytes(b"input\n")
    (workspace / "link").symlink_to("input.txt")
    recorder, _ = make_recorder(workspace, store, tmp_path / "snap",
                                settings=CaptureSettings(capture_reads="all"))

    play(recorder, Operation.READ, workspace / "input.txt")
    play(recorder, Operation.WRITE, workspace / "edit.txt",
         lambda: (workspace / "edit.txt").write_bytes(b"new\n"))
    play(recorder, Operation.DELETE, workspace / "gone.txt",
         lambda: (workspace / "gone.txt").unlink())
    play(recorder, Operation.CREATE, workspace / "made.txt",
         lambda: (workspace / "made.txt").write_bytes(b"made\n"))
    play(recorder, Operation.CREATE, workspace / "tmp.txt",
         lambda: (workspace / "tmp.txt").write_bytes(b"scratch"))
    play(recorder, Operation.DELETE, workspace / "tmp.txt",
         lambda: (workspace / "tmp.txt").unlink())
    play(recorder, Operation.METADATA, workspace / "link")
    play(recorder, Operation.DELETE, workspace / "absent", result=-2)
    recorder.on_event(TraceWarning(pid=7, message="io_uring not traced"))
    manifest = recorder.finish(run_facts())

    assert [e.path for e in manifest.files] == sorted(e.path for e in manifest.files)
    edit = entry(manifest, workspace / "edit.txt")
    assert edit.operations == (Operation.WRITE,)
    assert content(store, edit.before.blob) == b"old\n"
    assert content(store, edit.after.blob) == b"new\n"
    assert edit.before.blob_source == "store"

    gone = entry(manifest, workspace / "gone.txt")
    assert content(store, gone.before.blob) == b"deleted content\n"
    assert gone.after.exists is False and gone.after.tombstone is True

    made = entry(manifest, workspace / "made.txt")
    assert made.before.exists is False
    assert content(store, made.after.blob) == b"made\n"

    scratch = entry(manifest, workspace / "tmp.txt")
    assert scratch.operations == (Operation.CREATE, Operation.DELETE)
    assert scratch.after.not_captured == CREATED_AND_DELETED
    assert scratch.after.blob is None and scratch.before.blob is None

    read = entry(manifest, workspace / "input.txt")
    assert read.operations == (Operation.READ,)
    assert content(store, read.before.blob) == b"input\n"
    assert read.after.blob == read.before.blob

    link = entry(manifest, workspace / "link")
    assert link.before.type == "symlink" and link.before.target == b"input.txt"
    assert link.before.blob is None

    assert entry(manifest, workspace / "absent").operations == (Operation.EXISTENCE,)
    assert b"".join(store.open_content(gone, "before")) == b"deleted content\n"
    with pytest.raises(ContentNotFoundError, match=r"no after-content of .*gone.txt: it did not"):
        store.open_content(gone, "after")
    with pytest.raises(ContentNotFoundError, match="not captured: created and deleted"):
        store.open_content(scratch, "after")
    with pytest.raises(ContentNotFoundError, match="it was a symlink"):
        store.open_content(link, "before")
    assert manifest.warnings == ("pid 7: io_uring not traced",)
    assert manifest.backend == "test-copy"
    assert "recording" in manifest.timings
    assert load_manifest(dump_manifest(manifest), "test") == manifest


def test_renamed_directory_lists_what_moved(
    workspace: Path, store: Store, tmp_path: Path
) -> None:
    (workspace / "old" / "sub").mkdir(parents=True)
    (workspace / "old" / "sub" / "f.txt").write_bytes(b"f")
    recorder, snapshot = make_recorder(workspace, store, tmp_path / "snap")
    event = PathEvent(pid=1, tid=1, syscall="renameat2", operation=Operation.RENAME,
                      path=os.fsencode(workspace / "old"), result=0,
                      related_path=os.fsencode(workspace / "new"))
    recorder.before_mutation(event)
    (workspace / "old").rename(workspace / "new")
    recorder.on_event(event)
    recorder.on_event(PathEvent(pid=1, tid=1, syscall="renameat2", operation=Operation.CREATE,
                                path=os.fsencode(workspace / "new"), result=0,
                                related_path=os.fsencode(workspace / "old")))
    manifest = recorder.finish(run_facts())

    assert (os.fsencode(workspace / "old"), True) in snapshot.captured
    moved_from = entry(manifest, workspace / "old" / "sub" / "f.txt")
    moved_to = entry(manifest, workspace / "new" / "sub" / "f.txt")
    assert moved_from.operations == (Operation.RENAME,)
    assert content(store, moved_from.before.blob) == b"f"
    assert moved_from.after.tombstone
    assert content(store, moved_to.after.blob) == b"f"
    assert entry(manifest, workspace / "new").after.type == "directory"


def test_outside_paths_are_captured_at_first_mutation(
    workspace: Path, store: Store, tmp_path: Path
) -> None:
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "config").write_bytes(b"v1")
    recorder, _ = make_recorder(workspace, store, tmp_path / "snap")
    play(recorder, Operation.WRITE, outside / "config",
         lambda: (outside / "config").write_bytes(b"v2"))
    play(recorder, Operation.WRITE, outside / "config",
         lambda: (outside / "config").write_bytes(b"v3"))
    manifest = recorder.finish(run_facts())

    config = entry(manifest, outside / "config")
    assert config.in_workspace is False
    assert content(store, config.before.blob) == b"v1"
    assert content(store, config.after.blob) == b"v3"


def test_ignored_store_and_snapshot_paths_are_left_out(
    workspace: Path, store: Store, tmp_path: Path
) -> None:
    ignored = tmp_path / "cache"
    ignored.mkdir()
    recorder, snapshot = make_recorder(workspace, store, tmp_path / "snap",
                                       ignores=(os.fsencode(ignored),))
    play(recorder, Operation.WRITE, ignored / "x", lambda: (ignored / "x").write_bytes(b"x"))
    play(recorder, Operation.READ, store.root / "cowsnap-store.json")
    assert snapshot.location is not None
    play(recorder, Operation.READ, snapshot.location)
    manifest = recorder.finish(run_facts())
    assert manifest.files == ()


@pytest.mark.parametrize(("kind", "clones"), [("ext4", False), ("xfs", True), ("btrfs", True)])
def test_size_cap_copies_nothing_but_clones_are_free(
    kind: str, clones: bool, request: pytest.FixtureRequest
) -> None:
    """Over the cap a content is not copied ("too large"); where the filesystem can
    clone it into the store it is kept anyway, at no cost in data."""
    directory: Path = request.getfixturevalue(f"{kind}_dir")
    workspace = directory / "workspace"
    workspace.mkdir()
    store = Store.open(directory / "store")
    (workspace / "big").write_bytes(b"x" * 100)
    recorder, _ = make_recorder(workspace, store, directory / "snap",
                                settings=CaptureSettings(max_file_size=10))
    play(recorder, Operation.WRITE, workspace / "big",
         lambda: (workspace / "big").write_bytes(b"y" * 100))
    big = entry(recorder.finish(run_facts()), workspace / "big")
    assert big.before.size == 100
    if clones:
        assert content(store, big.before.blob) == b"x" * 100
        assert content(store, big.after.blob) == b"y" * 100
        assert big.before.not_captured is None
    else:
        assert big.before.blob is None and big.before.not_captured == TOO_LARGE
        assert big.after.blob is None and big.after.not_captured == TOO_LARGE


def _timeless(state: FileState) -> FileState:
    """A directory's time is when the run changed it: never the same twice."""
    return dataclasses.replace(state, mtime_ns=None) if state.type == "directory" else state


def test_same_stream_gives_the_same_manifest_on_any_copy(
    store: Store, tmp_path: Path
) -> None:
    """Entries hold nothing of the snapshot: two workspaces differing only in location
    and snapshot produce identical entries once paths are made relative."""
    results = []
    for name in ("one", "two"):
        workspace = (tmp_path / name).resolve()
        workspace.mkdir()
        (workspace / "a").write_bytes(b"a")
        os.utime(workspace / "a", ns=(1, 1))
        recorder, _ = make_recorder(workspace, store, tmp_path / f"snap-{name}")
        play(recorder, Operation.DELETE, workspace / "a", lambda w=workspace: (w / "a").unlink())
        manifest = recorder.finish(run_facts())
        results.append([(os.path.relpath(e.path, os.fsencode(workspace)), e.operations,
                         _timeless(e.before), _timeless(e.after), e.git)
                         for e in manifest.files])
        shutil.rmtree(workspace)
    assert results[0] == results[1]


def test_failed_mutations_count_as_existence_checks(
    workspace: Path, store: Store, tmp_path: Path
) -> None:
    recorder, _ = make_recorder(workspace, store, tmp_path / "snap")
    recorder.on_event(PathEvent(pid=1, tid=1, syscall="unlinkat", operation=Operation.DELETE,
                                path=os.fsencode(workspace / "nothing"), result=-2))
    nothing = entry(recorder.finish(run_facts()), workspace / "nothing")
    assert nothing.operations == (Operation.EXISTENCE,)
    assert nothing.before.exists is False and nothing.after.exists is False


def test_outside_paths_without_a_hook(workspace: Path, store: Store, tmp_path: Path) -> None:
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "read").write_bytes(b"r")
    recorder, _ = make_recorder(workspace, store, tmp_path / "snap")
    recorder.on_event(PathEvent(pid=1, tid=1, syscall="openat", operation=Operation.READ,
                                path=os.fsencode(outside / "read"), result=3))
    (outside / "unseen").write_bytes(b"u")
    recorder.on_event(PathEvent(pid=1, tid=1, syscall="openat", operation=Operation.WRITE,
                                path=os.fsencode(outside / "unseen"), result=3))
    manifest = recorder.finish(run_facts())
    read = entry(manifest, outside / "read")
    assert read.before == read.after and read.before.exists and read.before.blob is None
    unseen = entry(manifest, outside / "unseen")
    assert unseen.before.exists is False
    assert unseen.before.not_captured is not None
    assert unseen.before.not_captured.startswith("before-state not seen")
    assert content(store, unseen.after.blob) == b"u"


def test_paths_through_a_symlink_loop(workspace: Path, store: Store, tmp_path: Path) -> None:
    (workspace / "d").symlink_to("d/e")
    recorder, _ = make_recorder(workspace, store, tmp_path / "snap")
    play(recorder, Operation.WRITE, workspace / "d" / "e", result=-40)
    play(recorder, Operation.RENAME, workspace / "d",
         lambda: (workspace / "d").rename(workspace / "k"), related=workspace / "k")
    manifest = recorder.finish(run_facts())
    loop = entry(manifest, workspace / "d" / "e")
    assert loop.before.exists is False and loop.after.exists is False
    assert entry(manifest, workspace / "k").after.target == b"d/e"



def test_outside_paths_only_probed_get_no_git_status(
    workspace: Path, store: Store, tmp_path: Path
) -> None:
    """A PATH lookup through a repository's directory must not list that repository."""
    tools = tmp_path / "tools"
    tools.mkdir()
    make_repository(tools)
    recorder, _ = make_recorder(workspace, store, tmp_path / "snap")
    recorder.on_event(PathEvent(pid=1, tid=1, syscall="newfstatat",
                                operation=Operation.EXISTENCE,
                                path=os.fsencode(tools / "cat"), result=-2))
    manifest = recorder.finish(run_facts())
    assert entry(manifest, tools / "cat").git.in_repo is False
    assert manifest.git_repositories == ()
