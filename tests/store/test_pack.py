"""A run's contents in one git pack: readable by git, deduplicated, dropped when the
run fails, and reclaimed (repacked) by pruning."""

from __future__ import annotations

import os
import subprocess
import threading
import zlib
from pathlib import Path

import pytest

from cowsnap.errors import StoreError
from cowsnap.store import content as content_module
from cowsnap.store import keeping
from cowsnap.store.content import blob_id
from cowsnap.store.keeping import ContentWriter
from cowsnap.store.pack import entry_header, inflate_entry, parse_entry_header
from cowsnap.store.store import Store


def git(store: Store, *args: str, data: bytes | None = None) -> bytes:
    return subprocess.run(["git", f"--git-dir={store.contents.git_dir}", *args], input=data,
                          check=True, capture_output=True,
                          env={"PATH": os.environ["PATH"], "GIT_CONFIG_NOSYSTEM": "1",
                               "HOME": str(store.root)}).stdout


def packs(store: Store) -> list[Path]:
    return sorted(store.contents.pack_dir.glob("*.pack"))


def loose(store: Store) -> list[Path]:
    return [path for fan_out in store.contents.objects.iterdir() if len(fan_out.name) == 2
            for path in fan_out.iterdir()]


def contents(count: int, salt: bytes = b"") -> list[bytes]:
    return [salt + b"line %d\n" % number * (number % 50) + os.urandom(number % 7)
            for number in range(count)]


@pytest.mark.parametrize("size", [0, 1, 15, 16, 127, 128, 2**20 + 3])
def test_entry_headers_round_trip(size: int) -> None:
    header = entry_header(3, size)
    assert parse_entry_header(header + b"rest", 0) == (3, size, len(header))


def test_many_contents_go_into_one_pack_git_reads(store: Store, tmp_path: Path) -> None:
    data = contents(300)
    files = []
    for number, content in enumerate(data):
        files.append(tmp_path / f"f{number}")
        files[-1].write_bytes(content)
    with ContentWriter(store.contents) as writer:
        ids = writer.map(writer.keep_path, [os.fsencode(path) for path in files])
    assert ids == [blob_id(content) for content in data]
    assert len(packs(store)) == 1 and loose(store) == []
    git(store, "verify-pack", str(packs(store)[0].with_suffix(".idx")))
    for blob, content in zip(ids, data, strict=True):
        assert store.contents.has(blob)
        assert store.read(blob) == content
        assert git(store, "cat-file", "blob", blob) == content
        size = store.contents.stored_size(blob)
        assert size is not None and size > 0
    assert not store.contents.has(blob_id(b"never stored"))


def test_positions_of_few_and_of_many_ids_are_each_id_s_position(store: Store) -> None:
    data = contents(300)
    with ContentWriter(store.contents) as writer:
        ids = [writer.keep_bytes(content) for content in data]
    (index,) = store.contents.packs.indexes()
    absent = {blob_id(b"never stored %d" % number) for number in range(40)}
    for wanted in ({ids[0], *list(absent)[:3]}, set(ids[:250]) | absent):  # few, many
        assert index.positions(wanted) == {
            blob: position for blob in wanted
            if (position := index.position(blob)) is not None}
    assert set(index.positions(set(ids))) == set(ids)
    assert store.contents.held([*ids[:5], *absent]) == set(ids[:5])


def test_a_few_contents_are_loose_objects(store: Store) -> None:
    data = contents(3)
    with ContentWriter(store.contents) as writer:
        ids = [writer.keep_bytes(content) for content in data]
        assert all(writer.has(blob) for blob in ids)
    assert packs(store) == [] and len(loose(store)) == len(set(ids))
    assert git(store, "cat-file", "blob", ids[2]) == data[2]


def test_contents_already_stored_are_not_written_again(store: Store) -> None:
    data = contents(100)
    with ContentWriter(store.contents) as writer:
        for content in data:
            writer.keep_bytes(content)
    with ContentWriter(store.contents) as writer:
        for content in data * 2:
            writer.keep_bytes(content)
    assert len(packs(store)) == 1


def test_threads_keeping_the_same_contents(store: Store) -> None:
    data = contents(200)
    with ContentWriter(store.contents) as writer:
        threads = [threading.Thread(target=lambda: [writer.keep_bytes(c) for c in data])
                   for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    [pack] = packs(store)
    [index] = store.contents.packs.indexes()
    assert index.path == pack.with_suffix(".idx")
    assert index.count == len({blob_id(content) for content in data})


def test_an_abandoned_writer_leaves_nothing(store: Store) -> None:
    with pytest.raises(RuntimeError), ContentWriter(store.contents) as writer:
        for content in contents(100):
            writer.keep_bytes(content)
        raise RuntimeError("the run failed")
    assert packs(store) == [] and loose(store) == []
    assert list(store.contents.scratch.iterdir()) == []


def test_large_contents_stay_raw_files(store: Store, tmp_path: Path,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(content_module, "LARGE_CONTENT", 1000)
    big = tmp_path / "big"
    big.write_bytes(os.urandom(5000))
    with ContentWriter(store.contents) as writer:
        blob = writer.keep_path(os.fsencode(big))
    assert blob is not None and store.contents.large_size(blob) == 5000
    assert store.read(blob) == big.read_bytes()


def test_pruning_drops_unreferenced_packed_contents_and_merges_packs(
        store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(keeping, "PACK_FROM_COUNT", 2)
    batches = [contents(20, salt=b"%d" % number) for number in range(content_module.MAX_PACKS)]
    for batch in batches:
        with ContentWriter(store.contents) as writer:
            for content in batch:
                writer.keep_bytes(content)
    assert len(packs(store)) == content_module.MAX_PACKS
    kept = {blob_id(content) for batch in batches[::2] for content in batch}
    dropped, freed = store.contents.reclaim_packed(kept)
    assert dropped == sum(len(batch) for batch in batches[1::2]) and freed > 0
    assert len(packs(store)) == 1
    for batch in batches:
        for content in batch:
            assert store.contents.has(blob_id(content)) == (blob_id(content) in kept)
    assert all(store.read(blob) for blob in kept)
    assert store.contents.reclaim_packed(kept) == (0, 0), "nothing more to do"


def _pack_each(store: Store, *batches: list[bytes]) -> None:
    """One pack per batch, each by a run of its own (a fresh store object each)."""
    for batch in batches:
        with ContentWriter(Store.open(store.root).contents) as writer:
            for content in batch:
                writer.keep_bytes(content)


def test_a_repack_byte_for_byte_a_kept_pack_keeps_it(
        store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    """A pack a prune wrote (sorted), kept whole, beside a pack dropped whole: the
    next prune writes that same pack again, under the same name; it replaced the
    old one, which must not then be removed (it was: every kept content lost)."""
    monkeypatch.setattr(keeping, "PACK_FROM_COUNT", 2)
    kept, dropped, later = contents(20, b"kept"), contents(20, b"gone"), contents(20, b"late")
    _pack_each(store, kept, dropped)
    ids = {blob_id(content) for content in kept}
    assert Store.open(store.root).contents.reclaim_packed(ids)[0] == 20
    [merged] = packs(store)
    _pack_each(store, later)
    assert Store.open(store.root).contents.reclaim_packed(ids)[0] == 20
    assert packs(store) == [merged]
    reopened = Store.open(store.root)
    assert all(reopened.read(blob_id(content)) == content for content in kept)
    assert not any(reopened.contents.has(blob_id(content)) for content in later)


def test_a_repack_is_durable_before_the_packs_it_replaces_are_removed(
        store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(keeping, "PACK_FROM_COUNT", 2)
    first, second = contents(20, b"one"), contents(20, b"two")
    _pack_each(store, first, second)
    old = packs(store)
    events: list[tuple[str, str]] = []
    fsync, unlink = os.fsync, os.unlink

    def noting_fsync(fd: int) -> None:
        events.append(("fsync", os.readlink(f"/proc/self/fd/{fd}")))
        fsync(fd)

    def noting_unlink(path: str | bytes | os.PathLike[str], *, dir_fd: int | None = None
                      ) -> None:
        events.append(("unlink", os.fsdecode(path)))
        unlink(path, dir_fd=dir_fd)

    monkeypatch.setattr(os, "fsync", noting_fsync)
    monkeypatch.setattr(os, "unlink", noting_unlink)
    Store.open(store.root).contents.reclaim_packed({blob_id(content) for content in first})
    [new] = packs(store)
    pack_dir = f"{store.contents.pack_dir}/"
    removals = [number for number, (call, what) in enumerate(events)
                if call == "unlink" and what.startswith(pack_dir)]
    assert sorted(events[number][1] for number in removals) == sorted(
        str(path.with_suffix(suffix)) for path in old for suffix in (".idx", ".pack"))
    first_removal = removals[0]
    synced = {what for call, what in events[:first_removal] if call == "fsync"}
    assert {str(store.contents.pack_dir)} <= synced
    scratch = f"{store.contents.scratch}/"
    assert any(what.startswith(scratch) and what.endswith(".pack") for what in synced), synced
    assert any(what.startswith(scratch) and what.endswith(".idx") for what in synced), synced
    assert Store.open(store.root).read(blob_id(first[0])) == first[0]
    assert new not in old


def test_pruning_rewrites_packs_git_deltified(store: Store) -> None:
    base = b"".join(b"line %d of a long file\n" % number for number in range(2000))
    versions = [base + b"change %d\n" % number for number in range(20)]
    with ContentWriter(store.contents) as writer:
        ids = [writer.keep_bytes(version) for version in versions]
    for blob in ids:
        git(store, "update-ref", f"refs/keep/{blob}", blob)
    git(store, "repack", "-a", "-d", "-f", "-q")
    [repacked] = packs(store)
    assert b"chain length = 1" in git(store, "verify-pack", "-v",
                                      str(repacked.with_suffix(".idx")))
    store.contents.reclaim_packed(set(ids[:5]))
    assert [store.read(blob) for blob in ids[:5]] == versions[:5]
    assert not any(store.contents.has(blob) for blob in ids[5:])


def test_a_damaged_packed_content_is_refused(store: Store) -> None:
    data = contents(40)
    with ContentWriter(store.contents) as writer:
        ids = [writer.keep_bytes(content) for content in data]
    [pack] = packs(store)
    raw = bytearray(pack.read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    pack.chmod(0o600)
    pack.write_bytes(bytes(raw))
    damaged = 0
    for blob, content in zip(ids, data, strict=True):
        try:
            assert store.read(blob) == content
        except StoreError:
            damaged += 1
    assert damaged == 1


def test_keep_paths_keeps_each_readable_file_in_order(store: Store, tmp_path: Path) -> None:
    data = contents(150, salt=b"ahead ")
    paths = []
    for number, content in enumerate(data):
        paths.append(tmp_path / f"f{number}")
        paths[-1].write_bytes(content)
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    link = tmp_path / "link"
    link.symlink_to(paths[0])
    odd = [tmp_path / "missing", fifo, link, tmp_path]
    mixed = [*paths[:70], *odd, *paths[70:]]
    open_before = set(os.listdir("/proc/self/fd"))
    with ContentWriter(store.contents) as writer:
        kept = writer.keep_paths([os.fsencode(path) for path in mixed])
    assert set(os.listdir("/proc/self/fd")) <= open_before  # none left open
    expected = [blob_id(content) for content in data]
    assert kept == [*expected[:70], None, None, None, None, *expected[70:]]
    git(store, "verify-pack", str(packs(store)[0].with_suffix(".idx")))
    assert git(store, "cat-file", "-p", expected[100]) == data[100]


def test_a_pack_entry_inflates_to_exactly_its_announced_size() -> None:
    data = b"some content\n" * 1000
    stream = zlib.compress(data)
    assert inflate_entry(stream + b"next entry", len(data)) == data
    assert inflate_entry(stream[:len(stream) // 2], len(data)) is None  # read further
    with pytest.raises(ValueError, match="holds more"):
        inflate_entry(stream, len(data) - 1)
    with pytest.raises(ValueError, match="does not inflate"):
        inflate_entry(b"\x78\x01" + bytes(range(200)), len(data))
    bomb = zlib.compress(bytes(64 * 1024 * 1024))
    with pytest.raises(ValueError, match="holds more"):  # inflates 11 bytes, not 64 MiB
        inflate_entry(bomb, 10)
