"""Large contents copied as they are stored: shared extents, else data without holes.

A 5 GiB sparse file kept in the store is a few megabytes on disk; written back
as a stream of bytes it becomes 5 GiB of zeros (and fails with ENOSPC on a
small filesystem). So a large content is cloned (FICLONE) where the store and
the workspace share a filesystem that can, and otherwise copied data segment
by data segment (SEEK_DATA / SEEK_HOLE), the holes, and any chunk of zeros,
left as holes.
"""

from __future__ import annotations

import errno
import hashlib
import os
from collections.abc import Iterator

from cowsnap.libc import clone_if_possible
from cowsnap.store.content import CHUNK, blob_header


def data_segments(fd: int, size: int) -> Iterator[tuple[int, int]]:
    """(start, end) of each stretch of `fd` holding data, in order; one stretch for the
    whole file where the filesystem does not report holes."""
    offset = 0
    while offset < size:
        try:
            start = os.lseek(fd, offset, os.SEEK_DATA)
        except OSError as error:
            if error.errno == errno.ENXIO:  # only a hole is left
                return
            if error.errno == errno.EINVAL:
                yield offset, size
                return
            raise
        end = min(os.lseek(fd, start, os.SEEK_HOLE), size)
        yield start, end
        offset = end


def _copy_range(source: int, target: int, start: int, end: int, zeros: bytes) -> None:
    """Copy bytes [start, end); a chunk of zeros is skipped, so it stays a hole (a
    store that kept the content without its holes gives it back sparse all the same)."""
    offset = start
    while offset < end:
        data = os.pread(source, min(CHUNK, end - offset), offset)
        if not data:
            raise OSError(errno.EIO, "the stored content shrank while it was copied")
        if data != zeros[:len(data)]:
            view = memoryview(data)
            written = offset
            while view:
                count = os.pwrite(target, view, written)
                view, written = view[count:], written + count
        offset += len(data)


def copy_content(source: int, target: int, size: int) -> None:
    """Make the empty file `target` hold `size` bytes of `source`: cloned where
    possible, else its data copied and its holes kept."""
    if clone_if_possible(source, target):
        return
    zeros = bytes(CHUNK)
    for start, end in data_segments(source, size):
        _copy_range(source, target, start, end, zeros)
    os.ftruncate(target, size)


def blob_id_of(fd: int, size: int) -> str:
    """The git blob id of the first `size` bytes of `fd`, holes hashed as zeros without
    reading them."""
    digest = hashlib.sha1(blob_header(size), usedforsecurity=False)
    zeros = bytes(CHUNK)
    offset = 0
    for start, end in [*data_segments(fd, size), (size, size)]:
        while offset < start:
            count = min(CHUNK, start - offset)
            digest.update(zeros[:count])
            offset += count
        while offset < end:
            data = os.pread(fd, min(CHUNK, end - offset), offset)
            if not data:
                raise OSError(errno.EIO, "the stored content shrank while it was read")
            digest.update(data)
            offset += len(data)
    return digest.hexdigest()
