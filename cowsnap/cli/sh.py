"""`cowsnap sh` (and the `cowsnap-sh` script): `/bin/sh`, with every run recorded.

For harnesses that let you choose the shell binary: same arguments, stdio,
exit status and signals as /bin/sh (when a signal kills the shell, cowsnap dies
of the same signal, so the caller's wait status is the one sh would give);
nothing is printed unless the run could not be recorded (one warning line on
stderr).
"""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Sequence

import click

from cowsnap import api
from cowsnap.errors import CowsnapError

SHELL = "/bin/sh"


def die_like(killed_by: int | None, exit_status: int) -> int:
    """Die of the signal `killed_by` that killed the shell, as the shell did; the exit
    status to use instead should it not be fatal to this process."""
    if killed_by is None:
        return exit_status
    sys.stdout.flush()
    sys.stderr.flush()
    if killed_by != signal.SIGKILL:  # the one fatal signal whose disposition is fixed
        signal.signal(killed_by, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {killed_by})
    os.kill(os.getpid(), killed_by)
    return exit_status


def run_sh(arguments: Sequence[str]) -> int:
    """Run /bin/sh with `arguments`, recorded; its exit status (or never returns, when a
    signal killed the shell: see die_like)."""
    session = os.environ.get("COWSNAP_SESSION") or None
    if len(arguments) >= 2 and arguments[0] == "-c":
        outcome = api.run_shell(SHELL, arguments[1], arguments[2:], session=session)
        if outcome.warning is not None:
            click.echo(f"cowsnap: warning: {outcome.warning}", err=True)
        return die_like(outcome.exit_signal, outcome.exit_status)
    result = api.run(api.RunRequest(command=[SHELL, *arguments], session=session))
    if result.recording_error is not None:
        click.echo(f"cowsnap: warning: not recorded: {result.recording_error}", err=True)
    return die_like(result.exit_signal, result.exit_status)


@click.command("sh", context_settings={"ignore_unknown_options": True,
                                       "allow_interspersed_args": False,
                                       "help_option_names": ["--help"]})
@click.argument("arguments", nargs=-1, type=click.UNPROCESSED, metavar="[SH ARGUMENTS]...")
def sh(arguments: tuple[str, ...]) -> int:
    """Run /bin/sh with these arguments (`cowsnap sh -c CMD`), recording the run.

    Behaves like `sh -c CMD`: same exit status, stdin, stdout and stderr; when a
    signal kills the shell, cowsnap dies of that signal too. The run belongs to
    the session $COWSNAP_SESSION, if set. When cowsnap cannot record, the command
    still runs, once, and a warning says it was not recorded.
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
