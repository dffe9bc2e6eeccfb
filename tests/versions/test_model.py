"""Versions in the manifest: JSON round trip, validation, and the contents they add."""

from __future__ import annotations

import json

import pytest

from cowsnap.errors import CorruptManifestError
from cowsnap.model import (
    FileEntry,
    FileState,
    Manifest,
    Operation,
    Version,
    dump_manifest,
    load_manifest,
)

BLOB_A = "a" * 40
BLOB_B = "b" * 40


def version(number: int, blob: str | None = BLOB_A, **changes: object) -> Version:
    fields: dict[str, object] = dict(
        number=number, time="2026-11-21T09:00:00.000001Z", trigger="close", pid=42,
        exe="/usr/bin/python3", comm="python3", size=3, blob=blob)
    fields.update(changes)
    return Version(**fields)  # type: ignore[arg-type]


def manifest(*versions: Version, globs: tuple[str, ...] = ("*.txt",)) -> Manifest:
    entry = FileEntry(
        path=b"/w/out.txt", operations=(Operation.WRITE,),
        before=FileState(exists=False),
        after=FileState(exists=True, type="file", mode=0o100644, size=3, mtime_ns=1,
                        uid=0, blob=BLOB_B, blob_source="store"),
        versions=versions)
    return Manifest(run_id="r", tool_version="0", command=("x",), exit_status=0,
                    start_cwd="/w", workspace="/w", backend="copy", uid=0, gid=0,
                    started_at="t", finished_at="t", files=(entry,), version_globs=globs)


def test_versions_round_trip() -> None:
    original = manifest(version(1), version(2, None, not_captured="too large", size=9),
                        version(3, BLOB_B, trigger="rename", exe=None, comm=None))
    assert load_manifest(dump_manifest(original), "m.json") == original


def test_an_entry_without_versions_has_no_versions_key() -> None:
    data = json.loads(dump_manifest(manifest(globs=())))
    assert "versions" not in data["files"][0]
    assert data["version_globs"] == []


def test_manifests_from_before_versions_still_load() -> None:
    data = json.loads(dump_manifest(manifest()))
    del data["version_globs"]
    loaded = load_manifest(json.dumps(data).encode(), "m.json")
    assert loaded.version_globs == ()
    assert loaded.files[0].versions == ()


@pytest.mark.parametrize(("change", "reason"), [
    (lambda v: v.update(number=2), "numbered"),
    (lambda v: v.update(trigger="write"), "unknown value"),
    (lambda v: v.pop("pid"), "lacks key 'pid'"),
    (lambda v: v.update(size="3"), "wrong type"),
])
def test_damaged_versions_are_a_corrupt_manifest(change: object, reason: str) -> None:
    data = json.loads(dump_manifest(manifest(version(1))))
    change(data["files"][0]["versions"][0])  # type: ignore[operator]
    with pytest.raises(CorruptManifestError, match=reason):
        load_manifest(json.dumps(data).encode(), "m.json")


def test_content_states_include_every_kept_version() -> None:
    entry = manifest(version(1), version(2, None, not_captured="unreadable")).files[0]
    states = entry.content_states()
    assert [state.blob for state in states] == [None, BLOB_B, BLOB_A, None]
    assert states[2].blob_source == "store"
    assert states[3].not_captured == "unreadable"
