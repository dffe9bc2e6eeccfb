"""`cowsnap cat`: a content a run kept, raw, to stdout."""

from __future__ import annotations

import sys

import click

from cowsnap import api
from cowsnap.cli.options import complete_runs, location_options


@click.command("cat")
@click.argument("arguments", nargs=-1, required=True, metavar="[RUN] PATH",
                shell_complete=complete_runs)
@click.option("--before", is_flag=True, help="The content before the run.")
@click.option("--after", is_flag=True, help="The content after the run (the default).")
@click.option("--version", "version", type=click.IntRange(min=1), metavar="N",
              help="Intermediate version N (see `cowsnap versions`).")
@location_options
def cat(arguments: tuple[str, ...], before: bool, after: bool, version: int | None,
        workspace: str | None, store: str | None) -> None:
    """Write a captured content of PATH in RUN (default: the newest) to stdout, raw.

    A symlink's content is its target. When the run did not keep the content,
    says why and, when there is one, how to have the next run keep it.
    """
    if before and after:
        raise click.UsageError("--before and --after exclude each other")
    if version is not None and (before or after):
        raise click.UsageError("--version excludes --before and --after")
    run, paths = api.split_run_argument(arguments, store, workspace)
    if len(paths) != 1:
        raise click.UsageError("expected [RUN] PATH")
    chunks = api.cat(paths[0], "before" if before else "after", run=run,
                     workspace=workspace, store=store, version=version)
    output = sys.stdout.buffer
    for chunk in chunks:
        output.write(chunk)
    output.flush()
