"""`cowsnap status`: the workspace, the store, and which snapshot backends work here."""

from __future__ import annotations

import json
from typing import Any

import click

from cowsnap import api
from cowsnap.cli.format import count, display_path, format_size
from cowsnap.cli.options import json_option, location_options


def usage_document(usage: api.Usage) -> dict[str, Any]:
    return {
        "size": usage.size,
        "runs": usage.runs,
        "contents": usage.contents,
        "contents_size": usage.contents_size,
        "referenced_size": usage.referenced_size,
        "dedup_saved": usage.dedup_saved,
        "workspaces": [{"workspace": item.workspace, "runs": item.runs, "exists": item.exists}
                       for item in usage.workspaces],
        "damaged_runs": [{"run_id": item.run_id, "problem": item.problem}
                         for item in usage.damaged],
    }


def usage_text(usage: api.Usage) -> list[str]:
    lines = [
        f"store size: {format_size(usage.size)}; {count(usage.runs, 'run')}; "
        f"{count(usage.contents, 'content')} held in the store "
        f"({format_size(usage.contents_size)}); "
        f"deduplication saves {format_size(usage.dedup_saved)}",
    ]
    if usage.workspaces:
        lines.append("runs per workspace:")
        width = max(len(str(item.runs)) for item in usage.workspaces)
        for item in usage.workspaces:
            gone = "" if item.exists else \
                "  (no longer exists: cowsnap prune --all removes its runs)"
            lines.append(f"  {item.runs:>{width}}  {display_path(item.workspace)}{gone}")
    lines.extend(f"damaged run {damaged.run_id} (cowsnap check lists the damage; "
                 f"cowsnap forget {damaged.run_id} removes it): {damaged.problem}"
                 for damaged in usage.damaged)
    return lines


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
        "usage": usage_document(report.usage) if report.usage else None,
        "usage_error": report.usage_error,
        "kept_snapshots": [{"run_id": run_id, "path": str(path)}
                           for run_id, path in report.kept_snapshots.items()],
        "cap": report.cap,
        "tracer": None if report.tracer is None
        else {"name": report.tracer.name, "reason": report.tracer.reason},
    }


def status_text(report: api.Status) -> str:
    lines = [
        f"workspace: {display_path(str(report.workspace))}",
        f"store:     {display_path(str(report.store))}",
        f"backend:   {report.backend or 'none available'}",
        "backends:",
    ]
    width = max(len(item.backend) for item in report.backends)
    for item in report.backends:
        state = "available" if item.available else "unavailable"
        lines.append(f"  {item.backend:<{width}}  {state}: {item.reason}")
    if report.tracer is not None:
        lines.append(f"tracer:    {report.tracer.name} ({report.tracer.reason})")
    if report.cap is None:
        lines.append('store cap: none (config.toml [prune] max_size = "unlimited")')
    else:
        lines.append(f"store cap: {format_size(report.cap)} (the oldest runs are pruned past "
                     f"it; config.toml [prune] max_size sets it)")
    if report.kept_snapshots:
        lines.append("kept snapshots (run --keep-snapshot; removed with their run):")
        lines.extend(f"  {run_id}  {display_path(str(path))}"
                     for run_id, path in report.kept_snapshots.items())
    if report.usage is not None:
        lines.extend(usage_text(report.usage))
    elif report.usage_error is not None:
        lines.append(f"store usage unknown: {report.usage_error}")
    else:
        lines.append("store size: no store yet")
    return "\n".join(lines)


@click.command("status")
@location_options
@json_option
def status(workspace: str | None, store: str | None, as_json: bool) -> None:
    """Show the workspace, the store, and which snapshot backends work here."""
    report = api.status(workspace=workspace, store=store)
    if as_json:
        click.echo(json.dumps(status_document(report), indent=2))
    else:
        click.echo(status_text(report))
