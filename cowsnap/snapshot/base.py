"""The one interface every snapshot backend implements.

A backend that preserves the whole tree up front (btrfs, copy) and a lazy one
that preserves each path just before its first mutation (reflink) look the same
to callers: the tracer's pre-mutation hook calls `Snapshot.capture` while the
tracee is stopped, and the recorder reads the before-state through
`Snapshot.locate`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import ClassVar

from cowsnap.paths import lexists

FileId = tuple[int, int]
"""(device, inode): what the names of one file share."""


@dataclass(frozen=True)
class Availability:
    """Whether a backend can serve a workspace, and why not."""

    backend: str
    available: bool
    reason: str


class Snapshot(ABC):
    """The preserved before-state of one workspace, alive from prepare to release."""

    backend: ClassVar[str]
    preserved_up_front: ClassVar[bool] = False
    """Whether everything was preserved at prepare (capture is then a no-op)."""

    def __init__(self, workspace: Path) -> None:
        self.workspace = workspace

    @abstractmethod
    def capture(self, path: bytes, *, subtree: bool = False) -> None:
        """Preserve `path`'s current state now, because it is about to be mutated.

        Called while the mutating process is stopped. Idempotent; only the first
        call for a path counts. `subtree` also preserves everything beneath a
        directory (a directory about to be renamed). A no-op for backends that
        preserved everything up front; paths outside the workspace are ignored.
        """

    @abstractmethod
    def where(self, path: bytes) -> bytes | None:
        """Where the before-state of absolute workspace path `path` would be (None:
        nowhere), without looking whether anything is there: the recorder reads that
        place's state anyway. The path itself when the run left it untouched."""

    def locate(self, path: bytes) -> bytes | None:
        """Where the before-state of absolute workspace path `path` can be read
        (lstat, open, readlink), or None when it did not exist before."""
        where = self.where(path)
        return where if where is not None and lexists(where) else None

    def inode_before(self, path: bytes) -> tuple[FileId, int] | None:
        """The (device, inode) and link count of the regular file at workspace path
        `path` before the run, when it had more than one name and this snapshot preserved
        it (names of one file share an inode); None otherwise."""
        return None

    @abstractmethod
    def release(self) -> None:
        """Delete the preserved state. Idempotent."""

    @property
    @abstractmethod
    def location(self) -> Path | None:
        """Where the preserved state lives on disk (kept with --keep-snapshot)."""

    def __enter__(self) -> Snapshot:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.release()


class Backend(ABC):
    """A way of taking snapshots, chosen per workspace."""

    name: ClassVar[str]

    @abstractmethod
    def availability(self, workspace: Path) -> Availability:
        """Whether this backend can snapshot `workspace` here, and if not why
        (and how to fix it, when the user can)."""

    @abstractmethod
    def prepare(self, workspace: Path) -> Snapshot:
        """Preserve `workspace` (up front or lazily). Removes leftovers of killed
        cowsnap processes first."""

    @abstractmethod
    def cleanup_stale(self, workspace: Path) -> list[Path]:
        """Delete snapshots whose owner process is gone; return what was removed."""

    @abstractmethod
    def remove_snapshot(self, location: Path) -> None:
        """Delete a snapshot this backend made at `location` (one kept with
        --keep-snapshot, when its run is forgotten or pruned)."""
