"""The click layer: parse options, call cowsnap.api, render. Nothing else.

`main` is the one place where CowsnapError becomes a line on stderr and an exit
code.
"""

from __future__ import annotations

import errno
import os
import sys
from typing import Any

import click

from cowsnap import __version__
from cowsnap.cli import commands
from cowsnap.errors import EXIT_ERROR, CowsnapError

EXIT_SIGPIPE = 128 + 13


class CowsnapGroup(click.Group):
    """A group that loads its commands lazily and reports CowsnapError (and OS errors)
    as one line, never a traceback."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(commands.COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        return commands.load(cmd_name)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except CowsnapError as error:
            _fail(str(error), error.exit_code)
        except BrokenPipeError:
            _reader_went_away()
        except OSError as error:
            if os.environ.get("COWSNAP_DEBUG"):
                raise
            _fail(_describe_os_error(error), EXIT_ERROR)


def _describe_os_error(error: OSError) -> str:
    if error.errno == errno.ENOSPC:
        return f"no space left on device: {error.filename or ''}".rstrip(": ")
    where = f": {error.filename}" if error.filename else ""
    return f"{error.strerror or error}{where}"


def _reader_went_away() -> None:
    """`cowsnap cat ... | head`: the reader stopped early, as with git, no error.
    stdout is pointed at /dev/null so the interpreter's final flush cannot fail too."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    sys.exit(EXIT_SIGPIPE)


def _fail(message: str, exit_code: int) -> None:
    click.echo(f"cowsnap: error: {message}", err=True)
    sys.exit(exit_code)


@click.group(cls=CowsnapGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="cowsnap")
def main() -> None:
    """Run any command, see exactly what it touched and changed, and undo it."""
