"""`cowsnap log`, `cowsnap show` and `cowsnap cat`: reading recorded runs back."""

from __future__ import annotations

import json
import sys
from dataclasses import asdict

import click

from cowsnap import api
from cowsnap.cli.options import json_option, location_options
from cowsnap.model import Manifest, entry_change, manifest_to_dict, status_code
from cowsnap.store.runs import RunSummary


def _display(path: bytes) -> str:
    return path.decode("utf-8", "backslashreplace")


def log_line(summary: RunSummary) -> str:
    command = " ".join(summary.command)
    return (f"{summary.run_id}  {summary.started_at[:19].replace('T', ' ')}  "
            f"exit {summary.exit_status:<3}  {summary.written:>4} written "
            f"{summary.deleted:>4} deleted {summary.read:>5} read  {command}")


@click.command("log")
@location_options
@click.option("--session", metavar="SESSION", help="Only the runs of this agent session.")
@click.option("--remote", metavar="REMOTE",
              help="List the runs REMOTE holds (every workspace's), fetching no contents.")
@json_option
def log(workspace: str | None, store: str | None, session: str | None, remote: str | None,
        as_json: bool) -> None:
    """List the workspace's runs, newest first."""
    if remote is not None:
        from cowsnap.cli.remote import print_remote_log

        print_remote_log(remote, store, as_json)
        return
    summaries = api.log(workspace=workspace, store=store, session=session)
    if as_json:
        click.echo(json.dumps([asdict(summary) for summary in summaries], indent=2))
        return
    for summary in summaries:
        click.echo(log_line(summary))


def show_text(manifest: Manifest, *, everything: bool = False) -> str:
    lines = [
        f"run:       {manifest.run_id}",
        f"command:   {' '.join(manifest.command)}",
        f"exit:      {manifest.exit_status}",
        f"workspace: {manifest.workspace} ({manifest.backend})",
        f"started:   {manifest.started_at}",
        f"finished:  {manifest.finished_at}",
    ]
    for repository in manifest.git_repositories:
        dirty = " (dirty)" if repository.dirty else ""
        lines.append(f"git:       {repository.root} at {repository.head}{dirty}")
    if manifest.version_globs:
        lines.append(f"versions:  {' '.join(manifest.version_globs)}")
    lines.extend(f"warning:   {warning}" for warning in manifest.warnings)
    lines.append("")
    hidden = 0
    for entry in manifest.files:
        if not (everything or entry.in_workspace or entry_change(entry)):
            hidden += 1
            continue
        operations = ",".join(entry.operations)
        versions = len(entry.versions)
        kept = f"  ({versions} version{'' if versions == 1 else 's'})" if versions else ""
        lines.append(f"{status_code(entry)} {_display(entry.path)}  [{operations}]{kept}")
    if hidden:
        lines.append(f"(and {hidden} unchanged paths outside the workspace; --all lists them)")
    return "\n".join(lines)


@click.command("show")
@click.argument("run", required=False)
@click.option("--all", "everything", is_flag=True,
              help="Also list unchanged paths outside the workspace (libraries, probes).")
@location_options
@json_option
def show(run: str | None, everything: bool, workspace: str | None, store: str | None,
         as_json: bool) -> None:
    """Show one run (default: the workspace's newest) with a status line per path.

    One line per path: its status, the path, and its operations. Status: +
    created, - deleted, c content changed, t type changed, then p when permissions
    changed, m when other metadata (owner, group, times, xattrs) changed; `.` means
    unchanged. --json prints the full manifest.
    """
    manifest = api.show(run, workspace=workspace, store=store)
    if as_json:
        click.echo(json.dumps(manifest_to_dict(manifest), indent=2))
    else:
        click.echo(show_text(manifest, everything=everything))


@click.command("cat")
@click.argument("arguments", nargs=-1, required=True, metavar="[RUN] PATH")
@click.option("--before", "side", flag_value="before", help="The content before the run.")
@click.option("--after", "side", flag_value="after", default=True,
              help="The content after the run (the default).")
@click.option("--version", "version", type=click.IntRange(min=1), metavar="N",
              help="Intermediate version N (see `cowsnap versions`).")
@location_options
def cat(arguments: tuple[str, ...], side: str, version: int | None, workspace: str | None,
        store: str | None) -> None:
    """Write a captured content of PATH in RUN (default: the newest) to stdout, raw."""
    if len(arguments) > 2:
        raise click.UsageError("expected [RUN] PATH")
    if version is not None and side == "before":
        raise click.UsageError("--version and --before exclude each other")
    run, path = (None, arguments[0]) if len(arguments) == 1 else arguments
    chunks = api.cat(path, "before" if side == "before" else "after", run=run,
                     workspace=workspace, store=store, version=version)
    output = sys.stdout.buffer
    for chunk in chunks:
        output.write(chunk)
    output.flush()
