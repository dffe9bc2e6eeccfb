"""The reflink backend: lazy copies that share extents (FICLONE) on XFS, btrfs, bcachefs."""

from __future__ import annotations

import errno
import os
from pathlib import Path

from cowsnap.libc import clone
from cowsnap.snapshot.base import Availability
from cowsnap.snapshot.lazy import LazySnapshot
from cowsnap.snapshot.lazy_backend import LazyBackend
from cowsnap.snapshot.mounts import mount_of

_NOT_SUPPORTED = (errno.EOPNOTSUPP, errno.ENOTTY, errno.EINVAL, errno.EXDEV)


def probe_reflink(directory: Path) -> OSError | None:
    """Try FICLONE on a tiny temporary file in `directory`; the error if it fails."""
    files: list[int] = []
    try:
        files.extend(_unnamed_file(directory) for _ in range(2))
        os.write(files[0], b"cowsnap reflink probe\n")
        clone(files[0], files[1])
    except OSError as error:  # a copy without its traceback: that would hold every
        return OSError(error.errno, error.strerror, error.filename)  # caller's frame
    finally:
        for fd in files:
            os.close(fd)
    return None


def _unnamed_file(directory: Path) -> int:
    """A file in `directory` that vanishes when closed: O_TMPFILE where the filesystem
    has it (no name to clean up, and no tempfile module loaded at every run's start)."""
    try:
        return os.open(directory, os.O_TMPFILE | os.O_RDWR | os.O_CLOEXEC, 0o600)
    except OSError as error:
        if error.errno not in (errno.EOPNOTSUPP, errno.EISDIR, errno.EINVAL):
            raise
    import tempfile

    fd, name = tempfile.mkstemp(dir=directory)
    os.unlink(name)
    return fd


class ReflinkSnapshot(LazySnapshot):
    backend = "reflink"

    def copy_data(self, source: int, destination: int) -> None:
        clone(source, destination)


class ReflinkBackend(LazyBackend):
    name = "reflink"
    same_filesystem = True
    snapshot_class = ReflinkSnapshot

    def check(self, workspace: Path, staging: Path) -> Availability:
        fstype = mount_of(workspace).fstype
        error = probe_reflink(staging)
        if error is None:
            return Availability(self.name, True, f"reflink copies work on {fstype}")
        if error.errno in _NOT_SUPPORTED:
            return Availability(self.name, False, (
                f"the {fstype} filesystem of {workspace} cannot make reflink copies "
                f"(FICLONE: {os.strerror(error.errno or 0)}); reflink needs XFS made with "
                "reflink=1, btrfs or bcachefs"))
        return Availability(self.name, False, f"the reflink probe failed in {staging}: {error}")
