"""The reflink backend: lazy copies that share extents (FICLONE) on XFS, btrfs, bcachefs."""

from __future__ import annotations

import errno
import os
import tempfile
from pathlib import Path

from cowsnap.libc import clone
from cowsnap.snapshot.base import Availability
from cowsnap.snapshot.lazy import LazySnapshot
from cowsnap.snapshot.lazy_backend import LazyBackend
from cowsnap.snapshot.mounts import mount_of

_NOT_SUPPORTED = (errno.EOPNOTSUPP, errno.ENOTTY, errno.EINVAL, errno.EXDEV)


def probe_reflink(directory: Path) -> OSError | None:
    """Try FICLONE on a tiny temporary file in `directory`; the error if it fails."""
    with tempfile.TemporaryFile(dir=directory) as source, \
            tempfile.TemporaryFile(dir=directory) as destination:
        source.write(b"cowsnap reflink probe\n")
        source.flush()
        try:
            clone(source.fileno(), destination.fileno())
        except OSError as error:
            return error
    return None


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
