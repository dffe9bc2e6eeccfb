"""A manifest is written as the JSON encoder writes `manifest_to_dict`: the direct
encoding of the usual entries (model/encoding.py `_EntryWriter`) gives the same bytes
for every entry, usual or not."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from cowsnap.model import (
    FileEntry,
    FileState,
    GitInfo,
    Manifest,
    Operation,
    Version,
    dump_manifest,
    load_manifest,
    manifest_chunks,
    manifest_to_dict,
)
from cowsnap.model.encoding import CHUNK_ENTRIES
from tests.record.test_manifest import manifest_with


def reference_bytes(manifest: Manifest) -> bytes:
    """The manifest as `json` writes its dict, one file entry per line."""
    data = manifest_to_dict(manifest)
    files = data.pop("files")
    head = json.dumps(data, separators=(", ", ": "))[:-1]
    if not files:
        return f'{head}, "files": []}}\n'.encode("ascii")
    lines = ",\n".join(json.dumps(entry, separators=(", ", ": ")) for entry in files)
    return f'{head}, "files": [\n{lines}\n]}}\n'.encode("ascii")


texts = st.text(max_size=6)
paths = st.one_of(st.binary(max_size=6), texts.map(str.encode)).map(lambda tail: b"/w/" + tail)
numbers = st.one_of(st.none(), st.integers(min_value=0, max_value=2**64 - 1),
                    st.booleans())  # not a valid value, but json writes it as `true`
xattrs = st.one_of(st.none(), st.just(()), st.lists(
    st.tuples(texts.map(lambda name: "user." + name), st.binary(max_size=4)),
    max_size=2, unique_by=lambda pair: pair[0]).map(lambda pairs: tuple(sorted(pairs))))
present = st.builds(
    FileState, exists=st.just(True),
    type=st.sampled_from(["file", "directory", "symlink", "fifo", "other"]),
    mode=numbers, size=numbers, mtime_ns=numbers, uid=numbers, gid=numbers,
    blob=st.one_of(st.none(), st.just("ab" * 20), st.just("large-" + "c" * 32), texts),
    blob_source=st.sampled_from([None, "store", "git"]),
    target=st.one_of(st.none(), st.binary(max_size=4)), xattrs=xattrs,
    links=st.lists(paths, max_size=2).map(tuple),
    not_captured=st.one_of(st.none(), texts))
absent = st.builds(FileState, exists=st.just(False), tombstone=st.booleans(),
                   not_captured=st.one_of(st.none(), texts))
states = st.one_of(present, absent, st.just(FileState(exists=False)))
contexts = st.one_of(st.just(GitInfo()), st.builds(
    GitInfo, in_repo=st.booleans(), root=st.one_of(st.none(), texts),
    head=st.one_of(st.none(), texts), relative_path=st.one_of(st.none(), texts),
    tracked=st.booleans(), dirty=st.booleans(), ignored=st.booleans()))
versions = st.lists(st.builds(
    Version, number=st.integers(1, 3), time=texts, trigger=st.sampled_from(["close"]),
    pid=st.integers(1, 99), exe=st.one_of(st.none(), texts), comm=st.none(), size=numbers,
    blob=st.one_of(st.none(), texts), not_captured=st.one_of(st.none(), texts)), max_size=1)
entries = st.builds(
    FileEntry, path=paths,
    operations=st.lists(st.sampled_from(list(Operation)), min_size=1, max_size=3,
                        unique=True).map(tuple),
    before=states, after=states, git=contexts, in_workspace=st.booleans(),
    versions=versions.map(tuple), renamed_from=st.one_of(st.none(), paths),
    renamed_to=st.one_of(st.none(), paths))


@settings(max_examples=300, deadline=None)
@given(st.lists(entries, max_size=6, unique_by=lambda entry: entry.path))
def test_every_entry_is_written_as_json_writes_it(files: list[FileEntry]) -> None:
    manifest = manifest_with(*files)
    assert dump_manifest(manifest) == reference_bytes(manifest)


def test_shared_operations_and_contexts_are_written_per_entry() -> None:
    """Entries sharing an operation list or git context, and more entries than one piece
    holds, are each written whole, in path order."""
    context = GitInfo(in_repo=True, root="/w", head="ab" * 20, relative_path="é",
                      tracked=True, dirty=False, ignored=False)
    shared = (Operation.CREATE,)
    state = FileState(exists=True, type="file", mode=0o100644, size=3, mtime_ns=7, uid=0,
                      gid=0, blob="ef" * 20, blob_source="store", xattrs=())
    files = [FileEntry(path=b"/w/f%04d" % number, operations=shared, before=FileState(
        exists=False), after=state, git=context if number % 2 else GitInfo())
        for number in reversed(range(CHUNK_ENTRIES * 2 + 3))]
    manifest = manifest_with(*files)
    raw = b"".join(manifest_chunks(manifest))
    assert raw == reference_bytes(manifest)
    assert load_manifest(raw, "m.json") == manifest


def test_an_empty_manifest_is_written_as_json_writes_it() -> None:
    manifest = manifest_with()
    assert dump_manifest(manifest) == reference_bytes(manifest)
