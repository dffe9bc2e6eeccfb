"""`cowsnap run`: snapshot, trace, record; exit with the command's own status."""

from __future__ import annotations

import os
import stat

import click

from cowsnap import api
from cowsnap.cli.format import (
    count,
    display_path,
    exit_description,
    format_size,
    printable,
    seconds,
)
from cowsnap.cli.options import location_options, session_option
from cowsnap.cli.tally import counted, tally

TIMINGS = ("preparing", "tracing", "recording", "releasing")


def summary_lines(result: api.RunResult) -> list[str]:
    """The short report printed on stderr after the command finished."""
    lines = []
    manifest = result.manifest
    if result.exit_status != 0:
        lines.append(f"the command failed: exit status {exit_description(result.exit_status)}")
    if manifest is not None:
        effects = result.summary.effects if result.summary else None
        lines.append(
            f"run {result.run_id} ({result.backend}): "
            f"{counted(effects) if effects is not None else tally(manifest.files)}; "
            f"{count(len(manifest.files), 'path')} in all, "
            f"{count(len(manifest.git_repositories), 'git repository')}")
        if manifest.version_globs:
            versioned = [len(entry.versions) for entry in manifest.files if entry.versions]
            lines.append(f"kept {count(sum(versioned), 'version')} of "
                         f"{count(len(versioned), 'file')} "
                         f"(see them with: cowsnap versions {result.run_id} PATH)")
        lines.extend(f"warning: {printable(warning)}" for warning in manifest.warnings)
    timings = result.timings
    lines.append("time: " + ", ".join(f"{name} {seconds(timings[name])}"
                                      for name in TIMINGS if name in timings))
    if manifest is not None:
        if any(api.entry_change(entry) for entry in manifest.files if entry.in_workspace):
            lines.append(f"see it with: cowsnap diff {result.run_id}; "
                         f"undo it with: cowsnap restore {result.run_id}")
        else:
            lines.append(f"it changed nothing in the workspace; "
                         f"see what it read with: cowsnap show {result.run_id}")
    if result.kept_snapshot is not None:
        lines.append(f"snapshot kept at {display_path(str(result.kept_snapshot))}")
    if result.bundle is not None:
        lines.append(f"bundle written to {display_path(str(result.bundle))}")
    if result.auto_prune is not None and result.auto_prune.reclaimed is not None:
        removed = count(len(result.auto_prune.plan.removed), "run")
        lines.append(f"pruned automatically: {removed} removed, "
                     f"{format_size(result.auto_prune.reclaimed.size)} freed")
    if result.auto_prune_error is not None:
        lines.append(f"warning: automatic pruning failed: {result.auto_prune_error}")
    return lines


def _stderr_was_recorded(manifest: api.Manifest | None) -> bool:
    """Whether cowsnap's stderr is a file the run recorded (`cowsnap run -- make >
    build.log 2>&1`): a summary appended to it would make it differ from its recorded
    after-state, and an undo refuse it as changed since the run."""
    try:
        if manifest is None or not stat.S_ISREG(os.fstat(2).st_mode):
            return False
        name = os.readlink(b"/proc/self/fd/2")
    except OSError:
        return False
    return any(entry.path == name for entry in manifest.files if entry.in_workspace)


@click.command("run", context_settings={"allow_interspersed_args": False})
@location_options
@click.option("--backend", type=click.Choice((api.AUTO, *api.BACKEND_NAMES)),
              default=api.AUTO, show_default=True,
              help="How to preserve the workspace's before-state.")
@click.option("--output", type=click.Path(file_okay=False, path_type=str),
              help="Also write the run as a self-contained bundle into this new directory "
                   "(checked before the command starts).")
@click.option("--keep-snapshot", is_flag=True,
              help="Keep the snapshot, named after the run (status and show list it), until "
                   "the run is forgotten or pruned.")
@click.option("--only-writes", is_flag=True,
              help="Record only paths the command changes; reads never stop it.")
@click.option("--capture-reads", type=click.Choice(api.CAPTURE_READS),
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
        version_globs: tuple[str, ...], session: str | None,
        command: tuple[str, ...]) -> api.RunResult:
    """Run COMMAND, record every path it touches and changes, exit with its status.

    Options of cowsnap come before COMMAND; everything from COMMAND on is its own:
    `cowsnap run make -j4`, or `cowsnap run -- -weird-name` for a command that
    starts with '-'. Ctrl-C reaches the whole command through the terminal, as
    in a shell. A SIGINT, SIGQUIT or SIGTSTP sent to cowsnap alone (kill -INT
    PID) is ignored while the command runs; SIGTERM and SIGHUP are passed on to
    it, and the run is still recorded.
    """
    request = api.RunRequest(command=command, workspace=workspace, store=store,
                             backend=backend, output=output, keep_snapshot=keep_snapshot,
                             only_writes=only_writes,
                             capture=api.parse_capture(capture_reads, max_file_size),
                             versions=version_globs, session=session or None)
    result = api.run(request)
    if _stderr_was_recorded(result.manifest):
        return result
    if result.ignore_file_created is not None:
        click.echo(f"cowsnap: created {display_path(str(result.ignore_file_created))} "
                   f"with default ignored paths", err=True)
    for line in summary_lines(result):
        click.echo(f"cowsnap: {line}", err=True)
    return result
