"""Python's cycle collector, paused while cowsnap makes many objects that form no cycles.

A run holds an entry per path it touched and a restore a manifest's entries and its
plan: hundreds of thousands of long-lived objects that each collection walks again
and again for nothing (3-6 % of a 5,000-path run's CPU, a tenth of a restore's).
They form no reference cycles, so reference counting frees everything dropped
meanwhile (tests/run/test_collector.py counts what is left after a run).
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def no_cycle_collection() -> Iterator[None]:
    """The cycle collector off for the block, then as it was."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
