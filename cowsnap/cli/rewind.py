"""`cowsnap rewind`: undo a run and every later run of its workspace, in one restore."""

from __future__ import annotations

import json
from typing import Any

import click

from cowsnap import api
from cowsnap.cli.format import display_path, json_text, relative_name
from cowsnap.cli.options import json_option, location_options
from cowsnap.cli.restore import VERBS
from cowsnap.errors import RestoreConflictError, UsageError


def _name(workspace: str, path: bytes) -> str:
    """A path as every command names it: relative to the workspace, escaped."""
    return display_path(relative_name(path, workspace)) if workspace else display_path(path)


def rewind_document(result: api.RewindResult) -> dict[str, Any]:
    """The stable --json shape (docs/cli-json.md): absolute paths, as restore's."""
    restored = result.restore
    failed = {path for path, _why in restored.failures}
    return {
        "runs": list(result.runs),
        "dry_run": restored.dry_run,
        "undo_run": restored.undo_run,
        "steps": [{"action": VERBS[step.action], **json_text("path", step.path)}
                  for step in restored.plan.steps],
        "restored": [json_text("path", target.path)["path"]
                     for target in restored.plan.touched() if target.path not in failed],
        "failures": [{**json_text("path", path), "why": why}
                     for path, why in restored.failures],
    }


def rewind_text(result: api.RewindResult) -> list[str]:
    restored = result.restore
    count = len(result.runs)
    runs = f"{count} run{'s' if count != 1 else ''}"
    shown = result.workspace
    if restored.dry_run:
        lines = [f"would rewind {runs}, newest first: {', '.join(result.runs)}"]
        lines += [f"{VERBS[step.action]:<9} {_name(shown, step.path)}"
                  for step in restored.plan.steps]
        lines += [f"cannot    {_name(shown, path)}: {why}" for path, why in restored.failures]
        return lines
    failed = {path for path, _why in restored.failures}
    touched = len([target for target in restored.plan.touched() if target.path not in failed])
    lines = [f"rewound {runs} ({result.runs[-1]} and later): restored {touched} "
             f"path{'s' if touched != 1 else ''} to their state before {result.runs[-1]}"]
    if restored.undo_run is not None:
        lines.append(f"undo this with: cowsnap restore {restored.undo_run}")
    lines += [f"not restored: {_name(shown, path)}: {why}" for path, why in restored.failures]
    return lines


def _command(run: str | None, session: str | None, force: bool) -> list[str]:
    """How the rewind was asked for, recorded in its own undo run."""
    asked = [run] if run else (["--session", session] if session else [])
    return ["cowsnap", "rewind", *asked, *(["--force"] if force else [])]


@click.command("rewind")
@click.argument("run", required=False)
@click.option("--session", metavar="SESSION",
              help="Rewind to the state before this agent session's first run.")
@click.option("--dry-run", is_flag=True, help="Print the plan; change nothing.")
@click.option("--force", is_flag=True, help="Overwrite paths that changed since the runs.")
@location_options
@json_option
def rewind(run: str | None, session: str | None, dry_run: bool, force: bool,
           workspace: str | None, store: str | None, as_json: bool) -> api.RewindResult:
    """Undo RUN (default: the newest; @~N: the Nth before it) and every later run, at once.

    One plan for all of them, newest first: every path is checked once against
    the last run that touched it, and the rewind refuses, changing nothing, when
    one changed since (unless --force). Records what it replaces as one run, so
    `cowsnap restore <that run>` undoes the whole rewind. With --session, rewinds
    to the state before that session's first run in this workspace.
    """
    if run is not None and session is not None:
        raise UsageError("give RUN or --session, not both")
    try:
        result = api.rewind(run, session=session, force=force, dry_run=dry_run,
                            workspace=workspace, store=store,
                            command=_command(run, session, force))
    except RestoreConflictError as error:
        for path, why in error.conflicts:
            click.echo(f"cowsnap: conflict: {_name(error.workspace, path)}: {why}", err=True)
        raise
    if as_json:
        click.echo(json.dumps(rewind_document(result), indent=2))
    else:
        for line in rewind_text(result):
            click.echo(line if result.restore.dry_run else f"cowsnap: {line}",
                       err=not result.restore.dry_run)
    return result
