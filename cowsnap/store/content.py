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
import secrets
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from cowsnap.errors import ContentNotFoundError, StoreError
from cowsnap.gitlib.objects import ObjectDatabase, init_bare_repository
from cowsnap.libc import clone_if_possible, syncfs_path
from cowsnap.store.atomic import atomic_writer, fsync_dir, storage_error
from cowsnap.store.pack import PackSet, PackWriter, repack

LARGE_CONTENT = 32 * 1024 * 1024
COMPRESSION_LEVEL = 1
PACK_LEVEL = 1
"""zlib level of packed contents: level 1 costs half of git's default (6) for source
code and compiler output, for a few percent more space."""
MAX_PACKS = 8
"""Pruning merges the packs into one beyond this many (every lookup searches each)."""
CHUNK = 1024 * 1024
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
    """Contents by id: write once, read many; concurrent writers of one id are harmless."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.git_dir = root / "objects.git"
        self.objects = self.git_dir / "objects"
        self.large = root / "large"
        self.scratch = root / "tmp"
        self._packed = ObjectDatabase(self.git_dir)
        self.packs = PackSet(self.objects / "pack")
        self._objects_dir = str(self.objects)
        self._large_dir = str(self.large)
        self._unsynced = False

    def initialise(self) -> None:
        """Create the object repository and directories (idempotent; caller holds the lock)."""
        if not (self.git_dir / "HEAD").exists():
            init_bare_repository(self.git_dir)
        for directory in (self.large, self.scratch):
            directory.mkdir(mode=0o700, exist_ok=True)
        make_private(self.git_dir)

    def _loose_path(self, blob: str) -> Path:
        return self.objects / blob[:2] / blob[2:]

    def _large_path(self, blob: str) -> Path:
        return self.large / blob

    def has(self, blob: str) -> bool:
        check_blob_id(blob)
        if blob.startswith("large-"):
            return os.path.exists(os.path.join(self._large_dir, blob))
        if os.path.exists(os.path.join(self._objects_dir, blob[:2], blob[2:])):
            return True
        return os.path.exists(os.path.join(self._large_dir, blob)) or blob in self.packs

    def put_bytes(self, data: bytes) -> str:
        """Store `data` as a compressed loose object; return its id."""
        blob = blob_id(data)
        target = self._loose_path(blob)
        if target.exists():
            return blob
        try:
            target.parent.mkdir(mode=0o700, exist_ok=True)
            compressor = zlib.compressobj(COMPRESSION_LEVEL)
            with atomic_writer(target, durable=False) as handle:
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
        index = None if blob.startswith("large-") else self.packs.find(blob)
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
        pack_dir = self.objects / "pack"
        if not pack_dir.is_dir():
            return 0, 0
        writer = PackWriter(self.scratch, pack_dir, PACK_LEVEL)
        try:
            return repack(self.packs, keep, writer, self._packed.read, most=MAX_PACKS)
        except BaseException:
            writer.abandon()
            raise

    def mark_unsynced(self) -> None:
        """Something was written that `flush` must make durable (a pack)."""
        self._unsynced = True

    def flush(self) -> None:
        """Make every content written since the last flush durable (before a manifest
        that refers to them is published)."""
        if self._unsynced:
            try:
                syncfs_path(self.root)
            except OSError as error:
                raise storage_error(error, "flush the store to disk") from None
            self._unsynced = False

    def put_fd(self, fd: int) -> str:
        """Store the regular file open at `fd` (read from its start); return its id.
        One content alone; a run keeps many through `keeping.ContentWriter`."""
        size = os.fstat(fd).st_size
        if size < LARGE_CONTENT:
            try:
                data = read_whole(fd, size)
            except OSError as error:
                raise storage_error(error, "read a file to store it") from None
            if len(data) < LARGE_CONTENT:
                return self.put_bytes(data)
        blob = self.keep_large(fd, size, clone_only=False)
        assert blob is not None
        return blob

    def keep_large(self, fd: int, size: int, *, clone_only: bool) -> str | None:
        """Keep the file open at `fd` as a raw file: cloned where the filesystem can
        (no data copied), else (unless `clone_only`: None) hashed and copied."""
        blob = self._clone(fd)
        if blob is None and not clone_only:
            blob = self._copy_large(fd, size)
        return blob

    @contextmanager
    def _scratch_file(self) -> Iterator[tuple[int, Path]]:
        temp = self.scratch / f"{os.getpid()}.{secrets.token_hex(8)}"
        try:
            out = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
            try:
                yield out, temp
            finally:
                os.close(out)
        except OSError as error:
            raise storage_error(error, "store a large content") from None
        finally:
            temp.unlink(missing_ok=True)

    def _install(self, out: int, temp: Path, blob: str) -> str:
        os.fsync(out)
        os.rename(temp, self._large_path(blob))
        fsync_dir(self.large)
        return blob

    def _clone(self, fd: int) -> str | None:
        with self._scratch_file() as (out, temp):
            if not clone_if_possible(fd, out):
                return None
            return self._install(out, temp, f"large-{secrets.token_hex(16)}")

    def _copy_large(self, fd: int, size: int) -> str:
        blob = hash_fd(fd, size)
        if self._large_path(blob).exists():
            return blob
        with self._scratch_file() as (out, temp):
            clone_or_copy(fd, out, size)
            if os.fstat(out).st_size != size:
                raise StoreError("a file changed size while it was being stored")
            return self._install(out, temp, blob)

    def adopt_large(self, blob: str, source: Path) -> None:
        """Take in a large content of another store under its own id (for bundles)."""
        if self._large_path(check_blob_id(blob)).exists():
            return
        with source.open("rb") as reader, self._scratch_file() as (out, temp):
            clone_or_copy(reader.fileno(), out, os.fstat(reader.fileno()).st_size)
            self._install(out, temp, blob)

    def stream(self, blob: str) -> Iterator[bytes]:
        """The content of `blob` in chunks; ContentNotFoundError if it is not here."""
        check_blob_id(blob)
        large = self._large_path(blob)
        loose = self._loose_path(blob)
        try:
            if large.exists():
                yield from _read_chunks(large)
                return
            if loose.exists():
                yield from _inflate_loose(loose)
                return
        except OSError as error:
            raise StoreError(f"cannot read content {blob}: {error.strerror}") from None
        yield self._read_packed(blob)

    def _read_packed(self, blob: str) -> bytes:
        """A packed content, read from the pack directly (libgit2 only for deltas, which
        only git itself writes), verified against its id."""
        index = None if blob.startswith("large-") else self.packs.find(blob)
        if index is None:
            raise ContentNotFoundError(f"content {blob} is not in the store")
        data = index.read(blob)
        if data is None:
            data = self._packed.read(blob)
        if blob_id(data) != blob:
            raise StoreError(f"content {blob} is damaged: its bytes do not match its id")
        return data

    def read(self, blob: str) -> bytes:
        return b"".join(self.stream(blob))

    def source_path(self, blob: str) -> Path | None:
        """The raw file holding a large content (to clone it elsewhere), if it is one."""
        path = self._large_path(check_blob_id(blob))
        return path if path.exists() else None


def _read_chunks(path: Path) -> Iterator[bytes]:
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            yield chunk


def _inflate_loose(path: Path) -> Iterator[bytes]:
    decompressor = zlib.decompressobj()
    header_done = False
    pending = b""
    for chunk in _read_chunks(path):
        data = decompressor.decompress(chunk)
        if not header_done:
            pending += data
            end = pending.find(b"\x00")
            if end < 0:
                continue
            header_done, data = True, pending[end + 1 :]
        if data:
            yield data
    tail = decompressor.flush()
    if tail:
        yield tail


def make_private(top: Path) -> None:
    """chmod a tree to 0700 directories and 0600 files (libgit2 creates 0755/0644)."""
    os.chmod(top, 0o700)
    for directory, subdirs, files in os.walk(top):
        for name in subdirs:
            os.chmod(os.path.join(directory, name), 0o700)
        for name in files:
            os.chmod(os.path.join(directory, name), 0o600)
