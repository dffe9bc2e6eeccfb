"""The store's size cap between exact measurements: a cheap, never-low estimate.

Measuring the store exactly loads every manifest, too slow to do after each of
the hundreds of commands an agent runs in a day. So the file `size-estimate`
holds the size measured at the last prune, then one line per run since, each
appended (O_APPEND: concurrent runs never lose a line) with what that run may
have added: its manifest and summary, and every content it stored, counted
whole even when deduplication kept it once. The sum is never below the real
size (contents only grow between prunes), so a run prunes exactly when the
estimate passes the cap, and rarely otherwise. When the last prune could not
get under the cap (the current session alone is bigger), the next waits until
the store has grown by a tenth of the cap, instead of measuring after every run.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from cowsnap.model import Manifest
from cowsnap.store.atomic import write_atomic
from cowsnap.store.runs import MANIFEST, SUMMARY
from cowsnap.store.store import Store

ESTIMATE = "size-estimate"
RETRY_FRACTION = 10
"""Over the cap after a prune: prune again after growing by cap / RETRY_FRACTION."""


@dataclass(frozen=True)
class Estimate:
    measured: int
    """The exact size at the last measurement."""
    total: int
    """That plus every run's growth since."""


def prune_needed(estimate: Estimate, cap: int) -> bool:
    """Whether the store may be over `cap` and a prune could help."""
    if estimate.total <= cap:
        return False
    return estimate.measured <= cap or \
        estimate.total - estimate.measured >= cap // RETRY_FRACTION


def run_growth(store: Store, manifest: Manifest) -> int:
    """At most what publishing `manifest`'s run added to the store."""
    stored = sum(reference.size or 0 for reference in manifest.content_references()
                 if reference.repository is None)
    directory = store.runs.published / manifest.run_id
    own = 0
    for name in (MANIFEST, SUMMARY):
        try:
            own += os.stat(directory / name).st_size
        except FileNotFoundError:
            continue
    return stored + own


def note_growth(store: Store, size: int) -> None:
    """Add one run's growth to the estimate (nothing when no measurement exists yet:
    the next check measures)."""
    path = store.root / ESTIMATE
    try:
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CLOEXEC)
    except FileNotFoundError:
        return
    try:
        os.write(fd, b"+%d\n" % size)
    finally:
        os.close(fd)


def estimate(store: Store) -> Estimate | None:
    """The estimated size; None when never measured or the file is unreadable."""
    try:
        sizes = [int(line) for line in (store.root / ESTIMATE).read_bytes().split(b"\n")
                 if line.strip()]
    except (OSError, ValueError):
        return None
    return Estimate(measured=sizes[0], total=sum(sizes)) if sizes else None


def record_measured(store: Store, size: int) -> None:
    """Start the estimate again from an exact measurement."""
    write_atomic(store.root / ESTIMATE, b"%d\n" % size)
