"""`cowsnap log`: the runs of the workspace (or of every workspace), newest first."""

from __future__ import annotations

import json
from dataclasses import asdict

import click

from cowsnap import api
from cowsnap.cli.format import command_line, display_path, local_time
from cowsnap.cli.options import json_option, location_options, terminal_options
from cowsnap.cli.terminal import colour_wanted, emit, paint


def log_line(summary: api.RunSummary, *, every_workspace: bool = False,
             colour: bool = False) -> bytes:
    """One run on one line: id, local start time, exit status, paths created, modified,
    deleted and read (as `show` counts them), command."""
    status = f"exit {summary.exit_status:<3}"
    where = f"  {display_path(summary.workspace)}" if every_workspace else ""
    line = (f"{local_time(summary.started_at)}  {status}  {_counts(summary)}{where}  "
            f"{command_line(summary.command)}")
    return paint(summary.run_id.encode(), "yellow", colour) + b"  " + line.encode(
        "utf-8", "backslashreplace")


def _counts(summary: api.RunSummary) -> str:
    if summary.effects is None:  # an old summary whose manifest could not be read
        return (f"{summary.written:>4} written {summary.deleted:>4} deleted "
                f"{summary.read:>5} read")
    widths = {"created": 4, "modified": 4, "deleted": 4, "read": 5}
    return " ".join(f"{summary.effects.get(name, 0):>{width}} {name}"
                    for name, width in widths.items())


@click.command("log")
@click.option("-n", "--max-count", "limit", type=click.IntRange(min=0), metavar="N",
              help="Show at most the N newest runs.")
@click.option("--all", "every_workspace", is_flag=True,
              help="The runs of every workspace, not only this one's.")
@click.option("--session", metavar="SESSION", help="Only the runs of this agent session.")
@click.option("--remote", metavar="REMOTE",
              help="List the runs REMOTE holds (every workspace's), fetching no contents.")
@location_options
@json_option
@terminal_options
def log(limit: int | None, every_workspace: bool, session: str | None, remote: str | None,
        workspace: str | None, store: str | None, as_json: bool, color: str,
        no_pager: bool) -> api.Log | None:
    """List the workspace's runs, newest first, in local time.

    Runs whose records cannot be read are named on stderr (exit status 1); the
    others are still listed. --json gives times in UTC.
    """
    if remote is not None:
        from cowsnap.cli.remote import print_remote_log

        print_remote_log(remote, store, as_json)
        return None
    found = api.log(workspace=workspace, store=store, session=session,
                    every_workspace=every_workspace, limit=limit)
    for item in found.unreadable:
        click.echo(f"cowsnap: warning: cannot read run {item.run_id}: {item.problem}",
                   err=True)
    if as_json:
        click.echo(json.dumps([asdict(summary) for summary in found.runs], indent=2))
    elif found.runs:
        colour = colour_wanted(color)
        emit((log_line(summary, every_workspace=every_workspace, colour=colour)
              for summary in found.runs), no_pager=no_pager)
    elif not found.unreadable and limit != 0:
        where = "any workspace" if found.workspace is None else f"workspace {found.workspace}"
        click.echo(f"cowsnap: no runs recorded for {where} yet; record one with: "
                   f"cowsnap run -- COMMAND", err=True)
    return found
