"""Reading many packed contents at once (what restore does): every one verified against its
id and size, ids no pack holds left to the caller, damage refused."""

from __future__ import annotations

import os

import pytest

from cowsnap.errors import StoreDamagedError
from cowsnap.store import batch, content
from cowsnap.store.batch import read_packed
from cowsnap.store.content import blob_id
from cowsnap.store.keeping import ContentWriter
from cowsnap.store.store import Store
from tests.store.test_pack import contents, git, packs


def keep_in_a_pack(store: Store, data: list[bytes]) -> list[str]:
    with ContentWriter(store.contents) as writer:
        return [writer.keep_bytes(content) for content in data]


@pytest.mark.parametrize("gap, read_ahead", [(64 * 1024, 16 * 1024 * 1024), (0, 1), (10, 300)])
def test_packed_contents_are_read_from_every_pack(store: Store, monkeypatch: pytest.MonkeyPatch,
                                                  gap: int, read_ahead: int) -> None:
    monkeypatch.setattr(batch, "GAP", gap)
    monkeypatch.setattr(batch, "READ_AHEAD", read_ahead)
    first = contents(60, salt=b"first")
    second = contents(40, salt=b"second")
    ids = keep_in_a_pack(store, first) + keep_in_a_pack(store, second)
    assert len(packs(store)) == 2
    loose = store.contents.put_bytes(b"a loose object\n")
    absent = blob_id(b"never stored\n")
    wanted = {blob: len(content) for blob, content in zip(ids, first + second, strict=True)
              if int(blob, 16) % 3}
    found = dict(read_packed(store.contents, {**wanted, loose: 15, absent: 13,
                                              "large-" + "0" * 32: None}))
    assert set(found) == set(wanted)
    assert all(blob_id(data) == blob and len(data) == wanted[blob]
               for blob, data in found.items())


def test_a_flipped_byte_in_a_pack_is_refused(store: Store) -> None:
    data = contents(40)
    ids = keep_in_a_pack(store, data)
    [pack] = packs(store)
    raw = bytearray(pack.read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    pack.chmod(0o600)
    pack.write_bytes(bytes(raw))
    with pytest.raises(StoreDamagedError, match="is damaged"):
        dict(read_packed(store.contents, {blob: len(content)
                                          for blob, content in zip(ids, data, strict=True)}))


@pytest.mark.parametrize("unknown_length", [16, 64 * 1024])
def test_contents_of_unrecorded_size_are_read_whole(store: Store, monkeypatch: pytest.MonkeyPatch,
                                                   unknown_length: int) -> None:
    monkeypatch.setattr(batch, "UNKNOWN_LENGTH", unknown_length)
    data = [os.urandom(number * 37) for number in range(30)] + [os.urandom(200_000)]
    ids = keep_in_a_pack(store, data)
    found = dict(read_packed(store.contents, dict.fromkeys(ids)))
    assert [found[blob] for blob in ids] == data


def test_a_truncated_pack_is_refused(store: Store) -> None:
    data = [os.urandom(5000) for _ in range(20)]
    ids = keep_in_a_pack(store, data)
    [pack] = packs(store)
    raw = pack.read_bytes()
    pack.chmod(0o600)
    pack.write_bytes(raw[:len(raw) // 2])
    with pytest.raises(StoreDamagedError):
        dict(read_packed(store.contents, {blob: 5000 for blob in ids}))


def test_a_size_other_than_the_recorded_one_is_refused(store: Store) -> None:
    blob, *_others = keep_in_a_pack(store, [b"twelve bytes", *contents(20)])
    with pytest.raises(StoreDamagedError, match="announces 12 bytes"):
        dict(read_packed(store.contents, {blob: 13}))
    assert dict(read_packed(store.contents, {blob: None})) == {blob: b"twelve bytes"}


def test_contents_git_stored_as_deltas_are_read(store: Store) -> None:
    base = b"".join(b"line %d of a long file\n" % number for number in range(2000))
    versions = [base + b"change %d\n" % number for number in range(20)]
    ids = keep_in_a_pack(store, versions)
    for blob in ids:
        git(store, "update-ref", f"refs/keep/{blob}", blob)
    git(store, "repack", "-a", "-d", "-f", "-q")
    found = dict(read_packed(store.contents, {blob: None for blob in ids}))
    assert [found[blob] for blob in ids] == versions


def test_a_pack_gone_after_its_index_was_read_is_a_store_error(
        store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    ids = keep_in_a_pack(store, contents(20))
    [pack] = packs(store)
    indexes = store.contents.packs.indexes()
    monkeypatch.setattr(store.contents.packs, "indexes", lambda: indexes)
    pack.unlink()
    with pytest.raises(StoreDamagedError, match="cannot open the pack"):
        dict(read_packed(store.contents, dict.fromkeys(ids)))


def test_a_pack_entry_beyond_what_packs_hold_is_refused_even_when_the_manifest_agrees(
        store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    """A hostile bundle's manifest may record the size of a deflate bomb: a few MB of pack
    inflating to GBs in memory. Packs never hold a content of LARGE_CONTENT or more, so such
    an entry is refused before anything is inflated, whatever the recorded size."""
    bomb = bytes(4000)
    blob, *_others = keep_in_a_pack(store, [bomb, *contents(20)])
    monkeypatch.setattr(content, "LARGE_CONTENT", 1000)
    with pytest.raises(StoreDamagedError, match="announces 4000 bytes"):
        dict(read_packed(store.contents, {blob: 4000}))
    with pytest.raises(StoreDamagedError, match="announces 4000 bytes"):
        b"".join(store.contents.stream(blob, 4000))


def test_entries_longer_than_expected_are_read_whole(store: Store,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """Each zlib stream is inflated first from a piece as long as the entry can be; one
    found longer (here: every one, the bound made tiny) is inflated from the rest of the
    read, or read again alone at the end of it: the same bytes either way."""
    monkeypatch.setattr(batch, "_most", lambda size: 16)
    data = [os.urandom(number * 53) for number in range(1, 30)]
    ids = keep_in_a_pack(store, data)
    found = dict(read_packed(store.contents, dict.fromkeys(ids)))
    assert [found[blob] for blob in ids] == data
