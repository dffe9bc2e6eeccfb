"""What a run did, counted one way for `run`'s summary and `show`'s listing, so the
numbers one prints are the lines the other lists."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from cowsnap import api

READ = "read"


@dataclass(frozen=True)
class Effect:
    """What a run left at one path: created, modified (content, type or permissions),
    deleted, or nothing (only read or looked at)."""

    name: str
    letter: str
    """git's --name-status letter: A, M, D, T; '' when unchanged."""


CREATED = Effect("created", "A")
MODIFIED = Effect("modified", "M")
TYPE_CHANGED = Effect("type changed", "T")
DELETED = Effect("deleted", "D")
UNCHANGED = Effect("unchanged", "")


def effect(entry: api.FileEntry) -> Effect:
    status = api.status_code(entry)
    return {"+": CREATED, "-": DELETED, "t": TYPE_CHANGED, "c": MODIFIED}.get(
        status[0], MODIFIED if status[1] != "." else UNCHANGED)


def was_read(entry: api.FileEntry) -> bool:
    return READ in entry.operations


def tally(entries: Iterable[api.FileEntry]) -> str:
    """`2 created, 1 modified, 0 deleted, 14 read` over the entries shown (a type
    change counts as modified), as `log` counts a whole run."""
    return counted(api.effect_counts(entries))


def counted(counts: Mapping[str, int]) -> str:
    """`2 created, 1 modified, 0 deleted, 14 read` from `api.effect_counts`' counts."""
    return ", ".join(f"{number} {name}" for name, number in counts.items())
