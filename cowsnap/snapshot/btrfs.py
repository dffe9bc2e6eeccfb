"""The btrfs backend: one read-only subvolume snapshot, constant cost whatever the tree size.

The only module that imports btrfsutil, and only when a snapshot is taken or
released, so cowsnap works without the optional binding (`cowsnap[btrfs]`).
"""

from __future__ import annotations

import importlib
import os
import stat
from pathlib import Path
from types import ModuleType

from cowsnap.errors import BackendUnavailableError, SnapshotError
from cowsnap.paths import reachable
from cowsnap.snapshot.base import Availability, Backend, FileId, Snapshot
from cowsnap.snapshot.mounts import Mount, mount_of
from cowsnap.snapshot.owner import current_owner, mark
from cowsnap.snapshot.staging import remove_stale, staging_dir
from cowsnap.snapshot.subvolume import enclosing_subvolume, is_subvolume_root

SNAPSHOT_NAME = "snapshot"
RM_ALLOWED_OPTION = "user_subvol_rm_allowed"
INSTALL_HINT = "apt-get install libbtrfsutil-dev, then pip install 'cowsnap[btrfs]'"


def load_binding() -> ModuleType | str:
    """The btrfsutil module, or why it cannot be used and how to fix that."""
    try:
        return importlib.import_module("btrfsutil")
    except ModuleNotFoundError:
        return f"the btrfsutil Python binding is not installed: {INSTALL_HINT}"
    except ImportError as error:
        return (f"the btrfsutil Python binding does not load ({error}); it must match the "
                "system libbtrfsutil (bookworm: pip install 'btrfsutil>=6.12,<6.14')")


def deletion_problem(mount: Mount, euid: int) -> str | None:
    """Why user `euid` could not delete snapshots on `mount`, if it could not."""
    if euid == 0 or RM_ALLOWED_OPTION in mount.options:
        return None
    return (f"snapshots could be taken but not deleted: deleting needs root or the btrfs mount "
            f"option {RM_ALLOWED_OPTION} (mount -o remount,{RM_ALLOWED_OPTION} "
            f"{mount.path})")


class BtrfsSnapshot(Snapshot):
    """A read-only snapshot of the workspace subvolume, at `location/snapshot`."""

    backend = "btrfs"
    preserved_up_front = True

    def __init__(self, workspace: Path, location: Path, binding: ModuleType) -> None:
        super().__init__(workspace)
        self._location = location
        self._binding = binding
        self._root = os.fsencode(workspace.resolve())
        self._beneath_root = self._root.rstrip(b"/") + b"/"
        self._snapshot = os.fsencode(location / SNAPSHOT_NAME)
        self._device: int | None = None
        self._released = False

    @property
    def location(self) -> Path | None:
        return self._location

    def capture(self, path: bytes, *, subtree: bool = False) -> None:
        """Everything was preserved up front."""

    def where(self, path: bytes) -> bytes | None:
        if b"/." in path or b"//" in path or path.endswith(b"/"):
            path = os.path.normpath(path)  # the recorder's paths are normal already
        if path == self._root:
            return self._snapshot
        if path.startswith(self._beneath_root):
            return self._snapshot + b"/" + path[len(self._beneath_root):]
        return None

    def inode_before(self, path: bytes) -> tuple[FileId, int] | None:
        """A snapshot keeps inode numbers (on a device number of its own). One lstat:
        the recorder asks this of every path a run created, most of them new."""
        location = self.where(path)
        if location is None:
            return None
        try:
            with reachable(location) as (directory, name):
                info = os.lstat(name, dir_fd=directory)
        except (OSError, ValueError):
            return None
        if not stat.S_ISREG(info.st_mode) or info.st_nlink < 2:
            return None
        if self._device is None:
            self._device = os.lstat(self._root).st_dev
        return (self._device, info.st_ino), info.st_nlink

    def release(self) -> None:
        if not self._released:
            remove_snapshot_dir(self._location, self._binding)
            self._released = True


def remove_snapshot_dir(location: Path, binding: ModuleType) -> None:
    """Delete the snapshot subvolume inside `location`, then `location` itself."""
    snapshot = location / SNAPSHOT_NAME
    try:
        if snapshot.exists():
            if os.geteuid() != 0:
                binding.set_subvolume_read_only(str(snapshot), False)
            binding.delete_subvolume(str(snapshot))
        if location.exists():
            location.rmdir()
    except (OSError, binding.BtrfsUtilError) as error:
        raise SnapshotError(f"cannot delete btrfs snapshot {snapshot}: {error}") from error


class BtrfsBackend(Backend):
    name = "btrfs"

    def _assess(self, workspace: Path) -> tuple[Availability, ModuleType | None, Path | None]:
        def unavailable(reason: str) -> tuple[Availability, None, None]:
            return Availability(self.name, False, reason), None, None

        binding = load_binding()
        if isinstance(binding, str):
            return unavailable(binding)
        mount = mount_of(workspace)
        if mount.fstype != "btrfs":
            return unavailable(f"{workspace} is on {mount.fstype}, not btrfs")
        if not is_subvolume_root(workspace):
            inside = enclosing_subvolume(workspace)
            return unavailable(f"{workspace} is not a btrfs subvolume root (it lies inside "
                               f"subvolume {inside}); use --workspace {inside} or reflink")
        if os.geteuid() != 0 and workspace.stat().st_uid != os.geteuid():
            return unavailable(f"only the owner of subvolume {workspace} or root can snapshot it")
        problem = deletion_problem(mount, os.geteuid())
        if problem is not None:
            return unavailable(problem)
        staging = staging_dir(workspace, same_filesystem=True)
        if staging is None:
            return unavailable(f"no writable directory for snapshots on the btrfs filesystem "
                               f"of {workspace}")
        return Availability(self.name, True, f"{workspace} is a btrfs subvolume"), binding, staging

    def availability(self, workspace: Path) -> Availability:
        return self._assess(workspace)[0]

    def prepare(self, workspace: Path) -> Snapshot:
        availability, binding, staging = self._assess(workspace)
        if binding is None or staging is None:
            raise BackendUnavailableError(
                f"the btrfs backend cannot snapshot {workspace}: {availability.reason}")
        remove_stale(staging, self.name, lambda location: remove_snapshot_dir(location, binding))
        location = staging / mark(self.name, current_owner())
        location.mkdir(0o700)
        try:
            binding.create_snapshot(str(workspace), str(location / SNAPSHOT_NAME),
                                    read_only=True)
        except binding.BtrfsUtilError as error:
            location.rmdir()
            raise SnapshotError(f"cannot snapshot {workspace}: {error}") from error
        return BtrfsSnapshot(workspace, location, binding)

    def remove_snapshot(self, location: Path) -> None:
        binding = load_binding()
        if isinstance(binding, str):
            raise SnapshotError(f"cannot delete btrfs snapshot {location}: {binding}")
        remove_snapshot_dir(location, binding)

    def cleanup_stale(self, workspace: Path) -> list[Path]:
        _, binding, staging = self._assess(workspace)
        if binding is None or staging is None:
            return []
        return remove_stale(staging, self.name,
                            lambda location: remove_snapshot_dir(location, binding))
