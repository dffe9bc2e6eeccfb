"""Backend lookup by name, and the `auto` choice: btrfs, else reflink, else copy."""

from __future__ import annotations

from pathlib import Path

from cowsnap.errors import BackendUnavailableError, UsageError
from cowsnap.snapshot.base import Availability, Backend
from cowsnap.snapshot.btrfs import BtrfsBackend
from cowsnap.snapshot.copy import CopyBackend
from cowsnap.snapshot.reflink import ReflinkBackend

AUTO = "auto"
PREFERENCE: tuple[type[Backend], ...] = (BtrfsBackend, ReflinkBackend, CopyBackend)
BACKEND_NAMES = tuple(backend.name for backend in PREFERENCE)


def backend_named(name: str) -> Backend:
    for backend in PREFERENCE:
        if backend.name == name:
            return backend()
    raise UsageError(f"unknown backend {name!r}: choose {AUTO}, {', '.join(BACKEND_NAMES)}")


def availabilities(workspace: Path) -> list[Availability]:
    """Every backend's availability for `workspace`, in order of preference."""
    return [backend().availability(workspace) for backend in PREFERENCE]


def first_available(found: list[Availability]) -> str | None:
    """The name `auto` picks from availabilities listed in order of preference."""
    return next((availability.backend for availability in found if availability.available), None)


def choose_backend(workspace: Path, requested: str = AUTO) -> Backend:
    """The backend to snapshot `workspace` with; an explicit choice must be available."""
    if requested != AUTO:
        backend = backend_named(requested)
        availability = backend.availability(workspace)
        if not availability.available:
            raise BackendUnavailableError(
                f"the {requested} backend cannot snapshot {workspace}: {availability.reason}")
        return backend
    found = availabilities(workspace)
    chosen = first_available(found)
    if chosen is None:
        reasons = "; ".join(f"{item.backend}: {item.reason}" for item in found)
        raise BackendUnavailableError(f"no snapshot backend works for {workspace}: {reasons}")
    return backend_named(chosen)
