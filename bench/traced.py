"""Run one command under cowsnap's trace() alone (no snapshot, no recording), events
counted, not kept: what the statloop benchmark times as "cowsnap". COWSNAP_TRACER picks
the tracer, COWSNAP_TRACER_FOLLOW=1 its scheduling policy.

Run: .venv/bin/python bench/traced.py COMMAND...
"""

from __future__ import annotations

import sys
from collections import Counter

from cowsnap.trace import trace
from cowsnap.trace.events import Event


def main() -> int:
    counts: Counter[type] = Counter()

    def count(event: Event) -> None:
        counts[type(event)] += 1

    return trace(sys.argv[1:], on_event=count)


if __name__ == "__main__":
    sys.exit(main())
