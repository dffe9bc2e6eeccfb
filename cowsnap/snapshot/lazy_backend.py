"""What the reflink and copy backends share: staging, owner marks, stale cleanup."""

from __future__ import annotations

from abc import abstractmethod
from pathlib import Path
from typing import ClassVar

from cowsnap.errors import BackendUnavailableError
from cowsnap.snapshot.base import Availability, Backend, Snapshot
from cowsnap.snapshot.lazy import LazySnapshot, remove_lazy_tree
from cowsnap.snapshot.mounts import mount_of
from cowsnap.snapshot.owner import current_owner, mark
from cowsnap.snapshot.staging import remove_stale, staging_dir


class LazyBackend(Backend):
    """A backend whose snapshots copy each path just before its first mutation."""

    same_filesystem: ClassVar[bool]
    snapshot_class: ClassVar[type[LazySnapshot]]

    @abstractmethod
    def check(self, workspace: Path, staging: Path) -> Availability:
        """Availability, once a staging directory has been found."""

    def _assess(self, workspace: Path) -> tuple[Availability, Path | None]:
        staging = staging_dir(workspace, same_filesystem=self.same_filesystem)
        if staging is None:
            where = f"on the {mount_of(workspace).fstype} filesystem of " \
                if self.same_filesystem else "for "
            return Availability(self.name, False,
                                f"no writable directory for snapshots {where}{workspace}"), None
        return self.check(workspace, staging), staging

    def availability(self, workspace: Path) -> Availability:
        return self._assess(workspace)[0]

    def prepare(self, workspace: Path) -> Snapshot:
        availability, staging = self._assess(workspace)
        if staging is None or not availability.available:
            raise BackendUnavailableError(
                f"the {self.name} backend cannot snapshot {workspace}: {availability.reason}")
        remove_stale(staging, self.name, remove_lazy_tree)
        location = staging / mark(self.name, current_owner())
        location.mkdir(0o700)
        return self.snapshot_class(workspace, location)

    def remove_snapshot(self, location: Path) -> None:
        remove_lazy_tree(location)

    def cleanup_stale(self, workspace: Path) -> list[Path]:
        staging = staging_dir(workspace, same_filesystem=self.same_filesystem)
        return [] if staging is None else remove_stale(staging, self.name, remove_lazy_tree)
