"""`cowsnap versions`: the intermediate versions a run kept of one path."""

from __future__ import annotations

import base64
import json
from typing import Any

import click

from cowsnap import api
from cowsnap.cli.options import json_option, location_options
from cowsnap.model import Version, version_to_dict
from cowsnap.units import format_size


def versions_document(found: api.Versions) -> dict[str, Any]:
    document: dict[str, Any] = {
        "run_id": found.run_id,
        "path": found.path.decode("utf-8", "backslashreplace"),
        "globs": list(found.globs),
        "versions": [{**version_to_dict(version), "not_captured": version.not_captured}
                     for version in found.versions],
    }
    try:
        found.path.decode("utf-8")
    except UnicodeDecodeError:
        document["path_b64"] = base64.b64encode(found.path).decode("ascii")
    return document


def version_line(version: Version, previous: Version | None = None) -> str:
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
    path = found.path.decode("utf-8", "backslashreplace")
    count = len(found.versions)
    lines = [f"run {found.run_id}: {count} version{'' if count == 1 else 's'} of {path}"]
    previous: Version | None = None
    for version in found.versions:
        lines.append(version_line(version, previous))
        previous = version
    if count:
        lines.append(f"print one with: cowsnap cat {found.run_id} {path} --version N")
    else:
        lines.append(f"(no version was taken; the run's globs: {' '.join(found.globs)})")
    return "\n".join(lines)


@click.command("versions")
@click.argument("arguments", nargs=-1, required=True, metavar="[RUN] PATH")
@location_options
@json_option
def versions(arguments: tuple[str, ...], workspace: str | None, store: str | None,
             as_json: bool) -> None:
    """List the versions of PATH that RUN (default: the newest) kept with --versions.

    One line per version, numbered from 1 in capture order: when it was taken,
    what took it (a close, or a rename into place), its size, and the process
    that wrote it.
    """
    if len(arguments) > 2:
        raise click.UsageError("expected [RUN] PATH")
    run, path = (None, arguments[0]) if len(arguments) == 1 else arguments
    found = api.versions(path, run=run, workspace=workspace, store=store)
    if as_json:
        click.echo(json.dumps(versions_document(found), indent=2))
    else:
        click.echo(versions_text(found))
