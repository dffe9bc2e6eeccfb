"""Manifest JSON: byte-exact round trips, validation, and the documented schema."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cowsnap.errors import CorruptManifestError
from cowsnap.model import (
    FileEntry,
    FileState,
    GitInfo,
    GitRepository,
    Manifest,
    Operation,
    dump_manifest,
    load_manifest,
)
from cowsnap.model.schema import ALL_OBJECTS

DOC = Path(__file__).resolve().parents[2] / "docs" / "manifest.md"


def manifest_with(*files: FileEntry) -> Manifest:
    return Manifest(
        run_id="20261121T093012Z-3fa9c1", tool_version="0.1.0", command=("make", "test"),
        exit_status=0, start_cwd="/w", workspace="/w", backend="btrfs", uid=1000, gid=1000,
        started_at="2026-11-21T09:30:12Z", finished_at="2026-11-21T09:30:13Z",
        git_repositories=(GitRepository("/w", "ab" * 20, True, "cd" * 20, False),),
        files=tuple(sorted(files, key=lambda entry: entry.path)),
        warnings=("pid 3: io_uring",), timings={"tracing": 1.5},
    )


def full_entry(path: bytes, target: bytes = b"t") -> FileEntry:
    return FileEntry(
        path=path,
        operations=(Operation.READ, Operation.WRITE),
        before=FileState(exists=True, type="symlink", mode=0o120777, size=1, mtime_ns=5,
                         uid=0, target=target),
        after=FileState(exists=True, type="file", mode=0o100644, size=3, mtime_ns=6, uid=0,
                        blob="ef" * 20, blob_source="store", not_captured=None),
        git=GitInfo(in_repo=True, root="/w", head="ab" * 20, relative_path="a",
                    tracked=True, dirty=True, ignored=False),
    )


def test_round_trip_keeps_non_utf8_paths_byte_exact() -> None:
    weird = b"/w/caf\xe9-\xff\x00name"[:-5] + b"\n\x01"
    manifest = manifest_with(
        full_entry(weird, target=b"\xfe\xfd"),
        FileEntry(path=b"/w/deleted", operations=(Operation.DELETE,),
                  before=FileState(exists=True, type="file", mode=0o100600, size=0,
                                   mtime_ns=0, uid=0, blob="00" * 20, blob_source="git"),
                  after=FileState(exists=False, tombstone=True)),
        FileEntry(path="/w/ünïcode".encode(), operations=(Operation.EXISTENCE,),
                  before=FileState(exists=False), after=FileState(exists=False)),
    )
    raw = dump_manifest(manifest)
    raw.decode("ascii")
    loaded = load_manifest(raw, "m.json")
    assert loaded == manifest
    by_path = {entry["path"]: entry for entry in json.loads(raw)["files"]}
    assert by_path["/w/ünïcode"].get("path_b64") is None
    assert any("path_b64" in entry for entry in by_path.values())


@given(st.binary(min_size=1, max_size=40), st.binary(max_size=20))
def test_any_path_round_trips(tail: bytes, target: bytes) -> None:
    manifest = manifest_with(full_entry(b"/" + tail.replace(b"\x00", b""), target))
    assert load_manifest(dump_manifest(manifest), "m.json") == manifest


def corrupt(change: str) -> bytes:
    data = json.loads(dump_manifest(manifest_with(full_entry(b"/w/a"), full_entry(b"/w/b"))))
    exec(change, {"data": data})
    return json.dumps(data).encode()


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ("data['schema'] = 'cowsnap.manifest/2'", "schema"),
        ("del data['run_id']", "run_id"),
        ("data['exit_status'] = 'zero'", "exit_status"),
        ("data['uid'] = True", "uid"),
        ("data['files'].reverse()", "sorted"),
        ("data['files'][0]['operations'] = ['teleport']", "teleport"),
        ("data['files'][0]['path'] = 'relative'", "absolute"),
        ("data['files'][0]['before']['type'] = 'pipe'", "pipe"),
        ("del data['files'][0]['git']['tracked']", "tracked"),
        ("data['files'][0]['path_b64'] = '!!'", "base64"),
        ("data['capture_reads'] = 'some'", "capture_reads"),
        ("data['command'] = ['make', 1]", "command"),
        ("data['timings'] = {'tracing': 'slow'}", "timings"),
        ("data['files'][0]['before'] = []", "key 'before' has the wrong type"),
    ],
)
def test_defects_are_one_line_errors_naming_the_file(change: str, reason: str) -> None:
    with pytest.raises(CorruptManifestError) as caught:
        load_manifest(corrupt(change), "/store/runs/x/manifest.json")
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith("corrupt manifest /store/runs/x/manifest.json: ")
    assert reason in message


@pytest.mark.parametrize("raw", [b"", b"{", b"[]", b"\xff\xfe", b"null"])
def test_garbage_is_a_corrupt_manifest(raw: bytes) -> None:
    with pytest.raises(CorruptManifestError, match=r"m\.json"):
        load_manifest(raw, "m.json")


def test_later_keys_are_tolerated() -> None:
    original = manifest_with(full_entry(b"/w/a"))
    data = json.loads(dump_manifest(original))
    data["future"] = 1
    data["files"][0]["git"]["future"] = 2
    assert load_manifest(json.dumps(data).encode(), "m.json") == original


def documented_keys() -> dict[str, set[str]]:
    """`### <object>` headings of docs/manifest.md, each followed by a table of `key`s."""
    sections: dict[str, set[str]] = {}
    current: set[str] | None = None
    for line in DOC.read_text().splitlines():
        heading = re.fullmatch(r"### (.+)", line)
        if heading:
            current = sections.setdefault(heading.group(1).strip().lower(), set())
        elif current is not None and (row := re.match(r"\|\s*`([a-z0-9_]+)`\s*\|", line)):
            current.add(row.group(1))
    return sections


def test_docs_describe_exactly_the_schema() -> None:
    documented = documented_keys()
    assert {name: set(keys) for name, keys in ALL_OBJECTS.items()} == {
        name: documented.get(name, set()) for name in ALL_OBJECTS
    }
