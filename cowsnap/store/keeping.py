"""Keeping the content of an open file: the one way a run (and a restore) stores files.

`ContentWriter.keep(fd, size)` reads the file once, hashes the bytes it read and
compresses those same bytes: no second read, no re-opening of a path. Contents
of a run go into one pack (`pack.py`) instead of a loose object each, which costs
a file, a rename and a directory entry per content; a writer that keeps only a
few small contents writes loose objects instead, so that many small runs do not
leave many small packs. Large contents (LARGE_CONTENT and up) stay raw files,
cloned where the filesystem can (`ContentStore.keep_large`).

Compression runs in one pool of threads (zlib and SHA-1 release the GIL), used
only after the traced command has exited: during the run, contents are kept in
the tracer's own thread while the tracee is stopped, so nothing competes with
the tracer for the interpreter. The pool has a thread per core: keeping a small
file is mostly Python holding the GIL, and threads beyond the cores only contend
for it (2,450 files of 100 bytes on 2 cores: 22 us a file in the calling thread,
52 us with 2 threads, 86 us with 8), so callers keep small contents themselves
(`start` runs only the rest in the pool, while they go on).
"""

from __future__ import annotations

import os
import stat
import threading
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, NamedTuple, TypeVar

from cowsnap.errors import UnreadableFileError
from cowsnap.model.state import LARGE_PREFIX
from cowsnap.store import content
from cowsnap.store.atomic import storage_error
from cowsnap.store.content import ContentStore, blob_id, read_whole
from cowsnap.store.pack import PackWriter

if TYPE_CHECKING:
    from concurrent.futures import Future, ThreadPoolExecutor

PACK_FROM_COUNT = 16
PACK_FROM_BYTES = 8 * 1024 * 1024
"""A writer starts a pack once it holds this many new contents or bytes; below both,
its contents become loose objects."""
WORKERS = min(8, len(os.sched_getaffinity(0)))
"""Threads keeping contents after the command exited: one per core this process may
run on (see above; `taskset -c 0` leaves one, whatever os.cpu_count() says)."""
READ_AHEAD = 64
"""Files `keep_paths` opens and asks the kernel to read before reading the first."""

T = TypeVar("T")
R = TypeVar("R")


class KeptFile(NamedTuple):
    """What `ContentWriter.keep` kept: its id (None: not kept) and its size, which is
    the size of the bytes read, not the size when opened (a writer may append
    meanwhile)."""

    blob: str | None
    size: int


def _open_regular(path: bytes) -> tuple[int, int]:
    """(fd, size) of `path` opened for reading, never following a final symlink nor
    blocking on a fifo; UnreadableFileError when it cannot be opened or is not a
    regular file."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK)
    except OSError as error:
        raise UnreadableFileError(
            f"cannot read {os.fsdecode(path)}: {error.strerror}") from None
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode):
        os.close(fd)
        raise UnreadableFileError(f"cannot read {os.fsdecode(path)}: not a file")
    return fd, info.st_size


class ContentWriter:
    """Contents kept by one run (or one restore); `close` makes them part of the
    store (installs the pack), `abandon` drops what is not installed yet. Usable
    from several threads at once."""

    def __init__(self, contents: ContentStore) -> None:
        self._contents = contents
        self._lock = threading.Lock()
        self._pending: dict[str, bytes] = {}
        self._pending_bytes = 0
        self._pack: PackWriter | None = None
        self._pool: ThreadPoolExecutor | None = None
        self._fanout: frozenset[str] | None = None
        self._clones: list[str] = []
        """Clones to seal when the writer closes: those made before the pool started
        (while the command ran, nothing may compete with the tracer)."""
        self._sealing: list[Future[None]] = []
        """Clones being sealed in the pool since they were made: reading a clone back
        (its extents are shared, not its cached pages) overlaps the rest of the run's
        contents, instead of waiting for them."""

    @property
    def scratch(self) -> Path:
        """Where temporary files of the store go (same filesystem, cleaned by prune)."""
        return self._contents.scratch

    def has(self, blob: str) -> bool:
        """Whether `blob` is kept: by this writer, or already in the store."""
        with self._lock:
            if blob in self._pending or (self._pack is not None and blob in self._pack):
                return True
        return self._contents.has(blob)

    def __enter__(self) -> ContentWriter:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 traceback: TracebackType | None) -> None:
        if kind is None:
            self.close()
        else:
            self.abandon()

    def keep(self, fd: int, size: int, *, clone_only: bool = False) -> KeptFile:
        """Keep the regular file open at `fd` (`size`: its size when opened).
        With `clone_only`, only if the filesystem can clone it (blob None if it cannot)."""
        if clone_only or size >= content.LARGE_CONTENT:
            return self._keep_large(fd, size, clone_only=clone_only)
        try:
            data = read_whole(fd, size)
        except OSError as error:
            raise storage_error(error, "read a file to store it") from None
        if len(data) >= content.LARGE_CONTENT:
            return self._keep_large(fd, len(data), clone_only=False)
        return KeptFile(self.keep_bytes(data), len(data))

    def _keep_large(self, fd: int, size: int, *, clone_only: bool) -> KeptFile:
        kept = KeptFile(*self._contents.keep_large(fd, size, clone_only=clone_only))
        if kept.blob is not None and kept.blob.startswith(LARGE_PREFIX):
            with self._lock:
                if self._pool is None:
                    self._clones.append(kept.blob)
                else:
                    self._sealing.append(self._pool.submit(self._contents.seal_clone,
                                                           kept.blob))
        return kept

    def keep_path(self, path: bytes, *, clone_only: bool = False) -> str | None:
        """`keep` the regular file at `path`, never following a final symlink nor
        blocking on a fifo; UnreadableFileError when it cannot be opened."""
        fd, size = _open_regular(path)
        try:
            return self.keep(fd, size, clone_only=clone_only).blob
        finally:
            os.close(fd)

    def keep_paths(self, paths: Sequence[bytes]) -> list[str | None]:
        """`keep_path` of each of `paths` (None: it could not be opened), the kernel
        asked to read READ_AHEAD files ahead: a small file's read otherwise waits for
        the disk alone (a reflinked copy shares extents, not cached pages)."""
        kept: list[str | None] = []
        for start in range(0, len(paths), READ_AHEAD):
            opened: list[tuple[int, int] | None] = []
            try:
                for path in paths[start:start + READ_AHEAD]:
                    try:
                        fd, size = _open_regular(path)
                    except UnreadableFileError:
                        opened.append(None)
                        continue
                    opened.append((fd, size))
                    os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_WILLNEED)
                kept += [None if file is None else self.keep(*file).blob for file in opened]
            finally:
                for file in opened:
                    if file is not None:
                        os.close(file[0])
        return kept

    def _already_kept(self, blob: str) -> bool:
        """`has`, cheaper for the many small contents of a run: the store's packs and
        loose object directories as listed when the writer first looked (what another
        run adds meanwhile costs at most a duplicate), and not `large/`, where a
        content smaller than LARGE_CONTENT is never kept by its id."""
        with self._lock:
            if blob in self._pending or (self._pack is not None and blob in self._pack):
                return True
            if self._fanout is None:
                self._fanout = self._contents.loose_fanout()
            fanout = self._fanout
        return (self._contents.packs.find(blob, fresh=False) is not None
                or (blob[:2] in fanout and self._contents.has_loose(blob)))

    def keep_bytes(self, data: bytes) -> str:
        """Keep `data`; its id."""
        blob = blob_id(data)
        small = len(data) < content.LARGE_CONTENT
        if self._already_kept(blob) if small else self.has(blob):
            return blob
        with self._lock:
            if self._pack is None:
                self._pending.setdefault(blob, data)
                self._pending_bytes += len(data)
                if (len(self._pending) < PACK_FROM_COUNT
                        and self._pending_bytes < PACK_FROM_BYTES):
                    return blob
                pack = self._start_pack()
                waiting, self._pending, self._pending_bytes = self._pending, {}, 0
            else:
                pack, waiting = self._pack, {blob: data}
        try:
            for name, kept in waiting.items():
                pack.add(name, kept)
        except OSError as error:
            raise storage_error(error, "store a content") from None
        return blob

    def _start_pack(self) -> PackWriter:
        try:
            pack_dir = self._contents.pack_dir
            pack_dir.mkdir(mode=0o700, exist_ok=True)
            self._pack = PackWriter(self._contents.scratch, pack_dir)
        except OSError as error:
            raise storage_error(error, "store a content") from None
        return self._pack

    def map(self, action: Callable[[T], R], items: Iterable[T]) -> list[R]:
        """`action` over `items` in the writer's pool of threads (the one pool of a run)."""
        return self.start(action, items)()

    def start(self, action: Callable[[T], R], items: Iterable[T]) -> Callable[[], list[R]]:
        """Start `action` over `items` in the pool, in a few batches per thread (a task
        per item costs more than a small file); the call returned waits for the
        results, in the order of `items`."""
        listed = list(items)
        if len(listed) < 2:
            results = [action(item) for item in listed]
            return lambda: results
        if self._pool is None:
            from concurrent.futures import ThreadPoolExecutor

            self._pool = ThreadPoolExecutor(max_workers=WORKERS)
        size = max(1, -(-len(listed) // (WORKERS * 4)))
        pool = self._pool
        batches = [pool.submit(lambda batch: [action(item) for item in batch],
                               listed[start:start + size])
                   for start in range(0, len(listed), size)]
        return lambda: [result for batch in batches for result in batch.result()]

    def close(self) -> None:
        """Seal every large content cloned (each hashed once, read whole: those left
        side by side in the pool, and wait for those sealed since they were made), then
        install the pack, or write the few contents kept as loose objects. A clone that
        cannot be sealed drops what the writer kept."""
        with self._lock:
            clones, self._clones = self._clones, []
            sealing, self._sealing = self._sealing, []
        try:
            self.map(self._contents.seal_clone, clones)
            for sealed in sealing:
                sealed.result()
        except BaseException:
            self.abandon()
            raise
        self._stop_pool()
        with self._lock:
            pack, self._pack = self._pack, None
            pending, self._pending, self._pending_bytes = self._pending, {}, 0
        try:
            if pack is not None and pack.install() is not None:
                self._contents.mark_unsynced()
        except OSError as error:
            raise storage_error(error, "store the contents of a run") from None
        for data in pending.values():
            self._contents.put_bytes(data)

    def abandon(self) -> None:
        self._stop_pool()
        with self._lock:
            self._sealing.clear()
            pack, self._pack = self._pack, None
            self._pending, self._pending_bytes = {}, 0
        if pack is not None:
            pack.abandon()

    def _stop_pool(self) -> None:
        if self._pool is not None:
            self._pool.shutdown()
            self._pool = None
