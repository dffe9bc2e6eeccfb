"""Runs in the store: atomic publication, clean-up, resolution, concurrency, bundles."""

from __future__ import annotations

import multiprocessing
import os
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from cowsnap.errors import AmbiguousRunError, CorruptManifestError, RunNotFoundError, StoreError
from cowsnap.model import FileEntry, FileState, GitInfo, Manifest, Operation
from cowsnap.processes import process_start_time
from cowsnap.store.bundle import export_bundle
from cowsnap.store.runs import new_run_id
from cowsnap.store.store import Store


def manifest(run_id: str, workspace: str = "/w", started_at: str = "2026-11-21T09:30:12Z",
             files: tuple[FileEntry, ...] = ()) -> Manifest:
    return Manifest(
        run_id=run_id, tool_version="0.1.0", command=("true",), exit_status=0, start_cwd=workspace,
        workspace=workspace, backend="copy", uid=0, gid=0, started_at=started_at,
        finished_at=started_at, files=files,
    )


def record(store: Store, run_id: str, workspace: str = "/w",
           started_at: str = "2026-11-21T09:30:12Z", files: tuple[FileEntry, ...] = ()) -> None:
    store.runs.begin(run_id).publish(manifest(run_id, workspace, started_at, files))


def test_run_ids_sort_by_time_and_are_unique() -> None:
    early = new_run_id(datetime(2026, 11, 21, 9, 30, 12, tzinfo=UTC))
    assert re.fullmatch(r"20261121T093012Z-[0-9a-f]{6}", early)
    later = new_run_id(datetime(2026, 11, 21, 9, 30, 13, tzinfo=UTC))
    assert early < later
    assert len({new_run_id() for _ in range(200)}) == 200


def test_a_run_is_invisible_until_published(store: Store) -> None:
    pending = store.runs.begin("20261121T093012Z-aaaaaa")
    assert store.runs.ids() == []
    with pytest.raises(RunNotFoundError):
        store.runs.resolve("2026")
    pending.publish(manifest("20261121T093012Z-aaaaaa"))
    assert store.runs.ids() == ["20261121T093012Z-aaaaaa"]
    assert list((store.root / "incomplete").iterdir()) == []
    assert store.runs.load("20261121T093012Z-aaaaaa").run_id == "20261121T093012Z-aaaaaa"
    abandoned = store.runs.begin()
    abandoned.abandon()
    assert list((store.root / "incomplete").iterdir()) == []


def dead_pid() -> int:
    process = multiprocessing.get_context("fork").Process(target=os._exit, args=(0,))
    process.start()
    process.join(10)
    assert process.pid is not None
    return process.pid


def test_incomplete_runs_of_dead_processes_are_removed_at_open(store: Store) -> None:
    mine = store.runs.begin("20261121T093012Z-000001")
    incomplete = store.root / "incomplete"
    (incomplete / f"20261121T093012Z-000002.{dead_pid()}.1").mkdir()
    start_time = process_start_time(os.getpid())
    assert start_time is not None
    (incomplete / f"20261121T093012Z-000003.{os.getpid()}.{start_time - 1}").mkdir()
    (incomplete / "20261121T093012Z-000004").mkdir()
    Store.open(store.root)
    assert [p.name for p in incomplete.iterdir()] == [mine.directory.name]


def test_resolution_by_id_prefix_and_workspace(store: Store) -> None:
    record(store, "20261121T093012Z-aaaaaa", workspace="/w", started_at="2026-11-21T09:30:12Z")
    record(store, "20261121T093013Z-bbbbbb", workspace="/other",
           started_at="2026-11-21T09:30:13Z")
    record(store, "20261121T093014Z-cccccc", workspace="/w", started_at="2026-11-21T09:30:14Z")
    assert store.runs.resolve("20261121T093013") == "20261121T093013Z-bbbbbb"
    assert store.runs.resolve("20261121T093014Z-cccccc") == "20261121T093014Z-cccccc"
    assert store.runs.resolve(None, "/w") == "20261121T093014Z-cccccc"
    assert store.runs.resolve(None, "/other") == "20261121T093013Z-bbbbbb"
    with pytest.raises(AmbiguousRunError, match=r"'2026' is ambiguous: 3 runs match"):
        store.runs.resolve("2026")
    with pytest.raises(RunNotFoundError, match="no run matches 'zzz'"):
        store.runs.resolve("zzz")
    with pytest.raises(RunNotFoundError, match="no runs recorded for workspace /nowhere"):
        store.runs.resolve(None, "/nowhere")
    assert [s.run_id for s in store.runs.summaries("/w")] == [
        "20261121T093014Z-cccccc", "20261121T093012Z-aaaaaa"]
    assert len(store.runs.summaries()) == 3


def test_corrupt_manifest_names_its_file(store: Store) -> None:
    record(store, "20261121T093012Z-aaaaaa")
    path = store.root / "runs" / "20261121T093012Z-aaaaaa" / "manifest.json"
    path.write_text('{"schema": "cowsnap.manifest/1"}')
    with pytest.raises(CorruptManifestError, match=f"{path} is damaged: it does not match"):
        store.runs.load("20261121T093012Z-aaaaaa")
    (path.parent / "checksums.json").unlink()
    with pytest.raises(CorruptManifestError, match=f"corrupt manifest {path}: manifest lacks"):
        store.runs.load("20261121T093012Z-aaaaaa")
    with pytest.raises(RunNotFoundError):
        store.runs.load("../runs")


def test_store_format_version_is_checked(tmp_path: Path) -> None:
    store = Store.open(tmp_path / "store")
    (store.root / "cowsnap-store.json").write_text('{"format": "cowsnap.store", "version": 9}')
    with pytest.raises(StoreError, match="format version 9; this cowsnap reads version 1"):
        Store.open(store.root)
    with pytest.raises(StoreError, match="no cowsnap store at"):
        Store.open(tmp_path / "missing", create=False)
    half_made = tmp_path / "half-made"
    (half_made / "objects.git").mkdir(parents=True)
    (half_made / "lock").touch()
    Store.open(half_made).contents.put_bytes(b"creation was interrupted, then completed")
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "file").write_text("x")
    with pytest.raises(StoreError, match="not empty and not a cowsnap store"):
        Store.open(tmp_path / "busy")


def writer(root: str, number: int) -> None:
    store = Store.open(Path(root))
    shared = store.contents.put_bytes(b"shared content\n" * 100)
    own = store.contents.put_bytes(b"writer %d\n" % number)
    run_id = new_run_id()
    entry = FileEntry(
        path=b"/w/f%d" % number, operations=(Operation.WRITE,),
        before=FileState(exists=True, type="file", mode=0o100644, size=1, mtime_ns=0, uid=0,
                         blob=shared, blob_source="store"),
        after=FileState(exists=True, type="file", mode=0o100644, size=1, mtime_ns=0, uid=0,
                        blob=own, blob_source="store"),
        git=GitInfo(),
    )
    store.runs.begin(run_id).publish(manifest(run_id, files=(entry,)))


def test_concurrent_writers_from_several_processes(tmp_path: Path) -> None:
    context = multiprocessing.get_context("fork")
    processes = [context.Process(target=writer, args=(str(tmp_path / "store"), n))
                 for n in range(6)]
    for process in processes:
        process.start()
    for process in processes:
        process.join(60)
        assert process.exitcode == 0
    store = Store.open(tmp_path / "store", create=False)
    runs = store.runs.ids()
    assert len(runs) == 6
    contents = set()
    for run_id in runs:
        [entry] = store.runs.load(run_id).files
        assert entry.before.blob is not None and entry.after.blob is not None
        contents.add(store.read(entry.after.blob))
        assert store.read(entry.before.blob) == b"shared content\n" * 100
    assert contents == {b"writer %d\n" % n for n in range(6)}
    leftovers = [p for p in store.root.rglob("*") if ".tmp-" in p.name]
    assert leftovers == []


def test_bundle_is_a_self_contained_store(store: Store, tmp_path: Path) -> None:
    kept = store.contents.put_bytes(b"kept")
    entry = FileEntry(
        path=b"/w/f", operations=(Operation.WRITE,),
        before=FileState(exists=True, type="file", mode=0o100644, size=4, mtime_ns=0, uid=0,
                         blob=kept, blob_source="store"),
        after=FileState(exists=False, tombstone=True),
    )
    record(store, "20261121T093012Z-aaaaaa", files=(entry,))
    record(store, "20261121T093013Z-bbbbbb")
    bundle_dir = tmp_path / "bundle"
    export_bundle(store, "20261121T093012Z-aaaaaa", bundle_dir)
    bundle = Store.open(bundle_dir, create=False)
    assert bundle.runs.ids() == ["20261121T093012Z-aaaaaa"]
    assert bundle.read(kept) == b"kept"
    assert bundle.runs.load("20261121T093012Z-aaaaaa") == store.runs.load(
        "20261121T093012Z-aaaaaa")
    with pytest.raises(StoreError, match="not empty"):
        export_bundle(store, "20261121T093013Z-bbbbbb", bundle_dir)
