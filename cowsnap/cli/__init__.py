"""The click layer: parse options, call cowsnap.api, render. Nothing else.

This module is the one place that decides how cowsnap exits: a command returns
the api result it rendered (or nothing), and its `exit_code` and `error` become
the exit status and the last line on stderr; a CowsnapError, an OS error or a
usage error becomes one line on stderr and its exit code.
"""

from __future__ import annotations

import atexit
import errno
import os
import signal
import sys
import threading
from collections.abc import Callable, Sequence
from typing import Any, NoReturn

import click

from cowsnap import __version__, api
from cowsnap.cli import commands
from cowsnap.cli.format import display_path, printable
from cowsnap.errors import EXIT_ERROR, EXIT_USAGE, CowsnapError

EXIT_SIGPIPE = 128 + 13
EXIT_INTERRUPTED = 128 + 2


class CowsnapGroup(click.Group):
    """A group that loads its commands lazily and reports every failure as one line,
    never a traceback."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(commands.COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        return commands.load(cmd_name)

    def resolve_command(self, ctx: click.Context, args: list[str]
                        ) -> tuple[str | None, click.Command | None, list[str]]:
        """The command to run, loaded; the start-up is over then (cowsnap.program paused
        the cycle collector for it)."""
        found = super().resolve_command(ctx, args)
        api.start_up_done()
        return found

    def main(self, args: Sequence[str] | None = None, prog_name: str | None = None,
             complete_var: str | None = None, standalone_mode: bool = True,
             **extra: Any) -> Any:
        """Run the command line; unless `standalone_mode` is off, exit with the status the
        outcome calls for."""
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        try:
            outcome = super().main(args, prog_name or "cowsnap", complete_var,
                                   standalone_mode=False, **extra)
        except click.exceptions.NoArgsIsHelpError as error:
            click.echo(error.format_message(), err=True)
            sys.exit(EXIT_USAGE)
        except click.UsageError as error:
            command = _usage_path(error, sys.argv[1:] if args is None else list(args))
            _fail(f"{error.format_message().rstrip('.')} (try '{command} --help')", EXIT_USAGE)
        except click.ClickException as error:
            _fail(error.format_message(), error.exit_code)
        except click.Abort:
            _fail("interrupted", EXIT_INTERRUPTED)
        _exit(outcome)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except CowsnapError as error:
            hint = f" (try '{_command_path(ctx)} --help')" if error.exit_code == EXIT_USAGE \
                else ""
            _fail(f"{error}{hint}", error.exit_code)
        except BrokenPipeError:
            _reader_went_away()
        except OSError as error:
            if os.environ.get("COWSNAP_DEBUG"):
                raise
            _fail(_describe_os_error(error), EXIT_ERROR)


def _usage_path(error: click.UsageError, args: Sequence[str]) -> str:
    """The command whose --help explains a usage error: the one click names, else the
    first argument that is a command (click names none for an option missing its
    value: `cowsnap diff --version`)."""
    if error.ctx is not None and error.ctx.parent is not None:
        return error.ctx.command_path
    named = next((argument for argument in args if not argument.startswith("-")), None)
    return f"cowsnap {named}" if named in commands.COMMANDS else "cowsnap"


def _command_path(ctx: click.Context) -> str:
    """`cowsnap run` for an error the api raised while `run` ran (the group's context
    is the one left when it propagates)."""
    if ctx.invoked_subcommand:
        return f"{ctx.command_path} {ctx.invoked_subcommand}"
    return ctx.command_path


def _exit(outcome: Any) -> NoReturn:
    """Exit as an api result says: its `error` on stderr, its `exit_code` (an int
    outcome is an exit code itself, as click returns for --help); or die of its
    `fatal_signal` (`cowsnap sh`, whose caller must see the wait status sh gives)."""
    if isinstance(outcome, int):
        sys.exit(outcome)
    message = getattr(outcome, "error", None)
    code = getattr(outcome, "exit_code", 0)
    if message:
        _fail(message, code or EXIT_ERROR)
    fatal = getattr(outcome, "fatal_signal", None)
    if fatal is not None:
        _die_of(fatal)
    sys.exit(code)


def _die_of(number: int) -> None:
    """Die of signal `number` as the command did; returns only when it is not fatal to
    this process (then the exit status 128+N is used)."""
    sys.stdout.flush()
    sys.stderr.flush()
    if number != signal.SIGKILL:  # the one fatal signal whose disposition is fixed
        signal.signal(number, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {number})
    os.kill(os.getpid(), number)


def shell_entry(run_shell: Callable[[Sequence[str]], Any], arguments: Sequence[str]) -> NoReturn:
    """The `cowsnap-sh` script: every argument is the shell's (no option parsing), an
    error is one line, and the exit is decided here as for every command."""
    api.start_up_done()
    try:
        outcome = run_shell(arguments)
    except CowsnapError as error:
        _fail(str(error), error.exit_code)
    _exit(outcome)


def _describe_os_error(error: OSError) -> str:
    where = f": {display_path(error.filename)}" if isinstance(error.filename, str | bytes) \
        else ""
    if error.errno == errno.ENOSPC:
        return f"no space left on device{where}"
    return f"{error.strerror or error}{where}"


def _reader_went_away() -> NoReturn:
    """`cowsnap cat ... | head`: the reader stopped early, as with git, no error.
    stdout is pointed at /dev/null so the interpreter's final flush cannot fail too."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    sys.exit(EXIT_SIGPIPE)


def _fail(message: str, exit_code: int) -> NoReturn:
    """One line on stderr, control characters escaped as display_path escapes them in
    every path (a message may carry a hostile remote's or bundle's text)."""
    shown = printable(message)
    click.echo(f"cowsnap: error: {shown}", err=True)
    sys.exit(exit_code)


def entry() -> NoReturn:
    """The `cowsnap` program (and `python -m cowsnap`): `main`, then an exit that skips
    tearing the interpreter down. Freeing every module and object costs 10-20 ms, as
    much as everything `cowsnap run -- true` does after its imports, and a process
    about to end needs none of it. atexit handlers still run and the standard streams
    are flushed; while another thread runs (it must be joined), or when the exit
    status is not a number, the usual exit is taken. `main` itself exits the usual
    way, for callers that embed it (CliRunner)."""
    try:
        main()
    except SystemExit as done:
        if not isinstance(done.code, int | None) or threading.active_count() > 1:
            raise
        status = done.code or 0
    else:
        status = 0
    atexit._run_exitfuncs()
    try:
        for stream in (sys.stdout, sys.stderr):
            if stream is not None:
                stream.flush()
    except (OSError, ValueError):
        sys.exit(status)
    os._exit(status)


@click.group(cls=CowsnapGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="cowsnap")
def main() -> None:
    """Run any command, see exactly what it touched and changed, and undo it.

    Name a run by its id, any part of it that only one run's id contains, `@` (the
    workspace's newest run) or `@~N` (the Nth before it).
    """
