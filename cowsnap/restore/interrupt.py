"""Stopping a restore with SIGINT, SIGTERM or SIGHUP: an exception, so clean-up runs.

A restore killed between writing its temporary files and renaming them into
place leaves them behind; a catchable signal must not. Inside `interruptible()`
each of these signals raises RestoreInterruptedError where the restore is, so
the `finally` and `except` blocks that remove temporaries run before the
process exits (with 128+N, as a shell reports signal N).
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from cowsnap.errors import RestoreInterruptedError

STOPPING_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


def _stop(signal_number: int, _frame: object) -> None:
    for number in STOPPING_SIGNALS:  # one interruption: the clean-up is not cut short
        signal.signal(number, signal.SIG_IGN)
    raise RestoreInterruptedError(f"restore interrupted by {signal.strsignal(signal_number)}",
                                  signal_number)


@contextmanager
def interruptible() -> Iterator[None]:
    """SIGINT, SIGTERM and SIGHUP raise RestoreInterruptedError inside the block, so every
    temporary is removed before the process exits (only the main thread can catch
    signals; elsewhere the caller's own handling stays)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {number: signal.getsignal(number) for number in STOPPING_SIGNALS}
    for number in STOPPING_SIGNALS:
        signal.signal(number, _stop)
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
