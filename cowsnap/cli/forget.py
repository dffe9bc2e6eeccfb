"""`cowsnap forget`: remove named runs and what only they referenced (restic's word)."""

from __future__ import annotations

import json
from typing import Any

import click

from cowsnap import api
from cowsnap.cli.format import count, format_size
from cowsnap.cli.options import complete_runs, json_option, location_options


def forget_document(result: api.ForgetResult) -> dict[str, Any]:
    """The stable --json shape (docs/cli-json.md)."""
    return {"store": str(result.store), "dry_run": result.dry_run,
            "runs": list(result.run_ids), "reclaimed_contents": result.reclaimed_contents,
            "reclaimed_size": result.reclaimed_size, "damaged": list(result.damaged)}


@click.command("forget")
@click.argument("runs", nargs=-1, required=True, metavar="RUN...",
                shell_complete=complete_runs)
@click.option("--dry-run", is_flag=True, help="Say which runs would be removed; change nothing.")
@location_options
@json_option
def forget(runs: tuple[str, ...], dry_run: bool, workspace: str | None, store: str | None,
           as_json: bool) -> api.ForgetResult:
    """Remove RUNs from the store, with the contents no other run references.

    A RUN is a run reference (an id, a unique part of one, @ or @~N). A removed
    run cannot be shown, diffed or restored any more. A run that cannot be read
    (damaged) can be forgotten; while another remains, no content is reclaimed.
    """
    result = api.forget(runs, dry_run=dry_run, workspace=workspace, store=store)
    if result.damaged:
        click.echo(f"cowsnap: warning: no content reclaimed while "
                   f"{count(len(result.damaged), 'run')} cannot be read (any content could be "
                   f"theirs): {', '.join(result.damaged)}", err=True)
    if as_json:
        click.echo(json.dumps(forget_document(result), indent=2))
        return result
    verb = "would forget" if dry_run else "forgot"
    for run_id in result.run_ids:
        click.echo(f"{verb} run {run_id}")
    if not dry_run:
        click.echo(f"reclaimed {count(result.reclaimed_contents, 'content')} no run "
                   f"references; freed {format_size(result.reclaimed_size)}")
    return result
