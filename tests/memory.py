"""Peak memory of a command a test runs, measured apart from the test's own process."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

_PEAK_OF = """
import os, sys
pid = os.fork()
if pid == 0:
    os.execv(sys.executable, [sys.executable, *sys.argv[2:]])
_pid, status, usage = os.wait4(pid, 0)
with open(sys.argv[1], "w") as peak:
    peak.write(str(usage.ru_maxrss))
sys.exit(os.waitstatus_to_exitcode(status))
"""


def run_python(arguments: list[str], peak: Path,
               **options: Any) -> tuple[subprocess.CompletedProcess[bytes], int]:
    """`python ARGUMENTS` run to its end (`options` as for subprocess.run), and its peak
    resident size in KiB, written to `peak` on the way.

    A child's `ru_maxrss` starts from its parent's own peak (Linux keeps it across the
    fork and exec): measured straight from a pytest grown past the limit (a long run), it
    would be pytest's. A small launcher forks the command instead."""
    result = subprocess.run([sys.executable, "-c", _PEAK_OF, peak, *arguments], check=False,
                            **options)
    return result, int(peak.read_text())
