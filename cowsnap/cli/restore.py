"""`cowsnap restore`: undo (or redo) a run, whole or by path, safely."""

from __future__ import annotations

import json
import sys
from typing import Any

import click

from cowsnap import api
from cowsnap.cli.format import count, display_path, json_text, relative_name
from cowsnap.cli.options import complete_runs, json_option, location_options
from cowsnap.errors import RestoreConflictError

PROGRESS_FROM = 200
"""Restores of fewer steps finish too fast for a progress bar to help."""

VERBS = {"clear": "remove", "remove": "remove", "mkdir": "mkdir", "write": "write",
         "symlink": "symlink", "mkfifo": "mkfifo", "metadata": "metadata",
         "dir-metadata": "metadata"}


class _ProgressBar:
    """A bar on stderr, shown only on a terminal and only for large restores."""

    def __init__(self) -> None:
        self._bar: Any = None
        self._shown = 0

    def __call__(self, done: int, total: int) -> None:
        if self._bar is None:
            if total < PROGRESS_FROM or not sys.stderr.isatty():
                return
            self._bar = click.progressbar(length=total, label="restoring", file=sys.stderr)
            self._bar.__enter__()
        self._bar.update(done - self._shown)
        self._shown = done

    def close(self) -> None:
        if self._bar is not None:
            self._bar.__exit__(None, None, None)


def restore_document(result: api.Restored) -> dict[str, Any]:
    """The stable --json shape (docs/cli-json.md)."""
    return {
        "run_id": result.run_id,
        "to": result.side,
        "dry_run": result.dry_run,
        "undo_run": result.undo_run,
        "steps": [{"action": VERBS[step.action.value], **json_text("path", step.path)}
                  for step in result.plan.steps],
        "failures": [{**json_text("path", path), "problem": why}
                     for path, why in result.failures],
        "skipped": [{**json_text("path", path), "problem": why}
                    for path, why in result.skipped],
    }


def _name(workspace: str, path: bytes) -> str:
    """A path as every command names it: relative to the workspace."""
    return display_path(relative_name(path, workspace)) if workspace else display_path(path)


def _report(result: api.Restored) -> None:
    if result.dry_run:
        for step in result.plan.steps:
            click.echo(f"{VERBS[step.action.value]:<9} "
                       f"{_name(result.workspace, step.path)}")
        for path, why in result.failures:
            click.echo(f"cannot    {_name(result.workspace, path)}: {why}")
        for path, why in result.skipped:
            click.echo(f"skip      {_name(result.workspace, path)}: {why}")
        return
    for path, why in result.skipped:
        click.echo(f"cowsnap: left alone: {_name(result.workspace, path)}: {why}", err=True)
    failed = {path for path, _why in result.failures}
    touched = len([target for target in result.plan.touched() if target.path not in failed])
    state = "before" if result.side == "before" else "after"
    if not touched and not result.failures:
        click.echo(f"cowsnap: nothing to restore: run {result.run_id}'s paths are already "
                   f"in their {state}-state", err=True)
        return
    click.echo(f"cowsnap: restored {count(touched, 'path')} of run "
               f"{result.run_id} to their {state}-state", err=True)
    if result.undo_run is not None:
        click.echo(f"cowsnap: undo this with: cowsnap restore {result.undo_run}", err=True)
    for path, why in result.failures:
        click.echo(f"cowsnap: not restored: {_name(result.workspace, path)}: {why}", err=True)


@click.command("restore")
@click.argument("arguments", nargs=-1, metavar="[RUN] [PATH]...",
                shell_complete=complete_runs)
@click.option("--to", "side", type=click.Choice(("before", "after")), default="before",
              show_default=True,
              help="before: undo the run; after: redo it.")
@click.option("--dry-run", is_flag=True, help="Print the plan; change nothing.")
@click.option("--force", is_flag=True,
              help="Overwrite paths that changed since the run.")
@click.option("--outside", is_flag=True,
              help="From a run not recorded here by you (a bundle, a fetched run), also "
                   "restore the paths it recorded outside its workspace.")
@click.option("--same-owner", is_flag=True,
              help="Restore recorded owners and setuid/setgid bits even from a run not "
                   "recorded here by you.")
@location_options
@json_option
def restore(arguments: tuple[str, ...], side: str, dry_run: bool, force: bool,
            outside: bool, same_owner: bool, workspace: str | None, store: str | None,
            as_json: bool) -> api.Restored:
    """Undo RUN (default: the newest), or redo it with --to after; whole or only PATHs.

    A directory PATH means everything under it. Refuses, changing nothing, when a
    path changed since the run (unless --force). Records what it replaces as a run
    of its own first, whose command names the run restored, so `cowsnap restore
    <that run>` undoes the restore. Exits 1 when a path could not be restored,
    after listing each. A run you did not record on this machine (a bundle, a
    fetched run) is restored into the workspace (--workspace, default: the
    current one), never outside it unless --outside, without owners or set-id
    bits unless --same-owner.
    """
    run, paths = api.split_run_argument(arguments, store, workspace)
    progress = _ProgressBar()
    try:
        result = api.restore(run, paths, side="after" if side == "after" else "before",
                             force=force, dry_run=dry_run, workspace=workspace, store=store,
                             progress=progress, outside=outside, same_owner=same_owner)
    except RestoreConflictError as error:
        for path, why in error.conflicts:
            click.echo(f"cowsnap: conflict: {_name(error.workspace, path)}: {why}", err=True)
        raise
    finally:
        progress.close()
    if as_json:
        click.echo(json.dumps(restore_document(result), indent=2))
    else:
        _report(result)
    return result
