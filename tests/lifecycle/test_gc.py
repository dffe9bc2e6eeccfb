"""Pruning a real store: runs go, and exactly the contents nothing references with them."""

from __future__ import annotations

import dataclasses
import os
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from cowsnap import api
from cowsnap.errors import StoreDamagedError
from cowsnap.model import Version, dump_manifest
from cowsnap.store.check import check_store
from cowsnap.store.content import LARGE_CONTENT
from cowsnap.store.gc import last_pruned, prune_store
from cowsnap.store.prune import Policy
from cowsnap.store.seals import seal_name, write_seal
from cowsnap.store.store import Store
from tests.conftest import keep_file, rewrite_manifest
from tests.lifecycle.conftest import flip_byte, git_blob_id, loose_path, publish, publish_blobs

NOW = datetime.now(UTC)


def workspace(tmp_path: Path, name: str) -> Path:
    path = tmp_path / name
    path.mkdir(exist_ok=True)
    return path


def test_removed_runs_take_only_their_own_contents(store: Store, tmp_path: Path) -> None:
    ws = workspace(tmp_path, "ws")
    old = publish(store, ws, [b"shared", b"only old"], NOW - timedelta(hours=3))
    new = publish(store, ws, [b"shared", b"only new"], NOW - timedelta(hours=1))
    outcome = prune_store(store, Policy(keep_last=1), now=NOW)
    assert [decision.run_id for decision in outcome.plan.removed] == [old]
    assert store.runs.ids() == [new]
    assert store.contents.has(store.contents.put_bytes(b"shared"))
    assert outcome.reclaimed is not None and outcome.reclaimed.contents == 1
    assert not loose_path(store, git_blob_id(b"only old")).exists()
    assert loose_path(store, git_blob_id(b"only new")).exists()
    assert check_store(store).ok
    assert last_pruned(store) == NOW


def test_unreferenced_contents_and_dead_writers_leftovers_are_reclaimed(
        store: Store, tmp_path: Path) -> None:
    ws = workspace(tmp_path, "ws")
    kept = publish(store, ws, [b"kept"])
    orphan = store.contents.put_bytes(b"stored by a run that was killed")
    dead_pid = _dead_pid()
    fan_out = loose_path(store, orphan).parent
    (fan_out / f".{orphan[2:]}.tmp-{dead_pid}-0badc0de").write_bytes(b"half")
    (store.contents.scratch / f"{dead_pid}.0123456789abcdef").write_bytes(b"half large")
    (store.contents.scratch / f"{os.getpid()}.fedcba9876543210").write_bytes(b"mine")
    outcome = prune_store(store, Policy(), now=NOW)
    assert outcome.reclaimed is not None
    assert (outcome.reclaimed.contents, outcome.reclaimed.leftovers) == (1, 2)
    assert not fan_out.exists()
    assert os.listdir(store.contents.scratch) == [f"{os.getpid()}.fedcba9876543210"]
    assert store.runs.ids() == [kept]


def test_runs_of_missing_workspaces_are_removed(store: Store, tmp_path: Path) -> None:
    here, gone = workspace(tmp_path, "here"), workspace(tmp_path, "gone")
    keep = publish(store, here, [b"a"])
    publish(store, gone, [b"b"])
    shutil.rmtree(gone)
    outcome = prune_store(store, Policy(), now=NOW)
    assert [d.reasons for d in outcome.plan.removed] == [
        (f"its workspace {gone} no longer exists",)]
    assert store.runs.ids() == [keep]


def test_dry_run_changes_nothing(store: Store, tmp_path: Path) -> None:
    ws = workspace(tmp_path, "ws")
    for hours in (3, 2, 1):
        publish(store, ws, [f"content {hours}".encode()], NOW - timedelta(hours=hours))
    orphan = store.contents.put_bytes(b"orphan")
    before = _files(store)
    outcome = prune_store(store, Policy(keep_last=1), now=NOW, dry_run=True)
    assert len(outcome.plan.removed) == 2 and outcome.reclaimed is None
    assert _files(store) == before
    assert store.contents.has(orphan)
    assert last_pruned(store) is None


def test_max_size_counts_stored_bytes(store: Store, tmp_path: Path) -> None:
    ws = workspace(tmp_path, "ws")
    runs = [publish(store, ws, [os.urandom(4000)], NOW - timedelta(hours=hours))
            for hours in (4, 3, 2, 1)]
    full = prune_store(store, Policy(), now=NOW, dry_run=True).plan.size_before
    outcome = prune_store(store, Policy(max_size=full // 2), now=NOW)
    assert [decision.run_id for decision in outcome.plan.removed] == [runs[1], runs[0]]
    assert outcome.plan.size_after <= full // 2
    assert check_store(store).ok


def test_large_contents_and_their_seals_are_reclaimed(store: Store, tmp_path: Path) -> None:
    ws = workspace(tmp_path, "ws")
    big = tmp_path / "big"
    big.write_bytes(os.urandom(1024) * (LARGE_CONTENT // 1024))
    blob = keep_file(store, big)
    old = publish_blobs(store, ws, [(blob, LARGE_CONTENT)], NOW - timedelta(hours=2))
    publish(store, ws, [b"small"], NOW - timedelta(hours=1))
    write_seal(store.directory, blob, git_blob_id(big.read_bytes()))
    seal = store.root / seal_name(blob)
    assert seal.exists()
    outcome = prune_store(store, Policy(keep_last=1), now=NOW)
    assert [decision.run_id for decision in outcome.plan.removed] == [old]
    assert not (store.root / store.contents.large_name(blob)).exists()
    assert not seal.exists()
    assert outcome.reclaimed is not None and outcome.reclaimed.size >= LARGE_CONTENT


def test_a_damaged_manifest_stops_prune_before_it_deletes(store: Store, tmp_path: Path) -> None:
    ws = workspace(tmp_path, "ws")
    damaged = publish(store, ws, [b"maybe referenced"])
    orphan = store.contents.put_bytes(b"orphan")
    (store.runs.published / damaged / "manifest.json").write_text("{")
    with pytest.raises(StoreDamagedError, match="cannot prune"):
        prune_store(store, Policy(), now=NOW)
    assert store.contents.has(orphan)


def test_api_prune_without_a_store_does_nothing(tmp_path: Path, isolated_home: Path) -> None:
    result = api.prune(Policy(keep_last=1), store=tmp_path / "none", workspace=tmp_path)
    assert result.plan.decisions == () and not (tmp_path / "none").exists()


def _dead_pid() -> int:
    """A pid no process can have: pid_max itself (the kernel hands out pids below it;
    any pid below may be taken on a busy machine whose pids have wrapped)."""
    return int(Path("/proc/sys/kernel/pid_max").read_text())


def _files(store: Store) -> list[tuple[str, bytes]]:
    """Every file of the store but the lock files, with its content."""
    return sorted((str(path), path.read_bytes()) for path in store.root.rglob("*")
                  if path.is_file() and not path.name.endswith("lock"))


def test_contents_of_versions_are_referenced_too(store: Store, tmp_path: Path) -> None:
    ws = workspace(tmp_path, "ws")
    run_id = publish(store, ws, [b"final"])
    manifest = store.runs.load(run_id)
    blob = store.contents.put_bytes(b"an intermediate version")
    version = Version(number=1, time=manifest.started_at, trigger="close", pid=1, exe=None,
                      comm=None, size=23, blob=blob)
    entry = dataclasses.replace(manifest.files[0], versions=(version,))
    rewrite_manifest(store.runs.published / run_id / "manifest.json",
                     dump_manifest(dataclasses.replace(manifest, files=(entry,))))
    prune_store(store, Policy(), now=NOW)
    assert store.contents.has(blob)
    assert check_store(store).contents == 2
    flip_byte(loose_path(store, blob), 3)
    assert [problem.subject for problem in check_store(store).problems] == [f"content {blob}"]
