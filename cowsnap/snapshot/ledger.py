"""What a lazy snapshot has preserved so far: a pure model, no filesystem.

Every mutation is captured before it happens, so a path's before-state is:
its own capture if it has one; else, beneath a directory captured with its
subtree, the copy in that subtree; else absent, when an ancestor was absent or
the path's name was not in an ancestor's listing when that was captured (it
appeared later, e.g. by a rename into place); else the live path, untouched.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class Verdict(Enum):
    """Where the before-state of a path is to be found."""

    LIVE = "live"
    PRESERVED = "preserved"
    ABSENT = "absent"


@dataclass(frozen=True)
class Entry:
    """One capture: absent, or present (with a directory's listing and whether its subtree)."""

    absent: bool
    listing: frozenset[bytes] | None = None
    subtree: bool = False


def _ancestors(relative: bytes) -> list[bytes]:
    """b'a/b/c' -> [b'', b'a', b'a/b']; the workspace root is b''."""
    if not relative:
        return []
    parts = relative.split(b"/")
    return [b"/".join(parts[:depth]) for depth in range(len(parts))]


def _child(parent: bytes, name: bytes) -> bytes:
    return parent + b"/" + name if parent else name


class Ledger:
    """Captures keyed by workspace-relative path (bytes, b'' for the root)."""

    def __init__(self) -> None:
        self._entries: dict[bytes, Entry] = {}

    def verdict(self, relative: bytes) -> Verdict:
        own = self._entries.get(relative)
        if own is not None:
            return Verdict.ABSENT if own.absent else Verdict.PRESERVED
        parts = relative.split(b"/")
        for depth, ancestor in enumerate(_ancestors(relative)):
            entry = self._entries.get(ancestor)
            if entry is None:
                continue
            if entry.absent:
                return Verdict.ABSENT
            if entry.subtree:
                return Verdict.PRESERVED
            name = parts[depth]
            if (entry.listing is not None and name not in entry.listing
                    and _child(ancestor, name) not in self._entries):
                return Verdict.ABSENT
        return Verdict.LIVE

    def record_absent(self, relative: bytes) -> None:
        self._entries[relative] = Entry(absent=True)

    def record_present(self, relative: bytes, listing: frozenset[bytes] | None = None,
                       *, subtree: bool = False) -> None:
        self._entries[relative] = Entry(absent=False, listing=listing, subtree=subtree)

    def entry(self, relative: bytes) -> Entry | None:
        return self._entries.get(relative)
