"""Git packfiles (version 2) of whole blobs: how a run keeps its contents in one file.

A loose object costs a file, a rename and a directory entry per content (about
0.4 ms each on ext4, XFS and btrfs, more than hashing and compressing a
typical source file); a pack costs one append. A run's contents go into one
pack (`PackWriter`), installed in `objects.git/objects/pack/` with its index
before the run's manifest is published, so git and libgit2 read it as any
other pack. Only whole (undeltified) blobs are written; packs written by git
itself (`git gc`) may hold deltas, which only libgit2 reads (`copy_entries`
hands such entries back to the caller).

Layout, as git defines it (gitformat-pack(5)):
  pack: "PACK", version 2, object count; per object a size/type header and the
        zlib stream of its bytes; the SHA-1 of everything before, as trailer.
  idx:  magic, version 2, fan-out table, sorted ids, CRC-32 of each entry,
        offsets (31-bit, or an index into a table of 64-bit ones), the pack's
        trailer, the SHA-1 of everything before.
"""

from __future__ import annotations

import hashlib
import mmap
import os
import re
import struct
import sys
import threading
import zlib
from array import array
from collections.abc import Callable, Iterator, Set
from pathlib import Path

from cowsnap.errors import StoreError
from cowsnap.store.atomic import fsync_dir
from cowsnap.store.deflate import checksum, deflate

BLOB_TYPE = 3
DELTA_TYPES = (6, 7)
IDX_MAGIC = b"\xfftOc"
IDX_HEADER = 8 + 256 * 4
ID_BYTES = 20
BULK_LOOKUP = 16
"""Ids looked up in an index one by one below 1/16 of its size; above, in one pass."""
TRAILER = 20
COPY_CHUNK = 1 << 20
WRITE_FROM = 1 << 20
"""Appends are gathered up to this many bytes before one write (a run's contents are
mostly small: a write each cost a system call each)."""


def entry_header(kind: int, size: int) -> bytes:
    """The variable-length type and size that starts each object in a pack."""
    first = (kind << 4) | (size & 0x0F)
    size >>= 4
    out = bytearray()
    while size:
        out.append(first | 0x80)
        first = size & 0x7F
        size >>= 7
    out.append(first)
    return bytes(out)


def parse_entry_header(data: bytes | mmap.mmap, offset: int) -> tuple[int, int, int]:
    """(type, size, offset of the data after the header) of the object at `offset`."""
    byte = data[offset]
    kind, size, shift = (byte >> 4) & 7, byte & 0x0F, 4
    offset += 1
    while byte & 0x80:
        if shift > 63:
            raise ValueError("object header too long")
        byte = data[offset]
        size |= (byte & 0x7F) << shift
        shift += 7
        offset += 1
    return kind, size, offset


def inflate_entry(stream: bytes | memoryview, announced: int) -> bytes | None:
    """The bytes of the zlib stream at the start of `stream`, which must be `announced`
    bytes long: never more than one byte beyond is inflated (a bomb costs nothing).
    None when `stream` ends before the zlib stream does; ValueError saying why the
    stream is not what was announced. The one inflate of a pack entry (both read
    paths); loose objects are inflated piece by piece (`content.inflate_loose`)."""
    inflater = zlib.decompressobj()
    try:
        data = inflater.decompress(stream, announced + 1)
    except zlib.error as error:
        raise ValueError(f"does not inflate ({error})") from None
    if not inflater.eof and len(data) <= announced:
        return None
    if len(data) != announced or not inflater.eof:
        raise ValueError(f"holds more than the {announced} bytes its header says")
    return data



class PackWriter:
    """Appends blobs to a new pack in `scratch`; `install` moves it (and its index)
    into `pack_dir`. `add` may be called from several threads: compression runs
    outside the lock (zlib releases the GIL), only the append is serialised."""

    def __init__(self, scratch: Path, pack_dir: Path) -> None:
        self._scratch = scratch
        self._pack_dir = pack_dir
        self._temp = scratch / f"{os.getpid()}.{os.urandom(8).hex()}.pack"
        self._fd = os.open(self._temp, os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
        self._lock = threading.Lock()
        self._names: set[bytes] = set()
        self._order: list[bytes] = []
        self._offsets = array("Q")
        self._crcs = array("I")
        """Each entry's id, offset and CRC-32, in the order appended (arrays: a run of
        100,000 contents would hold 100,000 objects of each)."""
        self._size = 12
        self._gathered: list[bytes] = []
        self._written = 12
        """Bytes in the file; the rest of `_size` is gathered, not yet written."""
        os.pwrite(self._fd, b"PACK" + struct.pack(">II", 2, 0), 0)

    def __len__(self) -> int:
        return len(self._order)

    def __contains__(self, blob: str) -> bool:
        return bytes.fromhex(blob) in self._names

    def add(self, blob: str, data: bytes | memoryview) -> None:
        """Append `data` under its git blob id `blob` (the caller hashed it)."""
        packed = entry_header(BLOB_TYPE, len(data)) + deflate(data)
        self.add_raw(bytes.fromhex(blob), packed)

    def add_raw(self, name: bytes, packed: bytes) -> None:
        """Append an entry already in pack form (header and zlib stream)."""
        with self._lock:
            if name in self._names:
                return
            self._names.add(name)
            self._order.append(name)
            self._offsets.append(self._size)
            self._crcs.append(checksum(packed))
            self._gathered.append(packed)
            self._size += len(packed)
            if self._size - self._written >= WRITE_FROM:
                self._write_gathered()

    def _write_gathered(self) -> None:
        _write_all(self._fd, b"".join(self._gathered), self._written)
        self._gathered.clear()
        self._written = self._size

    def install(self, *, durable: bool = False) -> Path | None:
        """Finish the pack and its index and move both into `pack_dir` (the pack
        first: readers find packs by their index); None, and nothing left, if empty.
        Durability is the caller's (a run: one syncfs before a manifest refers to it),
        unless `durable`: both files and the directory are then fsynced first (a
        repack, which removes the packs it replaces right after)."""
        with self._lock:
            try:
                if not self._order:
                    return None
                self._write_gathered()
                os.pwrite(self._fd, struct.pack(">I", len(self._order)), 8)
                checksum = _hash_fd(self._fd, self._size)
                _write_all(self._fd, checksum, self._size)
                name = f"pack-{checksum.hex()}"
                index = self._scratch / f"{self._temp.name[:-5]}.idx"
                index_fd = os.open(index, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC,
                                   0o600)
                try:
                    os.fchmod(index_fd, 0o600)
                    _write_all(index_fd, _index(self._order, self._offsets, self._crcs,
                                                checksum), 0)
                    if durable:
                        os.fsync(self._fd)
                        os.fsync(index_fd)
                finally:
                    os.close(index_fd)
                os.rename(self._temp, self._pack_dir / f"{name}.pack")
                os.rename(index, self._pack_dir / f"{name}.idx")
                if durable:
                    fsync_dir(self._pack_dir)
                return self._pack_dir / f"{name}.pack"
            finally:
                self._close()

    def abandon(self) -> None:
        with self._lock:
            self._close()

    def _close(self) -> None:
        self._gathered.clear()
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1
            self._temp.unlink(missing_ok=True)


def _write_all(fd: int, data: bytes, offset: int) -> None:
    view = memoryview(data)
    while view:
        written = os.pwrite(fd, view, offset)
        view, offset = view[written:], offset + written


def _hash_fd(fd: int, size: int) -> bytes:
    digest = hashlib.sha1(usedforsecurity=False)
    offset = 0
    while offset < size:
        chunk = os.pread(fd, min(COPY_CHUNK, size - offset), offset)
        if not chunk:
            raise StoreError("a pack being written shrank")
        digest.update(chunk)
        offset += len(chunk)
    return digest.digest()


def _big_endian(values: array[int]) -> bytes:
    if sys.byteorder == "little":
        values.byteswap()
    return values.tobytes()


def _index(names: list[bytes], offsets: array[int], crcs: array[int],
           pack_checksum: bytes) -> bytes:
    """The index of entries `names` at `offsets` with `crcs` (in the order appended)."""
    order = sorted(range(len(names)), key=names.__getitem__)
    fanout = array("I", [0] * 256)
    for name in names:
        fanout[name[0]] += 1
    total = 0
    for byte in range(256):
        total += fanout[byte]
        fanout[byte] = total
    small = array("I")
    large = array("Q")
    for position in order:
        offset = offsets[position]
        if offset < 0x80000000:
            small.append(offset)
        else:
            small.append(0x80000000 | len(large))
            large.append(offset)
    body = b"".join([
        IDX_MAGIC, struct.pack(">I", 2), _big_endian(fanout),
        b"".join(names[position] for position in order),
        _big_endian(array("I", (crcs[position] for position in order))),
        _big_endian(small), _big_endian(large), pack_checksum,
    ])
    return body + hashlib.sha1(body, usedforsecurity=False).digest()


PACK_INDEX_NAME = re.compile(r"pack-(?:[0-9a-f]{40}|[0-9a-f]{64})\.idx")
"""The only pack index names read, as git and PackWriter name them: a bundle's other
names (control characters that reach the terminal in an error) are never packs."""

OpenFile = Callable[[str], int]
"""Opens a file of a pack directory by name, read-only, beneath the store's root: never
through a symlink, never a special file (a FIFO would block), never another owner's
(`StoreRoot.open_file`); StoreError if it is one of those."""


class PackIndex:
    """A pack's index (version 2), mapped read-only: which ids it holds, and where."""

    def __init__(self, path: Path, open_file: OpenFile) -> None:
        self.path = path
        self._open_file = open_file
        fd = open_file(path.name)
        try:
            size = os.fstat(fd).st_size
            if size < IDX_HEADER + 2 * TRAILER:
                raise StoreError(f"pack index {path} is truncated")
            self._map = mmap.mmap(fd, 0, prot=mmap.PROT_READ)
        finally:
            os.close(fd)
        if self._map[:8] != IDX_MAGIC + struct.pack(">I", 2):
            raise StoreError(f"{path} is not a version 2 pack index")
        self.count = struct.unpack_from(">I", self._map, IDX_HEADER - 4)[0]
        self._names = IDX_HEADER
        self._crcs = self._names + ID_BYTES * self.count
        self._offsets = self._crcs + 4 * self.count
        self._large = self._offsets + 4 * self.count
        if self._large + 2 * TRAILER > size:
            raise StoreError(f"pack index {path} is truncated")
        self._sizes: dict[str, int] | None = None
        self._pack_fd = -1

    def _name(self, position: int) -> bytes:
        start = self._names + ID_BYTES * position
        return self._map[start:start + ID_BYTES]

    def position(self, blob: str) -> int | None:
        name = bytes.fromhex(blob)
        low: int = struct.unpack_from(">I", self._map, 8 + 4 * (name[0] - 1))[0] if name[0] else 0
        high: int = struct.unpack_from(">I", self._map, 8 + 4 * name[0])[0]
        while low < high:
            middle = (low + high) // 2
            found = self._name(middle)
            if found == name:
                return middle
            if found < name:
                low = middle + 1
            else:
                high = middle
        return None

    def __contains__(self, blob: str) -> bool:
        return self.position(blob) is not None

    def positions(self, blobs: Set[str]) -> dict[str, int]:
        """The position of each of `blobs` (well-formed hash ids) the index holds: a
        binary search each, or for many, one pass over all the index's ids."""
        if len(blobs) * BULK_LOOKUP < self.count:
            return {blob: position for blob in blobs
                    if (position := self.position(blob)) is not None}
        ids = self._map[self._names:self._crcs].hex()
        width = 2 * ID_BYTES
        return {name: position for position in range(self.count)
                if (name := ids[width * position:width * (position + 1)]) in blobs}

    def offset(self, position: int) -> int:
        value: int = struct.unpack_from(">I", self._map, self._offsets + 4 * position)[0]
        if value & 0x80000000:
            large = self._large + 8 * (value & 0x7FFFFFFF)
            if large + 8 > len(self._map) - 2 * TRAILER:
                raise StoreError(f"pack index {self.path} is damaged: an offset is out of "
                                 f"its table")
            value = struct.unpack_from(">Q", self._map, large)[0]
        return value

    def read(self, blob: str) -> bytes | None:
        """The bytes of whole blob `blob`, or None when the pack holds it as a delta (only
        libgit2 resolves those). StoreError when the entry is not what its header says."""
        if self._sizes is None:
            self.stored_size(blob)
        position = self.position(blob)
        length = None if self._sizes is None else self._sizes.get(blob)
        if position is None or length is None:
            raise StoreError(f"content {blob} is not in pack {self.path.name}")
        if self._pack_fd < 0:
            self._pack_fd = self.open_pack()
        raw = os.pread(self._pack_fd, length, self.offset(position))
        try:
            kind, size, start = parse_entry_header(raw, 0)
        except (IndexError, ValueError):
            raise StoreError(f"content {blob}: damaged entry in {self.path.name}") from None
        if kind in DELTA_TYPES:
            return None
        try:
            data = inflate_entry(memoryview(raw)[start:], size)
        except ValueError as why:
            raise StoreError(f"content {blob} {why}") from None
        if kind != BLOB_TYPE or data is None:
            raise StoreError(f"content {blob}: damaged entry in {self.path.name}")
        return data

    def ids(self) -> Iterator[str]:
        for position in range(self.count):
            yield self._name(position).hex()

    def stored_size(self, blob: str) -> int | None:
        """Bytes the entry of `blob` takes in the pack (None if it is not in it)."""
        if self._sizes is None:
            pack_size = self.path.with_suffix(".pack").stat().st_size
            self._sizes = {name: length for name, (_, length) in self.spans(pack_size).items()}
        return self._sizes.get(blob)

    def spans(self, pack_size: int) -> dict[str, tuple[int, int]]:
        """Each id's (offset, length) of its entry in the pack of `pack_size` bytes."""
        located = sorted((self.offset(position), position) for position in range(self.count))
        ends = [offset for offset, _ in located[1:]] + [pack_size - TRAILER]
        return {self._name(position).hex(): (offset, end - offset)
                for (offset, position), end in zip(located, ends, strict=True)}

    def open_pack(self) -> int:
        """A read-only fd of the pack this index describes, opened like the index."""
        return self._open_file(self.path.with_suffix(".pack").name)

    def close(self) -> None:
        self._map.close()
        if self._pack_fd >= 0:
            os.close(self._pack_fd)
            self._pack_fd = -1


class PackSet:
    """Every pack of an object database: membership without libgit2. The directory
    is listed again only when its mtime changes (a pack installed or removed). Safe
    to use from several threads (a run's pool asks it)."""

    def __init__(self, pack_dir: Path, open_file: OpenFile) -> None:
        self._pack_dir = pack_dir
        self._open_file = open_file
        self._seen: int | None = None
        self._indexes: dict[str, PackIndex] = {}
        self._lock = threading.Lock()

    def _current(self, fresh: bool = True) -> list[PackIndex]:
        with self._lock:
            if fresh or self._seen is None:
                self._refresh()
            return list(self._indexes.values())

    def _refresh(self) -> None:
        try:
            stamp = os.stat(self._pack_dir).st_mtime_ns
        except FileNotFoundError:
            stamp = -1
        if stamp == self._seen:
            return
        self._seen = stamp
        names = set() if stamp < 0 else {
            name for name in os.listdir(self._pack_dir)
            if PACK_INDEX_NAME.fullmatch(name)
            and os.path.exists(self._pack_dir / f"{name[:-4]}.pack")}
        for gone in set(self._indexes) - names:
            self._indexes.pop(gone).close()
        for name in sorted(names - set(self._indexes)):
            try:
                self._indexes[name] = PackIndex(self._pack_dir / name, self._open_file)
            except (OSError, ValueError, StoreError):
                continue

    def find(self, blob: str, *, fresh: bool = True) -> PackIndex | None:
        """The index of a pack holding `blob`. Not `fresh`: among the packs seen when
        the directory was last listed (no stat; a run's writer asks per content)."""
        for index in self._current(fresh):
            if blob in index:
                return index
        return None

    def __contains__(self, blob: str) -> bool:
        return self.find(blob) is not None

    def indexes(self) -> list[PackIndex]:
        return self._current()


def copy_entries(index: PackIndex, keep: set[str], writer: PackWriter) -> list[str]:
    """Copy the whole-blob entries of `keep` from the pack of `index` into `writer`
    as they are (no inflating); return the ids it could not copy so (deltas), which
    the caller re-adds from their bytes."""
    leftover = []
    fd = index.open_pack()
    try:
        spans = index.spans(os.fstat(fd).st_size)
        for blob in sorted(keep & spans.keys()):
            offset, length = spans[blob]
            raw = os.pread(fd, length, offset)
            kind, _size, _start = parse_entry_header(raw, 0)
            if kind in DELTA_TYPES:
                leftover.append(blob)
            else:
                writer.add_raw(bytes.fromhex(blob), raw)
    finally:
        os.close(fd)
    return leftover


def repack(packs: PackSet, keep: set[str], writer: PackWriter,
           read: Callable[[str], bytes], *, most: int) -> tuple[int, int]:
    """Drop from the packs every object not in `keep`: when some pack holds one, or
    there are more than `most` packs (each lookup searches every pack), the objects
    to keep are copied into `writer`'s new pack and the old packs removed, after the
    new one is installed. (objects dropped, bytes freed)"""
    indexes = packs.indexes()
    held = {index.path: set(index.ids()) for index in indexes}
    if len(indexes) <= most and all(ids <= keep for ids in held.values()):
        writer.abandon()
        return 0, 0
    dropped = set()
    for index in indexes:
        for blob in copy_entries(index, keep, writer):
            writer.add(blob, read(blob))
        dropped |= held[index.path] - keep
    installed = writer.install(durable=True)
    # the new pack is named by the hash of its bytes: when it is byte for byte an old
    # one (that pack's objects, all kept, in the order a repack writes them, and every
    # other pack dropped whole), it replaced that pack, which must not be removed
    replaced = None if installed is None else installed.with_suffix(".idx")
    kept_whole = any(index.path == replaced for index in indexes)
    freed = sum(remove_pack(index) for index in indexes if index.path != replaced)
    if installed is not None and not kept_whole:
        freed -= installed.stat().st_size + installed.with_suffix(".idx").stat().st_size
    return len(dropped - keep), max(freed, 0)


def remove_pack(index: PackIndex) -> int:
    """Delete a pack and its index (the index first: readers find packs by it); bytes freed."""
    pack = index.path.with_suffix(".pack")
    freed = 0
    for path in (index.path, pack):
        try:
            freed += path.stat().st_size
            path.unlink()
        except FileNotFoundError:
            continue
    index.close()
    return freed
