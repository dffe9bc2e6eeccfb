"""`cowsnap restore`: undo (or redo) a run, whole or by path, safely."""

from __future__ import annotations

import sys
from typing import Any

import click

from cowsnap import api
from cowsnap.cli.options import location_options
from cowsnap.errors import RestoreConflictError
from cowsnap.restore.plan import Action
from cowsnap.restore.session import RestoreResult

PROGRESS_FROM = 200
"""Restores of fewer steps finish too fast for a progress bar to help."""

VERBS = {Action.CLEAR: "remove", Action.REMOVE: "remove", Action.MKDIR: "mkdir",
         Action.WRITE: "write", Action.SYMLINK: "symlink", Action.METADATA: "metadata",
         Action.DIR_METADATA: "metadata"}


def _shown(path: bytes) -> str:
    """As every other command shows a path: invalid UTF-8 bytes as \\xNN escapes."""
    return path.decode("utf-8", "backslashreplace")


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


def _report(result: RestoreResult) -> None:
    if result.dry_run:
        for step in result.plan.steps:
            click.echo(f"{VERBS[step.action]:<9} {_shown(step.path)}")
        for path, why in result.failures:
            click.echo(f"cannot    {_shown(path)}: {why}")
        for path, why in result.skipped:
            click.echo(f"skip      {_shown(path)}: {why}")
        return
    for path, why in result.skipped:
        click.echo(f"cowsnap: left alone: {_shown(path)}: {why}", err=True)
    failed = {path for path, _why in result.failures}
    touched = len([target for target in result.plan.touched() if target.path not in failed])
    state = "before" if result.side == "before" else "after"
    if not touched and not result.failures:
        click.echo(f"cowsnap: nothing to restore: run {result.run_id}'s paths are already "
                   f"in their {state}-state", err=True)
        return
    click.echo(f"cowsnap: restored {touched} path{'s' if touched != 1 else ''} of run "
               f"{result.run_id} to their {state}-state", err=True)
    if result.undo_run is not None:
        click.echo(f"cowsnap: undo this with: cowsnap restore {result.undo_run}", err=True)
    for path, why in result.failures:
        click.echo(f"cowsnap: not restored: {_shown(path)}: {why}", err=True)


def _command(arguments: tuple[str, ...], side: str, flags: dict[str, bool]) -> list[str]:
    """How the restore was asked for, recorded in its own run."""
    return ["cowsnap", "restore", *arguments, "--to", side,
            *(f"--{name}" for name, given in flags.items() if given)]


@click.command("restore")
@click.argument("arguments", nargs=-1, metavar="[RUN] [PATH]...")
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
def restore(arguments: tuple[str, ...], side: str, dry_run: bool, force: bool,
            outside: bool, same_owner: bool, workspace: str | None,
            store: str | None) -> None:
    """Undo RUN (default: the newest), or redo it with --to after; whole or only PATHs.

    A directory PATH means everything under it. Refuses, changing nothing, when a
    path changed since the run (unless --force). Records what it replaces as a run
    of its own first, so `cowsnap restore <that run>` undoes the restore. Exits 1
    when a path could not be restored, after listing each. A run you did not record
    on this machine (a bundle, a fetched run) is restored into the workspace
    (--workspace, default: the current one), never outside it unless --outside,
    without owners or set-id bits unless --same-owner.
    """
    run, paths = api.split_run_argument(arguments, store)
    progress = _ProgressBar()
    flags = {"force": force, "outside": outside, "same-owner": same_owner}
    try:
        result = api.restore(run, paths, side="after" if side == "after" else "before",
                             force=force, dry_run=dry_run, workspace=workspace, store=store,
                             command=_command(arguments, side, flags), progress=progress,
                             outside=outside, same_owner=same_owner)
    except RestoreConflictError as error:
        for path, why in error.conflicts:
            click.echo(f"cowsnap: conflict: {_shown(path)}: {why}", err=True)
        raise
    finally:
        progress.close()
    _report(result)
    if result.failures:
        sys.exit(1)
