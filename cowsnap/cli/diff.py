"""`cowsnap diff`: a run's changes as unified diffs, --stat, --name-status or --json.

Like git: colour and a pager when stdout is a terminal, plain bytes otherwise.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable

import click

from cowsnap import api
from cowsnap.cli.options import json_option, location_options
from cowsnap.diff.text import Kind, diff_json, name_status_lines, stat_lines, unified

COLOURS = {Kind.HEADER: {"bold": True}, Kind.META: {"bold": True},
           Kind.HUNK: {"fg": "cyan"}, Kind.ADDED: {"fg": "green"},
           Kind.REMOVED: {"fg": "red"}, Kind.CONTEXT: {}}


def _emit(lines: Iterable[tuple[Kind, bytes]]) -> None:
    if sys.stdout.isatty():
        text = "".join(click.style(line.decode("utf-8", "backslashreplace"),
                                   **COLOURS[kind]) + "\n"  # type: ignore[arg-type]
                       for kind, line in lines)
        click.echo_via_pager(text, color=True)
        return
    output = sys.stdout.buffer
    for _kind, line in lines:
        output.write(line + b"\n")
    output.flush()


@click.command("diff")
@click.argument("arguments", nargs=-1, metavar="[RUN] [PATH]...")
@click.option("--stat", "stat", is_flag=True, help="A histogram of changed lines per path.")
@click.option("--name-status", "name_status", is_flag=True,
              help="One line per path: its status letters and its name.")
@click.option("--version", "version", type=click.IntRange(min=1), metavar="N",
              help="What intermediate version N of PATH changed (see `cowsnap versions`): "
                   "against version N-1, version 1 against the before-state.")
@json_option
@location_options
def diff(arguments: tuple[str, ...], stat: bool, name_status: bool, version: int | None,
         as_json: bool, workspace: str | None, store: str | None) -> None:
    """Show what RUN (default: the newest) changed, as unified diffs from before to after.

    With PATHs, only those (a directory means everything under it). The first
    argument is RUN when it is a run id or a prefix of one; write ./NAME for a
    path that looks like one. Status letters: + created, - deleted, c content
    changed, t type changed, then p when permissions changed, m when other
    metadata (owner, group, times, xattrs) changed; `.` means unchanged.
    """
    if stat + name_status + as_json > 1:
        raise click.UsageError("--stat, --name-status and --json exclude each other")
    run, paths = api.split_run_argument(arguments, store)
    if version is None:
        changes = api.diff(run, paths, workspace=workspace, store=store)
    elif len(paths) == 1:
        changes = api.version_diff(paths[0], version, run=run, workspace=workspace, store=store)
    else:
        raise click.UsageError("--version needs exactly one PATH")
    if as_json:
        click.echo(json.dumps(diff_json(changes), indent=2))
    elif stat:
        _emit((Kind.CONTEXT, line) for line in stat_lines(changes))
    elif name_status:
        _emit((Kind.CONTEXT, line) for line in name_status_lines(changes))
    else:
        _emit(line for file_diff in changes.files for line in unified(file_diff))
