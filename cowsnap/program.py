"""The `cowsnap` and `cowsnap-sh` programs (and `python -m cowsnap`).

Apart from cowsnap.cli so that the cycle collector is paused before the CLI's
modules, click first, are imported; it is resumed once the command to run is
known and loaded (cowsnap.collector). A module importing cowsnap.cli, a test or
another program, keeps its collector as it is. This module and cowsnap.collector
import nothing else, typing included, so the pause begins at once.
"""

from __future__ import annotations

from cowsnap.collector import pause_for_start_up


def main() -> None:
    """`cowsnap ARGUMENTS`."""
    pause_for_start_up()
    from cowsnap.cli import entry

    entry()


def shell() -> None:
    """`cowsnap-sh ARGUMENTS`: `cowsnap sh` as a single executable."""
    pause_for_start_up()
    from cowsnap.cli.sh import main as sh_main

    sh_main()
