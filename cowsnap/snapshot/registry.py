"""Backend lookup by name, and the `auto` choice: btrfs, else reflink, else copy.

A backend's module is imported only when that backend is asked for, and `auto`
stops at the first backend that works: a run on btrfs neither loads the lazy
backends nor probes reflink (start-up: bench/startup.py).
"""

from __future__ import annotations

import importlib
from pathlib import Path

from cowsnap.errors import BackendUnavailableError, UsageError
from cowsnap.snapshot.base import Availability, Backend

AUTO = "auto"
CLASSES = {
    "btrfs": "cowsnap.snapshot.btrfs:BtrfsBackend",
    "reflink": "cowsnap.snapshot.reflink:ReflinkBackend",
    "copy": "cowsnap.snapshot.copy:CopyBackend",
}
"""Each backend's name and class, in order of preference."""
BACKEND_NAMES = tuple(CLASSES)


def backend_named(name: str) -> Backend:
    target = CLASSES.get(name)
    if target is None:
        raise UsageError(f"unknown backend {name!r}: choose {AUTO}, {', '.join(BACKEND_NAMES)}")
    module, _, attribute = target.partition(":")
    backend: type[Backend] = getattr(importlib.import_module(module), attribute)
    return backend()


def availabilities(workspace: Path) -> list[Availability]:
    """Every backend's availability for `workspace`, in order of preference."""
    return [backend_named(name).availability(workspace) for name in BACKEND_NAMES]


def first_available(found: list[Availability]) -> str | None:
    """The name `auto` picks from availabilities listed in order of preference."""
    return next((availability.backend for availability in found if availability.available), None)


def choose_backend(workspace: Path, requested: str = AUTO) -> Backend:
    """The backend to snapshot `workspace` with; an explicit choice must be available.
    `auto` takes the first available in order of preference, as `first_available`
    picks from `availabilities`, without asking the backends after it."""
    if requested != AUTO:
        backend = backend_named(requested)
        availability = backend.availability(workspace)
        if not availability.available:
            raise BackendUnavailableError(
                f"the {requested} backend cannot snapshot {workspace}: {availability.reason}")
        return backend
    found = []
    for name in BACKEND_NAMES:
        backend = backend_named(name)
        availability = backend.availability(workspace)
        if availability.available:
            return backend
        found.append(availability)
    reasons = "; ".join(f"{item.backend}: {item.reason}" for item in found)
    raise BackendUnavailableError(f"no snapshot backend works for {workspace}: {reasons}")
