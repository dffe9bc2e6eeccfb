"""`cowsnap run`: snapshot, trace, record; exit with the command's own status."""

from __future__ import annotations

import sys

import click

from cowsnap import api
from cowsnap.cli.options import location_options, session_option
from cowsnap.record.policy import CaptureSettings
from cowsnap.snapshot.registry import AUTO, BACKEND_NAMES
from cowsnap.units import format_size, parse_size


def _seconds(value: float) -> str:
    return f"{value * 1000:.0f} ms" if value < 1 else f"{value:.2f} s"


def _plural(count: int, singular: str, plural: str) -> str:
    return f"{count} {singular if count == 1 else plural}"


def summary_lines(result: api.RunResult) -> list[str]:
    """The short report printed on stderr after the command finished."""
    lines = []
    if result.summary is not None and result.manifest is not None:
        summary = result.summary
        repositories = len(result.manifest.git_repositories)
        lines.append(
            f"run {result.run_id} ({result.backend}): {summary.written} written, "
            f"{summary.deleted} deleted, {summary.read} read; "
            f"{_plural(summary.files, 'path', 'paths')} in all, "
            f"{_plural(repositories, 'git repository', 'git repositories')}")
        if result.manifest.version_globs:
            versioned = [len(entry.versions) for entry in result.manifest.files
                         if entry.versions]
            lines.append(f"kept {_plural(sum(versioned), 'version', 'versions')} of "
                         f"{_plural(len(versioned), 'file', 'files')} "
                         f"(see them with: cowsnap versions {result.run_id} PATH)")
        for warning in result.manifest.warnings:
            lines.append(f"warning: {warning}")
    timings = result.timings
    lines.append("time: " + ", ".join(
        f"{name} {_seconds(timings[name])}"
        for name in ("preparing", "tracing", "recording") if name in timings))
    if result.summary is not None:
        lines.append(f"see it with: cowsnap diff {result.run_id}; "
                     f"undo it with: cowsnap restore {result.run_id}")
    if result.kept_snapshot is not None:
        lines.append(f"snapshot kept at {result.kept_snapshot}")
    if result.bundle is not None:
        lines.append(f"bundle written to {result.bundle}")
    if result.auto_prune is not None and result.auto_prune.reclaimed is not None:
        removed = _plural(len(result.auto_prune.plan.removed), "run", "runs")
        lines.append(f"pruned automatically: {removed} removed, "
                     f"{format_size(result.auto_prune.reclaimed.size)} freed")
    if result.auto_prune_error is not None:
        lines.append(f"warning: automatic pruning failed: {result.auto_prune_error}")
    return lines


@click.command("run", context_settings={"ignore_unknown_options": True,
                                        "allow_interspersed_args": False})
@location_options
@click.option("--backend", type=click.Choice((AUTO, *BACKEND_NAMES)), default=AUTO,
              show_default=True, help="How to preserve the workspace's before-state.")
@click.option("--output", type=click.Path(file_okay=False, path_type=str),
              help="Also write the run as a self-contained bundle into this new directory.")
@click.option("--keep-snapshot", is_flag=True, help="Keep the snapshot instead of deleting it.")
@click.option("--only-writes", is_flag=True,
              help="Record only paths the command changes; reads never stop it.")
@click.option("--capture-reads", type=click.Choice(("uncommitted", "all", "none")),
              default="uncommitted", show_default=True,
              help="Which read files to keep the content of: files not committed to git, "
                   "all, or none.")
@click.option("--max-file-size", default="256M", show_default=True, metavar="SIZE",
              help="Do not keep contents larger than this (recorded as 'too large').")
@click.option("--versions", "version_globs", multiple=True, metavar="GLOB",
              help="Keep every version of matching files, one each time a writer closes "
                   "them or renames them into place (repeatable; relative to the "
                   "workspace, or absolute).")
@session_option
@click.argument("command", nargs=-1, required=True, type=click.UNPROCESSED)
def run(workspace: str | None, store: str | None, backend: str, output: str | None,
        keep_snapshot: bool, only_writes: bool, capture_reads: str, max_file_size: str,
        version_globs: tuple[str, ...], session: str | None, command: tuple[str, ...]) -> None:
    """Run COMMAND, record every path it touches and changes, exit with its status.

    Put `--` before the command when it has options of its own:
    `cowsnap run -- make -j4`.
    """
    capture = CaptureSettings(capture_reads=capture_reads,  # type: ignore[arg-type]
                              max_file_size=parse_size(max_file_size))
    request = api.RunRequest(command=command, workspace=workspace, store=store,
                             backend=backend, output=output, keep_snapshot=keep_snapshot,
                             only_writes=only_writes, capture=capture,
                             versions=version_globs, session=session or None)
    result = api.run(request)
    if result.ignore_file_created is not None:
        click.echo(f"cowsnap: created {result.ignore_file_created} with default ignored paths",
                   err=True)
    for line in summary_lines(result):
        click.echo(f"cowsnap: {line}", err=True)
    if result.recording_error is not None:
        click.echo(f"cowsnap: error: the run was not recorded: {result.recording_error}",
                   err=True)
    sys.exit(result.exit_status)
