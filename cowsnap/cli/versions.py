"""`cowsnap versions`: the intermediate versions a run kept of one path."""

from __future__ import annotations

import json
from typing import Any

import click

from cowsnap import api
from cowsnap.cli.format import count, display_path, format_size, json_text, relative_name
from cowsnap.cli.options import complete_runs, json_option, location_options


def versions_document(found: api.Versions) -> dict[str, Any]:
    return {
        "run_id": found.run_id,
        **json_text("path", found.path),
        "globs": list(found.globs),
        "versions": [{**api.version_to_dict(version), "not_captured": version.not_captured}
                     for version in found.versions],
    }


def version_line(version: api.Version, previous: api.Version | None = None) -> str:
    size = "-" if version.size is None else format_size(version.size)
    writer = version.comm or "?"
    if version.exe:
        writer += f" ({version.exe})"
    line = (f"{version.number:>5}  {version.time[:26].replace('T', ' ')}  "
            f"{version.trigger:<6}  {size:>9}  pid {version.pid:<7}  {writer}")
    if version.not_captured:
        line += f"  [not captured: {version.not_captured}]"
    elif previous is not None and previous.blob == version.blob:
        line += f"  [same content as {previous.number}]"
    return line


def versions_text(found: api.Versions) -> str:
    path = display_path(relative_name(found.path, found.workspace) if found.workspace
                        else found.path)
    lines = [f"run {found.run_id}: {count(len(found.versions), 'version')} of {path}"]
    previous: api.Version | None = None
    for version in found.versions:
        lines.append(version_line(version, previous))
        previous = version
    if found.versions:
        lines.append(f"print one with: cowsnap cat {found.run_id} {path} --version N")
    else:
        lines.append(f"(no version was taken; the run's globs: {' '.join(found.globs)})")
    return "\n".join(lines)


@click.command("versions")
@click.argument("arguments", nargs=-1, required=True, metavar="[RUN] PATH",
                shell_complete=complete_runs)
@location_options
@json_option
def versions(arguments: tuple[str, ...], workspace: str | None, store: str | None,
             as_json: bool) -> None:
    """List the versions of PATH that RUN (default: the newest) kept with --versions.

    One line per version, numbered from 1 in capture order: when it was taken,
    what took it (a close, or a rename into place), its size, and the process
    that wrote it.
    """
    run, paths = api.split_run_argument(arguments, store, workspace)
    if len(paths) != 1:
        raise click.UsageError("expected [RUN] PATH")
    found = api.versions(paths[0], run=run, workspace=workspace, store=store)
    if as_json:
        click.echo(json.dumps(versions_document(found), indent=2))
    else:
        click.echo(versions_text(found))
