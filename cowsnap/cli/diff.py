"""`cowsnap diff`: a run's changes as unified diffs, --stat, --name-status or --json.

Like git: colour and a pager when stdout is a terminal (cowsnap.cli.terminal),
plain bytes otherwise.
"""

from __future__ import annotations

import json
import os
import shutil
import sys

import click

from cowsnap import api
from cowsnap.cli.diffstat import name_status, stat
from cowsnap.cli.options import complete_runs, json_option, location_options, terminal_options
from cowsnap.cli.terminal import colour_wanted, emit, paint
from cowsnap.errors import RunNotFoundError

STYLES = {"header": "bold", "meta": "bold", "hunk": "cyan", "added": "green",
          "removed": "red", "context": None}


def _terminal_width() -> int:
    """git's rule for --stat: $COLUMNS, else the terminal's width, else 80."""
    columns = os.environ.get("COLUMNS", "")
    if columns.isdigit() and int(columns) > 0:
        return int(columns)
    return shutil.get_terminal_size((80, 24)).columns if sys.stdout.isatty() else 80


def _changes(arguments: tuple[str, ...], now: bool, version: int | None,
             workspace: str | None, store: str | None) -> api.RunDiff:
    run, rest = api.split_run_argument(arguments, store, workspace)
    other = None
    if run is not None and rest:
        try:
            other, rest = api.split_run_argument(rest[:1], store, workspace)[0], rest[1:]
        except RunNotFoundError:
            other = None
        if other is None:
            rest = list(arguments[1:])
    if sum((other is not None, now, version is not None)) > 1:
        raise click.UsageError("two runs, --now and --version exclude each other")
    if other is not None:
        assert run is not None
        return api.diff_runs(run, other, rest, workspace=workspace, store=store)
    if now:
        return api.diff_now(run, rest, workspace=workspace, store=store)
    if version is None:
        return api.diff(run, rest, workspace=workspace, store=store)
    if len(rest) != 1:
        raise click.UsageError("--version needs exactly one PATH")
    return api.version_diff(rest[0], version, run=run, workspace=workspace, store=store)


@click.command("diff")
@click.argument("arguments", nargs=-1, metavar="[RUN [RUN2]] [PATH]...",
                shell_complete=complete_runs)
@click.option("--stat", "as_stat", is_flag=True, help="A histogram of changed lines per path.")
@click.option("--name-status", "as_name_status", is_flag=True,
              help="One line per path: git's letter (A added, M modified, D deleted, "
                   "T type changed, R renamed: old and new name) and its name.")
@click.option("-z", "nul", is_flag=True,
              help="With --name-status: separate fields and lines with NUL, names raw.")
@click.option("--now", is_flag=True,
              help="Compare RUN's after-state with the workspace as it is now.")
@click.option("--version", "version", type=click.IntRange(min=1), metavar="N",
              help="What intermediate version N of PATH changed (see `cowsnap versions`): "
                   "against version N-1, version 1 against the before-state.")
@json_option
@location_options
@terminal_options
def diff(arguments: tuple[str, ...], as_stat: bool, as_name_status: bool, nul: bool,
         now: bool, version: int | None, as_json: bool, workspace: str | None,
         store: str | None, color: str, no_pager: bool) -> None:
    """Show what RUN (default: the newest) changed, as unified diffs from before to after.

    With RUN2, what changed from the state after RUN to the state after RUN2.
    With PATHs, only those (a directory means everything under it). A RUN is a
    run id, any part of one only it contains, @ (the newest) or @~N; write
    ./NAME for a path that looks like one. Names are relative to the workspace.
    """
    if as_stat + as_name_status + as_json > 1:
        raise click.UsageError("--stat, --name-status and --json exclude each other")
    if nul and not as_name_status:
        raise click.UsageError("-z goes with --name-status")
    changes = _changes(arguments, now, version, workspace, store)
    if as_json:
        click.echo(json.dumps(api.diff_json(changes), indent=2))
    elif as_stat:
        emit((line.encode() for line in stat(changes.files, _terminal_width(),
                                             getattr(changes, "renames", None))),
             no_pager=no_pager)
    elif as_name_status:
        emit(name_status(changes.files, getattr(changes, "renames", None), nul=nul),
             no_pager=no_pager or nul,
             end=b"\0" if nul else b"\n")
    else:
        colour = colour_wanted(color)
        emit((paint(line, STYLES[kind.value], colour)
              for item in changes.files for kind, line in api.unified(item)),
             no_pager=no_pager)
