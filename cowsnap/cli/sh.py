"""`cowsnap sh` (and the `cowsnap-sh` script): `/bin/sh`, with every run recorded.

For harnesses that let you choose the shell binary: same arguments, stdio,
exit status and signals as /bin/sh (when a signal kills the shell, cowsnap dies
of the same signal, so the caller's wait status is the one sh would give);
nothing is printed unless the run could not be recorded (one warning line on
stderr).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence

import click

from cowsnap import api
from cowsnap.cli import shell_entry

SHELL = "/bin/sh"


def run_sh(arguments: Sequence[str]) -> api.ShellRun:
    """Run /bin/sh with `arguments`, recorded; how it ended (cowsnap.cli exits, or dies
    of the shell's signal, as it says)."""
    session = os.environ.get("COWSNAP_SESSION") or None
    if len(arguments) >= 2 and arguments[0] == "-c":
        outcome = api.run_shell(SHELL, arguments[1], arguments[2:], session=session)
    else:
        result = api.run(api.RunRequest(command=[SHELL, *arguments], session=session))
        warning = None if result.recording_error is None \
            else f"not recorded: {result.recording_error}"
        outcome = api.ShellRun(exit_status=result.exit_status, run_id=result.run_id,
                               final_cwd=None, warning=warning, exit_signal=result.exit_signal)
    if outcome.warning is not None:
        click.echo(f"cowsnap: warning: {outcome.warning}", err=True)
    return outcome


@click.command("sh", context_settings={"ignore_unknown_options": True,
                                       "allow_interspersed_args": False,
                                       "help_option_names": ["--help"]})
@click.argument("arguments", nargs=-1, type=click.UNPROCESSED, metavar="[SH ARGUMENTS]...")
def sh(arguments: tuple[str, ...]) -> api.ShellRun:
    """Run /bin/sh with these arguments (`cowsnap sh -c CMD`), recording the run.

    Behaves like `sh -c CMD`: same exit status, stdin, stdout and stderr; when a
    signal kills the shell, cowsnap dies of that signal too. The run belongs to
    the session $COWSNAP_SESSION, if set. When cowsnap cannot record, the command
    still runs, once, and a warning says it was not recorded.
    """
    return run_sh(arguments)


def main() -> None:
    """The `cowsnap-sh` script: `cowsnap sh` as a single executable (every argument is
    the shell's, --help included)."""
    shell_entry(run_sh, sys.argv[1:])
