"""Owner marks on snapshot directories, so leftovers of killed processes can be told apart.

A mark names a process by pid *and* start time (field 22 of /proc/PID/stat): a
recycled pid has a different start time, so it is not mistaken for the owner.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass

from cowsnap.errors import SnapshotError
from cowsnap.processes import process_start_time

_NAME = re.compile(r"^(?P<kind>[a-z]+)-(?P<pid>\d+)-(?P<start>\d+)-[0-9a-f]+$")


@dataclass(frozen=True)
class Owner:
    """A process, identified for as long as it lives."""

    pid: int
    start_time: int


def current_owner() -> Owner:
    pid = os.getpid()
    start_time = process_start_time(pid)
    if start_time is None:
        raise SnapshotError("/proc is not mounted: cannot mark snapshots with their owner")
    return Owner(pid, start_time)


def mark(kind: str, owner: Owner) -> str:
    """A fresh, unique directory name for a snapshot of `kind` owned by `owner`."""
    return f"{kind}-{owner.pid}-{owner.start_time}-{os.urandom(4).hex()}"


def owner_of(kind: str, name: str) -> Owner | None:
    """The owner marked in `name`, or None when `name` is not a mark of `kind`."""
    match = _NAME.match(name)
    if match is None or match["kind"] != kind:
        return None
    return Owner(int(match["pid"]), int(match["start"]))


def is_alive(owner: Owner) -> bool:
    return process_start_time(owner.pid) == owner.start_time
