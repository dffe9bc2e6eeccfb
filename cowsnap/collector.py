"""Python's cycle collector, paused while cowsnap makes many objects that form no cycles.

A run holds an entry per path it touched and a restore a manifest's entries and its
plan: hundreds of thousands of long-lived objects that each collection walks again
and again for nothing (3-6 % of a 5,000-path run's CPU, a tenth of a restore's).
They form no reference cycles, so reference counting frees everything dropped
meanwhile (tests/run/test_collector.py counts what is left after a run).

The program's start-up is paused the same way (cowsnap.program): importing the
CLI and the modules a command needs makes tens of thousands of objects that stay
alive until the process ends, and the 25-odd collections that walked them cost
5-10 ms of a `cowsnap run -- true` (bench/startup.py).
"""

from __future__ import annotations

import gc


class NoCycleCollection:
    """The cycle collector off for a `with` block, then as it was. (A class rather than
    a contextlib generator: cowsnap.program imports this module before anything else,
    while the collector still runs.)"""

    def __enter__(self) -> None:
        self._enabled = gc.isenabled()
        gc.disable()

    def __exit__(self, *exception: object) -> None:
        if self._enabled:
            gc.enable()


def no_cycle_collection() -> NoCycleCollection:
    """The cycle collector off for the block, then as it was."""
    return NoCycleCollection()


class _StartUp:
    """Whether the collector was paused for the program's start-up and is to be resumed."""

    paused = False


def pause_for_start_up() -> None:
    """Pause the collector until `start_up_done` (nothing when it is off already)."""
    if gc.isenabled():
        gc.disable()
        _StartUp.paused = True


def start_up_done() -> None:
    """Resume the collector paused by `pause_for_start_up`, if it was: the command to
    run is known and loaded, its own work begins. What start-up made (modules,
    classes, functions: alive until the process ends) is frozen first, so that no
    collection walks it again (gc.freeze, as the gc module suggests for such objects)."""
    if _StartUp.paused:
        _StartUp.paused = False
        gc.freeze()
        gc.enable()
