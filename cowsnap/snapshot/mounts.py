"""Which mount a path lives on, from /proc/self/mountinfo.

statfs cannot tell a subvolume boundary from a mount boundary and os.stat gives
every btrfs subvolume its own st_dev, so the filesystem type, its identity
(major:minor) and its options are read from mountinfo instead.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

MOUNTINFO = Path("/proc/self/mountinfo")
_OCTAL_ESCAPE = re.compile(rb"\\([0-7]{3})")


@dataclass(frozen=True)
class Mount:
    """One line of mountinfo: where a filesystem is mounted and how."""

    device: str
    mount_point: bytes
    fstype: str
    options: frozenset[str]

    @property
    def path(self) -> Path:
        return Path(os.fsdecode(self.mount_point))


def _unescape(field: bytes) -> bytes:
    return _OCTAL_ESCAPE.sub(lambda match: bytes([int(match.group(1), 8)]), field)


def parse_mountinfo(text: bytes) -> list[Mount]:
    """Every mount in a mountinfo table, in table order (later lines mount over earlier)."""
    mounts = []
    for line in text.splitlines():
        fields = line.split(b" ")
        separator = fields.index(b"-")
        mount_options = fields[5].decode().split(",")
        super_options = fields[separator + 3].decode().split(",")
        mounts.append(Mount(
            device=fields[2].decode(),
            mount_point=_unescape(fields[4]),
            fstype=fields[separator + 1].decode(),
            options=frozenset(mount_options + super_options),
        ))
    return mounts


def _contains(mount_point: bytes, path: bytes) -> bool:
    return mount_point == b"/" or path == mount_point or path.startswith(mount_point + b"/")


def mount_of_path(path: bytes, mounts: Sequence[Mount]) -> Mount:
    """The mount serving absolute, symlink-free `path`: the deepest, and the last of equals."""
    best: Mount | None = None
    for mount in mounts:
        if _contains(mount.mount_point, path) and (
            best is None or len(mount.mount_point) >= len(best.mount_point)
        ):
            best = mount
    if best is None:
        raise ValueError(f"no mount contains {os.fsdecode(path)}")
    return best


class _Table:
    """The mount table as last read, with what it parsed to: one tuple, replaced whole,
    so that threads asking at once (the MCP server's) never pair one text with another's
    mounts."""

    last: tuple[bytes, tuple[Mount, ...]] = (b"", ())


def current_mounts() -> tuple[Mount, ...]:
    """The mount table now: read every time (mounts come and go), parsed again only
    when it differs from the last one read (a run asks a dozen times at start-up)."""
    text = MOUNTINFO.read_bytes()
    last_text, last_mounts = _Table.last
    if text == last_text:
        return last_mounts
    mounts = tuple(parse_mountinfo(text))
    _Table.last = (text, mounts)
    return mounts


def mount_of(path: Path) -> Mount:
    """The mount serving `path` (resolved; the nearest existing ancestor if it does not exist)."""
    existing = path.resolve()
    while not existing.exists():
        existing = existing.parent
    return mount_of_path(os.fsencode(existing), current_mounts())
