"""The operations users can import; the CLI is a thin layer over these."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from cowsnap.snapshot.base import Availability
from cowsnap.snapshot.registry import availabilities, first_available
from cowsnap.store.location import resolve_store_dir
from cowsnap.workspace import detect_workspace


@dataclass(frozen=True)
class Status:
    """Where cowsnap would work from here, and how it would snapshot."""

    workspace: Path
    store: Path
    backends: list[Availability]
    backend: str | None
    """What `--backend auto` picks; None when no backend works."""


def status(workspace: str | os.PathLike[str] | None = None,
           store: str | os.PathLike[str] | None = None,
           cwd: Path | None = None) -> Status:
    """The workspace and store in effect, and every backend's availability for it."""
    root = detect_workspace(Path(workspace) if workspace is not None else None, cwd)
    found = availabilities(root)
    return Status(workspace=root, store=resolve_store_dir(store), backends=found,
                  backend=first_available(found))
