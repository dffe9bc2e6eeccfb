"""Naming a process for as long as it lives: pid plus start time.

A recycled pid has a different start time (field 22 of /proc/PID/stat), so
leftovers of a dead process (snapshots, incomplete runs, temporary files) are
never mistaken for a live owner's.
"""

from __future__ import annotations

import os
from pathlib import Path


def parse_start_time(stat_line: bytes) -> int:
    """Field 22 of a /proc/PID/stat line; the command name before it may hold spaces and ')'."""
    after_command = stat_line[stat_line.rindex(b")") + 2:]
    return int(after_command.split()[19])


def process_start_time(pid: int) -> int | None:
    """When process `pid` started (clock ticks after boot), or None if it cannot be seen."""
    try:
        return parse_start_time(Path(f"/proc/{pid}/stat").read_bytes())
    except OSError:
        return None


def owner_tag() -> str:
    """`PID.STARTTIME` of this process, as put in the names of what it owns."""
    return f"{os.getpid()}.{process_start_time(os.getpid())}"
