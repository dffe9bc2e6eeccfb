"""Options and arguments shared by several commands, with their shell completion."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

import click

from cowsnap import api
from cowsnap.cli.format import command_line
from cowsnap.errors import CowsnapError

if TYPE_CHECKING:
    from click.shell_completion import CompletionItem

F = TypeVar("F", bound=Callable[..., Any])

workspace_option = click.option(
    "--workspace", type=click.Path(path_type=str),
    help="The workspace (default: the btrfs subvolume, else git repository, "
         "else current directory).")
store_option = click.option(
    "--store", type=click.Path(path_type=str),
    help="The store directory (default: $COWSNAP_STORE, else $XDG_DATA_HOME/cowsnap).")
json_option = click.option("--json", "as_json", is_flag=True,
                           help="Print machine-readable JSON (documented in docs/cli-json.md).")

session_option = click.option(
    "--session", envvar="COWSNAP_SESSION", metavar="SESSION",
    help="Record the run as part of this agent session (default: $COWSNAP_SESSION).")


def location_options(function: F) -> F:
    """--workspace and --store."""
    return workspace_option(store_option(function))


def terminal_options(function: F) -> F:
    """--color and --no-pager, for commands that page and colour like git."""
    function = click.option(
        "--color", "color", type=click.Choice(("auto", "always", "never")), default="auto",
        show_default=True,
        help="Colour the output: auto means on a terminal unless NO_COLOR is set.")(function)
    return click.option(
        "--no-pager", "no_pager", is_flag=True,
        help="Do not page the output (default: page on a terminal with $COWSNAP_PAGER, "
             "$PAGER or less, as git does).")(function)


def complete_runs(ctx: click.Context, param: click.Parameter,
                  incomplete: str) -> list[CompletionItem]:
    """Run ids of the workspace (newest first) containing what was typed, described by
    their command on one line (zsh and fish read one field a line), then paths: RUN is
    often optional. (Completion is imported only when asked for.)"""
    from click.shell_completion import CompletionItem

    options = ctx.params
    try:
        runs = api.log(workspace=options.get("workspace"), store=options.get("store")).runs
    except (CowsnapError, OSError):
        runs = ()
    items = [CompletionItem(summary.run_id, help=command_line(summary.command)[:60])
             for summary in runs if incomplete in summary.run_id]
    if incomplete.startswith("@"):
        items += [CompletionItem(f"@~{number}") for number in range(1, min(len(runs), 10))]
    return [*items, CompletionItem(incomplete, type="file")]

