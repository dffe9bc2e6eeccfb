"""`cowsnap sh` (and the `cowsnap-sh` script): `/bin/sh`, with every run recorded.

For harnesses that let you choose the shell binary: same arguments, stdio,
exit status and signals as /bin/sh; nothing is printed unless the run could
not be recorded (one warning line on stderr).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence

import click

from cowsnap import api
from cowsnap.errors import CowsnapError

SHELL = "/bin/sh"


def run_sh(arguments: Sequence[str]) -> int:
    """Run /bin/sh with `arguments`, recorded; its exit status."""
    session = os.environ.get("COWSNAP_SESSION") or None
    if len(arguments) >= 2 and arguments[0] == "-c":
        outcome = api.run_shell(SHELL, arguments[1], arguments[2:], session=session)
        if outcome.warning is not None:
            click.echo(f"cowsnap: warning: {outcome.warning}", err=True)
        return outcome.exit_status
    result = api.run(api.RunRequest(command=[SHELL, *arguments], session=session))
    if result.recording_error is not None:
        click.echo(f"cowsnap: warning: not recorded: {result.recording_error}", err=True)
    return result.exit_status


@click.command("sh", context_settings={"ignore_unknown_options": True,
                                       "allow_interspersed_args": False,
                                       "help_option_names": ["--help"]})
@click.argument("arguments", nargs=-1, type=click.UNPROCESSED, metavar="[SH ARGUMENTS]...")
def sh(arguments: tuple[str, ...]) -> int:
    """Run /bin/sh with these arguments (`cowsnap sh -c CMD`), recording the run.

    Behaves like `sh -c CMD`: same exit status, stdin, stdout and stderr. The
    run belongs to the session $COWSNAP_SESSION, if set. When cowsnap cannot
    record, the command still runs, once, and a warning says it was not recorded.
    """
    sys.exit(run_sh(arguments))


def main() -> None:
    """The `cowsnap-sh` script: `cowsnap sh` as a single executable."""
    try:
        status = run_sh(sys.argv[1:])
    except CowsnapError as error:
        click.echo(f"cowsnap: error: {error}", err=True)
        status = error.exit_code
    sys.exit(status)
