"""Storage of file contents, keyed by git blob id.

Small contents are zlib-compressed loose objects of a bare git repository
(`objects.git`), so git tooling can read them and ids of clean tracked files
coincide with ours. Contents of LARGE_CONTENT bytes or more are kept raw under
`large/`: compressing them costs far more than the space it saves. Where the
filesystem can clone the source (reflink), the content is cloned and named by a
random `large-...` id instead of being hashed: hashing alone costs ten times a
warm read, a clone nearly nothing, and the filesystem shares the extents anyway.
Elsewhere they are hashed first (an id already present costs that one read),
then copied in the kernel. Figures: docs/store.md, bench/store.py. Every write
is atomic and private (0600 files, 0700 dirs).
"""

from __future__ import annotations

import errno
import hashlib
import os
import re
import zlib
from collections.abc import Generator, Iterable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

from cowsnap.errors import ContentNotFoundError, StoreDamagedError, StoreError
from cowsnap.gitlib.objects import ObjectDatabase, init_bare_repository
from cowsnap.libc import clone_if_possible, syncfs_path
from cowsnap.model.state import LARGE_PREFIX
from cowsnap.store import deflate
from cowsnap.store.atomic import storage_error
from cowsnap.store.pack import PackSet, PackWriter, parse_entry_header, repack
from cowsnap.store.rooted import StoreRoot
from cowsnap.store.seals import UNHASHED, read_seal_record, write_seal

LARGE_CONTENT = 32 * 1024 * 1024
MAX_PACKS = 8
"""Pruning merges the packs into one beyond this many (every lookup searches each)."""
CHUNK = 1024 * 1024
KEEP_IN_MEMORY = 8 * 1024 * 1024
"""A loose object up to this size is inflated once, kept while it is verified."""
MAX_HEADER = 32
GIT_DIR = "objects.git"
OBJECTS_DIR = f"{GIT_DIR}/objects"
LARGE_DIR = "large"
SCRATCH_DIR = "tmp"
_BLOB_ID = re.compile(r"[0-9a-f]{40}|large-[0-9a-f]{32}")
_NO_FAST_COPY = {errno.EXDEV, errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP, errno.EBADF}


def check_blob_id(blob: str) -> str:
    """`blob` if it is a well-formed id; manifests are input, so never trust them as paths."""
    if not _BLOB_ID.fullmatch(blob):
        raise StoreError(f"not a content id: {blob!r}")
    return blob


def blob_header(size: int) -> bytes:
    return b"blob %d\x00" % size


def blob_id(data: bytes) -> str:
    """The git blob id of `data`."""
    digest = hashlib.sha1(blob_header(len(data)), usedforsecurity=False)
    digest.update(data)
    return digest.hexdigest()


def hash_fd(fd: int, size: int) -> str:
    """The git blob id of the first `size` bytes of `fd`."""
    digest = hashlib.sha1(blob_header(size), usedforsecurity=False)
    buffer = bytearray(CHUNK)
    view = memoryview(buffer)
    offset = 0
    while offset < size:
        count = os.preadv(fd, [view[: min(CHUNK, size - offset)]], offset)
        if count == 0:
            raise StoreError("a file shrank while it was being stored")
        digest.update(view[:count])
        offset += count
    return digest.hexdigest()


def read_whole(fd: int, size: int) -> bytes:
    """The bytes of the regular file open at `fd`, from its start to its end, in one
    read when it still has `size` bytes (the end is where a read comes back short)."""
    parts = []
    offset = 0
    want = size + 1
    while True:
        chunk = os.pread(fd, want, offset)
        parts.append(chunk)
        offset += len(chunk)
        if len(chunk) < want:
            return parts[0] if len(parts) == 1 else b"".join(parts)
        want = CHUNK


def clone_or_copy(source_fd: int, target_fd: int, size: int) -> bool:
    """Copy `size` bytes; share extents (FICLONE) when the filesystem can. True if cloned."""
    if clone_if_possible(source_fd, target_fd):
        return True
    offset = 0
    use_copy_range = True
    while offset < size:
        try:
            if use_copy_range:
                count = os.copy_file_range(source_fd, target_fd, size - offset, offset, offset)
            else:
                os.lseek(target_fd, offset, os.SEEK_SET)
                count = os.sendfile(target_fd, source_fd, offset, min(size - offset, 1 << 30))
        except OSError as error:
            if not use_copy_range or error.errno not in _NO_FAST_COPY:
                raise
            use_copy_range = False
            continue
        if count == 0:
            raise StoreError("a file shrank while it was being stored")
        offset += count
    return False


class ContentStore:
    """Contents by id: write once, read many; concurrent writers of one id are harmless.

    Every file is opened beneath the store's root without symlinks (`rooted.py`), and
    every content is verified against its id (or its seal) before any byte of it is
    handed out: nothing damaged or tampered with is ever written, shown or copied.
    """

    def __init__(self, root: StoreRoot) -> None:
        self.directory = root
        self.root = root.path
        self.git_dir = self.root / GIT_DIR
        self.objects = self.git_dir / "objects"
        self.large = self.root / LARGE_DIR
        self.scratch = self.root / SCRATCH_DIR
        self._packed = ObjectDatabase(self.git_dir)
        self.pack_dir = self.objects / "pack"
        self.packs = PackSet(self.pack_dir, lambda name: root.open_file(self.pack_name(name)))
        self._objects_dir = str(self.objects)
        self._large_dir = str(self.large)
        self._unsynced = False

    def initialise(self) -> None:
        """Create the object repository and directories (idempotent; caller holds the lock)."""
        if not self.directory.exists(f"{GIT_DIR}/HEAD"):
            init_bare_repository(self.git_dir)
        for directory in (LARGE_DIR, SCRATCH_DIR):
            self.directory.make_directories(directory)
        make_private(self.git_dir)

    def loose_name(self, blob: str) -> str:
        """Where the loose object of `blob` is, relative to the store's root (the one
        place that says so; open it through `directory`, beneath the root)."""
        return f"{OBJECTS_DIR}/{blob[:2]}/{blob[2:]}"

    def pack_name(self, pack: str) -> str:
        """Where the pack file `pack` (its file name) is, relative to the store's root."""
        return f"{OBJECTS_DIR}/pack/{pack}"

    def large_name(self, blob: str) -> str:
        """Where the raw file of a large content is, relative to the store's root."""
        return f"{LARGE_DIR}/{blob}"

    def loose_files(self) -> Iterator[tuple[str | None, os.DirEntry[str]]]:
        """Each file among the loose objects with the content id it holds (None for a
        writer's temporary file, named `.<...>`); the caller may delete each as it goes:
        a fan-out directory left empty is removed once its files are handed out."""
        for fan_out in _entries(self._objects_dir):
            if len(fan_out.name) != 2 or not fan_out.is_dir(follow_symlinks=False):
                continue
            for entry in _entries(fan_out.path):
                yield (None if entry.name.startswith(".") else fan_out.name + entry.name), entry
            if not any(_entries(fan_out.path)):
                os.rmdir(fan_out.path)

    def large_files(self) -> Iterator[tuple[str | None, os.DirEntry[str]]]:
        """Each raw file of a large content with its id (None for a temporary file)."""
        for entry in _entries(self._large_dir):
            yield (None if entry.name.startswith(".") else entry.name), entry

    def has(self, blob: str) -> bool:
        check_blob_id(blob)
        if blob.startswith(LARGE_PREFIX):
            return os.path.exists(os.path.join(self._large_dir, blob))
        if os.path.exists(os.path.join(self._objects_dir, blob[:2], blob[2:])):
            return True
        return os.path.exists(os.path.join(self._large_dir, blob)) or blob in self.packs

    def held(self, blobs: Iterable[str]) -> set[str]:
        """Which of `blobs` the store holds (`has` for many: the packs are asked first,
        their indexes already in memory, the directories only for the rest)."""
        wanted = set(blobs)
        for blob in wanted:
            check_blob_id(blob)
        found: set[str] = set()
        hashed = {blob for blob in wanted if not blob.startswith(LARGE_PREFIX)}
        for index in self.packs.indexes():
            found.update(index.positions(hashed - found))
        found.update(blob for blob in wanted - found if self.has(blob))
        return found

    def has_loose(self, blob: str) -> bool:
        """Whether `blob` is a loose object (one stat; `blob` a well-formed hash id)."""
        return os.path.exists(os.path.join(self._objects_dir, blob[:2], blob[2:]))

    def loose_fanout(self) -> frozenset[str]:
        """The two-digit directories of loose objects there are now: a blob whose
        first two digits name none is not loose (no stat needed to know)."""
        try:
            names = os.listdir(self._objects_dir)
        except FileNotFoundError:
            return frozenset()
        return frozenset(name for name in names if len(name) == 2)

    def put_bytes(self, data: bytes) -> str:
        """Store `data` as a compressed loose object; return its id."""
        blob = blob_id(data)
        name = self.loose_name(blob)
        if self.directory.exists(name):
            return blob
        try:
            self.directory.make_directories(os.path.dirname(name))
            compressor = deflate.compressor()
            with self.directory.atomic_writer(name, durable=False) as handle:
                handle.write(compressor.compress(blob_header(len(data))))
                handle.write(compressor.compress(data))
                handle.write(compressor.flush())
        except OSError as error:
            raise storage_error(error, "store a content") from None
        self._unsynced = True
        return blob

    def stored_size(self, blob: str) -> int | None:
        """Bytes the store spends on `blob` (a raw file, a loose object or a pack
        entry), or None when it does not hold it."""
        check_blob_id(blob)
        index = None if blob.startswith(LARGE_PREFIX) else self.packs.find(blob)
        if index is not None:
            return index.stored_size(blob)
        for path in (os.path.join(self._large_dir, blob),
                     os.path.join(self._objects_dir, blob[:2], blob[2:])):
            try:
                return os.stat(path).st_size
            except FileNotFoundError:
                continue
        return None

    def reclaim_packed(self, keep: set[str]) -> tuple[int, int]:
        """Drop every packed object not in `keep`, merging the packs into one (and so
        whenever there are more than MAX_PACKS); (objects dropped, bytes freed). Only
        under the exclusive retention lock: no run is writing."""
        if not self.pack_dir.is_dir():
            return 0, 0
        writer = PackWriter(self.scratch, self.pack_dir)
        try:
            return repack(self.packs, keep, writer, self._packed.read, most=MAX_PACKS)
        except BaseException:
            writer.abandon()
            raise

    def mark_unsynced(self) -> None:
        """Something was written that `flush` must make durable (a pack)."""
        self._unsynced = True

    def flush(self) -> bool:
        """Make every content written since the last flush durable (before a manifest
        that refers to them is published). With `syncfs`, so whatever else was written
        in the store is durable too: True; False when nothing needed it (no call)."""
        if not self._unsynced:
            return False
        try:
            syncfs_path(self.root)
        except OSError as error:
            raise storage_error(error, "flush the store to disk") from None
        self._unsynced = False
        return True

    def keep_large(self, fd: int, size: int, *, clone_only: bool) -> tuple[str | None, int]:
        """Keep the file open at `fd` as a raw file: cloned where the filesystem can
        (no data copied), else (unless `clone_only`: None) hashed and copied. With the
        size kept: a clone takes the file as it is then, whatever `size` said."""
        cloned = self._clone(fd)
        if cloned is not None or clone_only:
            return cloned or (None, size)
        return self._copy_large(fd, size), size

    @contextmanager
    def _scratch_file(self) -> Iterator[tuple[int, int, str]]:
        """(fd to write, fd of `tmp/`, name in it) of a new private scratch file."""
        name = f"{os.getpid()}.{os.urandom(8).hex()}"
        scratch = -1
        try:
            scratch = self.directory.open_directory(SCRATCH_DIR)
            out = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC
                          | os.O_NOFOLLOW, 0o600, dir_fd=scratch)
            try:
                yield out, scratch, name
            finally:
                os.close(out)
        except OSError as error:
            raise storage_error(error, "store a large content") from None
        finally:
            if scratch >= 0:
                with suppress(FileNotFoundError):
                    os.unlink(name, dir_fd=scratch)
                os.close(scratch)

    def _install(self, out: int, scratch: int, name: str, blob: str) -> str:
        os.fsync(out)
        self.directory.move_into(scratch, name, LARGE_DIR, blob)
        return blob

    def _clone(self, fd: int) -> tuple[str, int] | None:
        with self._scratch_file() as (out, scratch, name):
            if not clone_if_possible(fd, out):
                return None
            blob = f"{LARGE_PREFIX}{os.urandom(16).hex()}"
            write_seal(self.directory, blob, UNHASHED)
            return self._install(out, scratch, name, blob), os.fstat(out).st_size

    def _copy_large(self, fd: int, size: int) -> str:
        blob = hash_fd(fd, size)
        if self.directory.exists(self.large_name(blob)):
            return blob
        with self._scratch_file() as (out, scratch, name):
            clone_or_copy(fd, out, size)
            if os.fstat(out).st_size != size:
                raise StoreError("a file changed size while it was being stored")
            return self._install(out, scratch, name, blob)

    def adopt_large(self, blob: str, source_fd: int, digest: str) -> None:
        """Take in a large content of another store under its own id (for bundles),
        read from `source_fd`, whose bytes hash to `digest` (verified by the caller):
        a `large-` id is sealed with it, so the bundle carries its checksum."""
        if self.directory.exists(self.large_name(check_blob_id(blob))):
            return
        if blob.startswith(LARGE_PREFIX):
            write_seal(self.directory, blob, digest)
        with self._scratch_file() as (out, scratch, name):
            clone_or_copy(source_fd, out, os.fstat(source_fd).st_size)
            self._install(out, scratch, name, blob)

    def seal_clone(self, blob: str) -> None:
        """Hash a content this store cloned (seal `unhashed`) and seal it, as its
        first reader would: from then on every reader catches a flipped byte, so no
        damage can be sealed as good later (one read of the clone)."""
        with self.open_large(blob):
            pass

    def large_size(self, blob: str) -> int | None:
        """The size of a large content's raw file, None when `blob` is not one."""
        try:
            fd = self.directory.open_file(self.large_name(check_blob_id(blob)))
        except FileNotFoundError:
            return None
        try:
            return os.fstat(fd).st_size
        finally:
            os.close(fd)

    def open_large_file(self, blob: str) -> int | None:
        """A read-only fd of the raw file of a large content, opened beneath the store
        (no symlink, a regular file of the store's owner), not yet verified: see
        `verify_large`. None when `blob` is not a raw large content here."""
        try:
            return self.directory.open_file(self.large_name(check_blob_id(blob)))
        except FileNotFoundError:
            return None

    def open_loose_file(self, blob: str) -> int | None:
        """A read-only fd of the loose object of `blob`, opened beneath the store, not
        yet verified: see `loose_blob_id`. None when `blob` has no loose object here."""
        try:
            return self.directory.open_file(self.loose_name(check_blob_id(blob)))
        except FileNotFoundError:
            return None

    @contextmanager
    def open_large(self, blob: str, size: int | None = None) -> Iterator[tuple[int, str] | None]:
        """(fd, git blob id of its bytes) of the raw file of a large content, verified
        against its id or seal, or None when `blob` is not one; StoreError if damaged."""
        fd = self.open_large_file(blob)
        if fd is None:
            yield None
            return
        try:
            yield fd, self.verify_large(blob, fd, size)
        finally:
            os.close(fd)

    def verify_large(self, blob: str, fd: int, size: int | None) -> str:
        """The git blob id of the large content open at `fd`, checked against its id or
        seal. A content this store cloned and never hashed (seal UNHASHED) is hashed and
        sealed now, by its first reader; one with no seal at all cannot be verified."""
        actual = os.fstat(fd).st_size
        if size is not None and actual != size:
            raise damaged(blob, f"holds {actual} bytes, not {size}")
        expected = blob
        if blob.startswith(LARGE_PREFIX):
            seal = read_seal_record(self.directory, blob)
            if seal is None:
                raise StoreDamagedError(f"content {blob} carries no seal, so it cannot be verified "
                                 "(a bundle carries one for each large content)")
            expected = seal
        digest = hash_fd(fd, actual)
        if expected == UNHASHED:
            with suppress(OSError, StoreError):
                write_seal(self.directory, blob, digest)
        elif digest != expected:
            raise damaged(blob, "it does not match its id or seal")
        return digest

    def stream(self, blob: str, size: int | None = None) -> Generator[bytes, None, None]:
        """The content of `blob` in chunks, verified against its id (or seal) before the
        first chunk; `size`, when known, must match. ContentNotFoundError if it is not
        here, StoreError if it is damaged."""
        check_blob_id(blob)
        try:
            with self.open_large(blob, size) as large:
                if large is not None:
                    yield from _pread_chunks(large[0], os.fstat(large[0]).st_size)
                    return
            fd = self.open_loose_file(blob)
            if fd is not None:
                try:
                    yield from _verified_loose(blob, fd, size)
                finally:
                    os.close(fd)
                return
        except OSError as error:
            raise StoreError(f"cannot read content {blob}: {error.strerror}") from None
        yield self._read_packed(blob, size)

    def _read_packed(self, blob: str, size: int | None) -> bytes:
        index = None if blob.startswith(LARGE_PREFIX) else self.packs.find(blob)
        if index is None:
            raise ContentNotFoundError(f"content {blob} is not in the store")
        announced = self._packed_size(blob, index.path.with_suffix(".pack").name,
                                      index.offset(index.position(blob) or 0))
        check_announced(blob, announced, size)
        try:
            data = index.read(blob)
            if data is None:
                data = self._packed.read(blob)
        except (StoreError, ValueError) as error:
            raise damaged(blob, str(error)) from None
        if blob_id(data) != blob:
            raise damaged(blob, "it does not match its id")
        return data

    def read_delta(self, blob: str) -> bytes:
        """A packed content stored as a delta (only libgit2 resolves those), not verified."""
        try:
            return self._packed.read(blob)
        except ValueError as error:
            raise damaged(blob, str(error)) from None

    def _packed_size(self, blob: str, pack: str, offset: int) -> int:
        """The size a pack entry announces, read before anything is inflated: packs
        hold contents below LARGE_CONTENT only, so a larger one is damage (or a bomb)."""
        fd = self.directory.open_file(self.pack_name(pack))
        try:
            _kind, announced, _start = parse_entry_header(os.pread(fd, 16, offset), 0)
        except (IndexError, ValueError):
            raise damaged(blob, "its pack entry is truncated") from None
        finally:
            os.close(fd)
        return announced

    def read(self, blob: str, size: int | None = None) -> bytes:
        return b"".join(self.stream(blob, size))


def damaged(blob: str, why: str) -> StoreDamagedError:
    return StoreDamagedError(f"content {blob} is damaged: {why} (see cowsnap check)")


def check_announced(blob: str, announced: int, size: int | None) -> None:
    """Refuse a pack entry announcing a size beyond what packs hold (whatever the
    manifest says: a hostile one may agree with a deflate bomb) or other than the
    recorded `size`, before anything is inflated."""
    if announced >= LARGE_CONTENT or (size is not None and announced != size):
        raise damaged(blob, f"its pack entry announces {announced} bytes")


def _entries(directory: str) -> Iterator[os.DirEntry[str]]:
    try:
        with os.scandir(directory) as found:
            yield from found
    except FileNotFoundError:
        return


def _pread_chunks(fd: int, size: int) -> Iterator[bytes]:
    offset = 0
    while offset < size:
        chunk = os.pread(fd, min(CHUNK, size - offset), offset)
        if not chunk:
            raise StoreError("a stored content shrank while it was read")
        offset += len(chunk)
        yield chunk


def inflate_loose(fd: int, size: int | None = None) -> Iterator[bytes]:
    """The bytes of the loose git blob open at `fd`, inflated CHUNK bytes at a time and
    never beyond the size its header announces (which must equal `size`, when known):
    a zlib bomb costs no memory. The first item is the header's size, as bytes of
    ASCII digits. ValueError saying why it is not a whole blob."""
    decompressor = zlib.decompressobj()
    announced: int | None = None
    produced = 0
    pending = b""
    try:
        for compressed in _pread_chunks(fd, os.fstat(fd).st_size):
            data = decompressor.decompress(compressed, CHUNK)
            while True:
                if announced is None:
                    pending += data
                    end = pending.find(b"\x00")
                    if end < 0 and len(pending) > MAX_HEADER:
                        raise ValueError("is not a git blob")
                    data = b""
                    if end >= 0:
                        announced = _blob_size(pending[:end], size)
                        yield b"%d" % announced
                        data = pending[end + 1:]
                if data:
                    produced += len(data)
                    if produced > announced:  # type: ignore[operator]
                        raise ValueError(f"holds more bytes than its header says ({announced})")
                    yield data
                if not decompressor.unconsumed_tail:
                    break
                data = decompressor.decompress(decompressor.unconsumed_tail, CHUNK)
    except zlib.error as error:
        raise ValueError(f"does not inflate ({error})") from None
    if not decompressor.eof:
        raise ValueError("is truncated")
    if announced is None or produced != announced:
        raise ValueError(f"holds {produced} bytes, its header says {announced}")


def _blob_size(header: bytes, expected: int | None) -> int:
    kind, _, size = header.partition(b" ")
    if kind != b"blob" or not size.isdigit() or len(size) > 19:
        raise ValueError("is not a git blob")
    if expected is not None and int(size) != expected:
        raise ValueError(f"holds {int(size)} bytes, not {expected}")
    return int(size)


def loose_blob_id(fd: int, size: int | None = None) -> tuple[str, int]:
    """(git blob id, size) of the loose object open at `fd`; ValueError if it is no blob."""
    chunks = inflate_loose(fd, size)
    announced = int(next(chunks))
    digest = hashlib.sha1(blob_header(announced), usedforsecurity=False)
    for chunk in chunks:
        digest.update(chunk)
    return digest.hexdigest(), announced


def _verified_loose(blob: str, fd: int, size: int | None) -> Iterator[bytes]:
    """A loose object's bytes, verified before any is yielded: kept in memory when
    small, else inflated twice (once to hash, once to hand out)."""
    try:
        chunks = inflate_loose(fd, size)
        announced = int(next(chunks))
        digest = hashlib.sha1(blob_header(announced), usedforsecurity=False)
        kept: list[bytes] = []
        for chunk in chunks:
            digest.update(chunk)
            if announced <= KEEP_IN_MEMORY:
                kept.append(chunk)
        if digest.hexdigest() != blob:
            raise damaged(blob, "it does not match its id")
        if announced <= KEEP_IN_MEMORY:
            yield from kept
            return
        again = inflate_loose(fd, size)
        next(again)
        yield from again
    except ValueError as error:
        raise damaged(blob, f"its loose object {error}") from None


def make_private(top: Path) -> None:
    """chmod a tree to 0700 directories and 0600 files (libgit2 creates 0755/0644)."""
    os.chmod(top, 0o700)
    for directory, subdirs, files in os.walk(top):
        for name in subdirs:
            os.chmod(os.path.join(directory, name), 0o700)
        for name in files:
            os.chmod(os.path.join(directory, name), 0o600)
