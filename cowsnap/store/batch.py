"""Reading many packed contents at once: what a restore of thousands of small files needs.

Read one at a time (`ContentStore.stream`), each content costs a search of the
store's directories, an open of its pack and a read of its entry: about 60 µs,
more than the write it feeds. Here the ids are looked up in the pack indexes
only (a binary search each: nothing proportional to the size of the packs), each
pack is opened once beneath the store's root, and its wanted entries are read in
the order they lie in it, neighbours coalesced into one read. An entry's length
is not in the index: it is guessed from the size the run recorded (what deflate
can take at most, with room to spare), and an entry found longer is read again
alone. Every content is verified against its id and its recorded size, as
`stream` does, before it is handed out.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from typing import NamedTuple

from cowsnap.errors import StoreDamagedError
from cowsnap.store.content import (
    ContentStore,
    blob_id,
    check_announced,
    damaged,
)
from cowsnap.store.pack import (
    BLOB_TYPE,
    DELTA_TYPES,
    TRAILER,
    PackIndex,
    inflate_entry,
    parse_entry_header,
)

READ_AHEAD = 16 * 1024 * 1024
"""Most bytes of a pack read at once."""
GAP = 64 * 1024
"""Entries closer than this share a read (the bytes between are read and skipped)."""
UNKNOWN_LENGTH = 64 * 1024
"""What is read first of an entry whose size the run did not record."""


class _Wanted(NamedTuple):
    offset: int
    blob: str
    size: int | None
    length: int
    """Bytes that surely hold the entry (its header and zlib stream), unless damaged."""


def _wanted(offset: int, blob: str, size: int | None) -> _Wanted:
    return _Wanted(offset, blob, size, UNKNOWN_LENGTH if size is None else _most(size))


def _most(size: int) -> int:
    """More than the header and zlib stream of `size` bytes take: deflate's stored blocks
    add 5 bytes in 65,535, its fixed codes at most one bit in eight."""
    return 1024 + size + (size >> 2)


def _locate(indexes: list[PackIndex], wanted: Mapping[str, int | None]
            ) -> dict[PackIndex, list[_Wanted]]:
    found: dict[PackIndex, list[_Wanted]] = {}
    left = {blob for blob in wanted if not blob.startswith("large-")}
    for index in indexes:
        positions = index.positions(left)
        if positions:
            found[index] = [_wanted(index.offset(position), blob, wanted[blob])
                            for blob, position in positions.items()]
            left -= positions.keys()
    return found


def _runs(entries: list[_Wanted]) -> Iterator[list[_Wanted]]:
    """`entries` (sorted by offset) in groups that one read covers."""
    group: list[_Wanted] = []
    for entry in entries:
        if group and (entry.offset - (group[-1].offset + group[-1].length) > GAP
                      or entry.offset + entry.length - group[0].offset > READ_AHEAD):
            yield group
            group = []
        group.append(entry)
    if group:
        yield group


def _header(entry: _Wanted, chunk: bytes, at: int) -> tuple[int, int, int]:
    """(type, announced size, where its zlib stream starts in `chunk`) of the entry at
    `at`, its announced size checked (`check_announced`) before anything is inflated."""
    try:
        kind, announced, start = parse_entry_header(chunk, at)
    except (IndexError, ValueError):
        raise damaged(entry.blob, "its pack entry is truncated") from None
    check_announced(entry.blob, announced, entry.size)
    return kind, announced, start


def _inflated(entry: _Wanted, kind: int, announced: int, stream: memoryview) -> bytes | None:
    """The bytes of the whole-blob entry whose zlib stream (`kind` and `announced` size
    read from its header) starts `stream`; None when `stream` ends before the zlib
    stream does, StoreDamagedError when it is not what its header says."""
    if kind in DELTA_TYPES:
        raise damaged(entry.blob, "its pack entry changed while it was read")
    try:
        data = inflate_entry(stream, announced)
    except ValueError as why:
        raise damaged(entry.blob, f"it {why}") from None
    if data is not None and kind != BLOB_TYPE:
        raise damaged(entry.blob, "its pack entry is not what its header says")
    return data


class _Pack:
    """One pack file, open beneath the store's root, read in coalesced pieces."""

    def __init__(self, store: ContentStore, index: PackIndex) -> None:
        self._store = store
        self.name = index.path.name
        try:
            self.fd = store.directory.open_file(store.pack_name(f"{index.path.stem}.pack"))
        except OSError as error:
            raise StoreDamagedError(f"cannot open the pack of {self.name}: "
                                    f"{error.strerror}") from None
        self.end = os.fstat(self.fd).st_size - TRAILER

    def read(self, offset: int, length: int) -> bytes:
        """Up to `length` bytes at `offset`, fewer only at the end of the pack's entries."""
        length = min(length, self.end - offset)
        chunk = os.pread(self.fd, length, offset) if length > 0 else b""
        if len(chunk) != max(length, 0):
            raise StoreDamagedError(f"pack {self.name} is truncated")
        return chunk

    def content(self, entry: _Wanted, chunk: bytes, at: int) -> bytes:
        """The verified content of `entry`, found at `at` in `chunk` (read again alone,
        in longer pieces, when the chunk ends before it does)."""
        kind, announced, start = _header(entry, chunk, at)
        data = self._store.read_delta(entry.blob) if kind in DELTA_TYPES else \
            self._whole(entry, kind, announced, memoryview(chunk)[start:], len(chunk) - at)
        if blob_id(data) != entry.blob:
            raise damaged(entry.blob, "it does not match its id")
        return data

    def _whole(self, entry: _Wanted, kind: int, announced: int, stream: memoryview,
               length: int) -> bytes:
        """`stream`: from the entry's zlib stream to the end of the `length` bytes read
        from the entry's start. Inflated first from no more than the entry can take:
        zlib copies whatever input is left once its stream ends, and the rest of a read
        of thousands of entries is long; the same bytes come out either way."""
        most = _most(announced)
        data = _inflated(entry, kind, announced, stream[:most])
        if data is None and len(stream) > most:
            data = _inflated(entry, kind, announced, stream)
        while data is None:
            if entry.offset + length >= self.end or length > most:
                raise damaged(entry.blob, "its pack entry is truncated")
            length = max(2 * length, UNKNOWN_LENGTH)
            chunk = self.read(entry.offset, length)
            kind, announced, start = _header(entry, chunk, 0)
            data = _inflated(entry, kind, announced, memoryview(chunk)[start:])
        return data


def read_packed(store: ContentStore, wanted: Mapping[str, int | None]
                ) -> Iterator[tuple[str, bytes]]:
    """(id, bytes) of each content of `wanted` (id to its recorded size, when known) that
    a pack holds, verified; ids no pack holds are left out (read them with `stream`).
    StoreDamagedError on the first damaged one."""
    for index, entries in _locate(store.packs.indexes(), wanted).items():
        entries.sort(key=lambda entry: entry.offset)
        pack = _Pack(store, index)
        try:
            for group in _runs(entries):
                start = group[0].offset
                chunk = pack.read(start, group[-1].offset + group[-1].length - start)
                for entry in group:
                    yield entry.blob, pack.content(entry, chunk, entry.offset - start)
        finally:
            os.close(pack.fd)
