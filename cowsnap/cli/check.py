"""`cowsnap check`: verify every manifest and every content; exit 1 on any damage."""

from __future__ import annotations

import json
from typing import Any

import click

from cowsnap import api
from cowsnap.cli.format import count, display_path, format_size, printable
from cowsnap.cli.options import json_option, location_options


def check_document(result: api.CheckResult) -> dict[str, Any]:
    """The stable --json shape."""
    report = result.report
    return {
        "store": str(result.store),
        "ok": report.ok,
        "runs": report.runs,
        "contents": report.contents,
        "verified_bytes": report.verified_bytes,
        "sealed": report.sealed,
        "problems": [{"subject": item.subject, "problem": item.problem}
                     for item in report.problems],
        "warnings": [{"subject": item.subject, "problem": item.problem}
                     for item in report.warnings],
        "removed_snapshots": [str(path) for path in result.removed_snapshots],
        "repaired": result.repaired,
    }


def check_text(result: api.CheckResult) -> list[str]:
    report = result.report
    lines = [f"removed a snapshot left by a killed cowsnap: {display_path(str(path))}"
             for path in result.removed_snapshots]
    lines.append(f"checked {count(report.runs, 'run')} and the "
                 f"{count(report.contents, 'content')} they reference, in the store or in "
                 f"git repositories ({format_size(report.verified_bytes)} read) in "
                 f"{display_path(str(result.store))}")
    if report.sealed:
        lines.append(f"sealed {count(report.sealed, 'large content')} "
                     f"(checksums for later checks)")
    lines.extend(f"warning: {printable(item.subject)}: {printable(item.problem)}"
                 for item in report.warnings)
    lines.extend(f"damaged: {printable(item.subject)}: {printable(item.problem)}"
                 for item in report.problems)
    if report.ok:
        lines.append("no damage found")
    return lines


@click.command("check")
@click.option("--repair", is_flag=True,
              help="First remove what killed cowsnap processes left behind (incomplete "
                   "runs, snapshots of this workspace), as prune does.")
@location_options
@click.option("--remote", metavar="REMOTE",
              help="Verify what REMOTE holds instead: every run it lists, fetched into a "
                   "scratch area (the store is not changed).")
@json_option
def check(repair: bool, workspace: str | None, store: str | None, remote: str | None,
          as_json: bool) -> api.CheckResult | api.RemoteCheck:
    """Verify the store: every manifest, and every content against its id.

    Lists every problem and exits 1 if there is any. Read-only, like fsck -n,
    but for the checksums it records of large contents on their first check.
    """
    if remote is not None:
        from cowsnap.cli.remote import print_remote_check

        return print_remote_check(remote, store, as_json)
    result = api.check(workspace=workspace, store=store, repair=repair)
    if as_json:
        click.echo(json.dumps(check_document(result), indent=2))
    else:
        click.echo("\n".join(check_text(result)))
    return result
