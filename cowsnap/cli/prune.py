"""`cowsnap prune`: apply a retention policy, reclaim what no run references."""

from __future__ import annotations

import json
from typing import Any

import click

from cowsnap import api
from cowsnap.cli.options import json_option, location_options
from cowsnap.errors import UsageError
from cowsnap.store.prune import Policy
from cowsnap.units import format_size, parse_duration, parse_size


def prune_document(result: api.PruneResult) -> dict[str, Any]:
    """The stable --json shape."""
    return {
        "store": str(result.store),
        "dry_run": result.dry_run,
        "runs": [
            {"run_id": decision.run_id, "workspace": decision.workspace,
             "keep": decision.keep, "reasons": list(decision.reasons)}
            for decision in result.plan.decisions
        ],
        "size_before": result.plan.size_before,
        "size_after": result.plan.size_after,
        "reclaimed_contents": result.reclaimed_contents,
        "reclaimed_size": result.reclaimed_size,
        "removed_snapshots": [str(path) for path in result.removed_snapshots],
    }


def prune_text(result: api.PruneResult, max_size: int | None) -> list[str]:
    plan = result.plan
    removed, kept = len(plan.removed), len(plan.kept)
    verb = "would remove" if result.dry_run else "removed"
    lines = [f"{verb} {removed} of {removed + kept} runs, keeping {kept}"]
    for decision in plan.decisions:
        action = "keep  " if decision.keep else "remove"
        lines.append(f"  {action} {decision.run_id}  {decision.workspace}: "
                     f"{'; '.join(decision.reasons)}")
    if result.dry_run:
        lines.append(f"would free about {format_size(result.reclaimed_size)}")
    else:
        count = result.reclaimed_contents
        lines.append(f"reclaimed {count} {'content' if count == 1 else 'contents'} no run "
                     f"references; freed {format_size(result.reclaimed_size)}")
    lines.append(f"runs and their contents: {format_size(plan.size_after)} "
                 f"(was {format_size(plan.size_before)})")
    if max_size is not None and plan.size_after > max_size:
        lines.append(f"warning: still over --max-size {format_size(max_size)}: the newest run "
                     f"of each workspace is never removed for size")
    for path in result.removed_snapshots:
        lines.append(f"removed a snapshot left by a killed cowsnap: {path}")
    return lines


def _policy(keep_last: int | None, keep_within: str | None, max_size: str | None) -> Policy:
    if keep_last is not None and keep_last < 1:
        raise UsageError("--keep-last must be at least 1")
    return Policy(keep_last=keep_last,
                  keep_within=parse_duration(keep_within) if keep_within else None,
                  max_size=parse_size(max_size) if max_size else None)


@click.command("prune")
@location_options
@click.option("--keep-last", type=int, metavar="N",
              help="Keep the newest N runs of each workspace.")
@click.option("--keep-within", metavar="DURATION",
              help="Keep runs started within DURATION of now (e.g. 7d, 12h, 1d12h).")
@click.option("--max-size", metavar="SIZE",
              help="Then remove the oldest runs, across workspaces, until the store fits in "
                   "SIZE (e.g. 5G); never a workspace's newest run.")
@click.option("--dry-run", is_flag=True, help="Show what would be removed and why; change nothing.")
@click.option("--remote", metavar="REMOTE",
              help="Delete the runs the policy gives up from REMOTE instead (not --max-size).")
@json_option
def prune(workspace: str | None, store: str | None, keep_last: int | None,
          keep_within: str | None, max_size: str | None, dry_run: bool, remote: str | None,
          as_json: bool) -> None:
    """Remove old runs and reclaim the contents no remaining run references.

    Runs whose workspace no longer exists are always removed. With --keep-last
    and/or --keep-within, a run is kept when either keeps it; with neither, every
    other run is kept. Without --dry-run, also removes what killed cowsnap
    processes left behind (incomplete runs, snapshots of this workspace).
    """
    policy = _policy(keep_last, keep_within, max_size)
    if remote is not None:
        from cowsnap.cli.remote import print_remote_prune

        print_remote_prune(api.remote_prune(remote, policy, dry_run=dry_run, store=store),
                           as_json)
        return
    result = api.prune(policy, dry_run=dry_run, workspace=workspace, store=store)
    if as_json:
        click.echo(json.dumps(prune_document(result), indent=2))
    else:
        click.echo("\n".join(prune_text(result, policy.max_size)))
