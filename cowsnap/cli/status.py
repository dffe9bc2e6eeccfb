"""`cowsnap status`: the workspace, the store, and which snapshot backends work here."""

from __future__ import annotations

import json
from typing import Any

import click

from cowsnap import api


def status_document(report: api.Status) -> dict[str, Any]:
    """The stable --json shape."""
    return {
        "workspace": str(report.workspace),
        "store": str(report.store),
        "backend": report.backend,
        "backends": [
            {"name": item.backend, "available": item.available, "reason": item.reason}
            for item in report.backends
        ],
    }


def status_text(report: api.Status) -> str:
    lines = [
        f"workspace: {report.workspace}",
        f"store:     {report.store}",
        f"backend:   {report.backend or 'none available'}",
        "backends:",
    ]
    width = max(len(item.backend) for item in report.backends)
    for item in report.backends:
        state = "available" if item.available else "unavailable"
        lines.append(f"  {item.backend:<{width}}  {state}: {item.reason}")
    return "\n".join(lines)


@click.command("status")
@click.option("--workspace", type=click.Path(path_type=str),
              help="The workspace (default: the btrfs subvolume, else git repository, "
                   "else current directory).")
@click.option("--store", type=click.Path(path_type=str),
              help="The store directory (default: $COWSNAP_STORE, else "
                   "$XDG_DATA_HOME/cowsnap).")
@click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")
def status(workspace: str | None, store: str | None, as_json: bool) -> None:
    """Show the workspace, the store, and which snapshot backends work here."""
    report = api.status(workspace=workspace, store=store)
    if as_json:
        click.echo(json.dumps(status_document(report), indent=2))
    else:
        click.echo(status_text(report))
