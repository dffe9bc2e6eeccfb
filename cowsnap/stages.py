"""Named points in cowsnap's work where a test can stop it and kill it (failpoints,
like etcd's gofail), to prove that a SIGKILL there leaves everything recoverable.

`reached(name)` does nothing unless the environment variable COWSNAP_PAUSE_AT
names that stage: the first time it is reached, it creates the file named by
COWSNAP_PAUSE_MARKER and waits until it is killed, or until the marker file is
removed (the test lets it go on). Both variables are read once, at import, so
the cost is one comparison.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

PAUSE_AT = os.environ.get("COWSNAP_PAUSE_AT")
PAUSE_MARKER = os.environ.get("COWSNAP_PAUSE_MARKER")
POLL_SECONDS = 0.02
_passed: set[str] = set()

STAGES = (
    "run-preparing",
    "run-prepared",
    "run-recording",
    "run-publishing",
    "run-published",
    "run-released",
    "restore-locked",
    "restore-applying",
    "restore-written",
    "restore-removing",
    "restore-directories",
    "prune-removing-runs",
    "prune-runs-removed",
    "prune-reclaiming",
)
"""Every stage a test can pause at (`reached` is called with no other name)."""


def reached(stage: str) -> None:
    """Pause here when asked to (see the module docstring)."""
    if stage != PAUSE_AT or PAUSE_MARKER is None or stage in _passed:
        return
    _passed.add(stage)
    marker = Path(PAUSE_MARKER)
    written = marker.with_name(f"{marker.name}.{os.getpid()}")
    written.write_text(f"{os.getpid()}\n")
    written.rename(marker)  # whole when it appears: whoever waits for it reads the pid
    while marker.exists():
        time.sleep(POLL_SECONDS)
