"""Atomic file writes: a reader sees the old file or the whole new one, never a part.

Restore reuses this, so it takes an explicit mode and works for any directory,
not only the store.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

from cowsnap.errors import DiskFullError, StoreError

_FULL = {errno.ENOSPC, errno.EDQUOT}


def storage_error(error: OSError, action: str) -> StoreError:
    """The one-line error a user sees for a failed write: full disk or otherwise."""
    reason = error.strerror or str(error)
    where = f": {error.filename}" if error.filename else ""
    if error.errno in _FULL:
        return DiskFullError(f"no space left while trying to {action}{where}")
    return StoreError(f"cannot {action}{where}: {reason}")


def fsync_dir(directory: Path) -> None:
    """Make a rename or creation inside `directory` durable."""
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextmanager
def atomic_writer(
    target: Path, *, mode: int = 0o600, durable: bool = True
) -> Iterator[BinaryIO]:
    """Yield a file to write; on success it replaces `target`, on error vanishes.

    `durable` fsyncs the file and its directory; callers writing many files may
    leave that out and sync the whole filesystem once (`cowsnap.libc.syncfs`).
    """
    directory = target.parent
    fd = -1
    temp = directory / f".{target.name}.tmp-{os.getpid()}-{os.urandom(4).hex()}"
    try:
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, mode)
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as handle:
            fd = -1
            yield handle
            handle.flush()
            if durable:
                os.fsync(handle.fileno())
        os.rename(temp, target)
        if durable:
            fsync_dir(directory)
    except BaseException:
        if fd >= 0:
            os.close(fd)
        temp.unlink(missing_ok=True)
        raise


def write_atomic(target: Path, chunks: bytes | Iterable[bytes], *, mode: int = 0o600) -> None:
    """Replace `target` with `chunks` atomically."""
    with atomic_writer(target, mode=mode) as handle:
        if isinstance(chunks, bytes):
            handle.write(chunks)
        else:
            for chunk in chunks:
                handle.write(chunk)
