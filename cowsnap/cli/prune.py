"""`cowsnap prune`: apply a retention policy, reclaim what no run references."""

from __future__ import annotations

import json
from typing import Any

import click

from cowsnap import api
from cowsnap.cli.format import count, display_path, format_size, printable
from cowsnap.cli.options import json_option, location_options


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
    lines = [f"{verb} {removed} of {count(removed + kept, 'run')}, keeping {kept}"]
    for decision in plan.decisions:
        action = "keep  " if decision.keep else "remove"
        lines.append(f"  {action} {decision.run_id}  {printable(decision.workspace)}: "
                     f"{'; '.join(decision.reasons)}")
    if result.dry_run:
        lines.append(f"would free about {format_size(result.reclaimed_size)}")
    else:
        lines.append(f"reclaimed {count(result.reclaimed_contents, 'content')} no run "
                     f"references; freed {format_size(result.reclaimed_size)}")
    lines.append(f"runs and their contents: {format_size(plan.size_after)} "
                 f"(was {format_size(plan.size_before)})")
    if max_size is not None and plan.size_after > max_size:
        lines.append(f"warning: still over --max-size {format_size(max_size)}: the newest run "
                     f"of each workspace is never removed for size")
    for path in result.removed_snapshots:
        why = "kept with a run removed" if path in result.removed_kept \
            else "left by a killed cowsnap"
        lines.append(f"removed a snapshot {why}: {display_path(str(path))}")
    return lines


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
@click.option("--all", "every_workspace", is_flag=True,
              help="Consider the runs of every workspace, not only this one's.")
@click.option("--remote", metavar="REMOTE",
              help="Delete the runs the policy gives up from REMOTE instead (not --max-size).")
@json_option
def prune(workspace: str | None, store: str | None, keep_last: int | None,
          keep_within: str | None, max_size: str | None, dry_run: bool,
          every_workspace: bool, remote: str | None,
          as_json: bool) -> api.RemotePruneResult | None:
    """Remove old runs and reclaim the contents no remaining run references.

    Only the workspace's runs are candidates, unless --all. Runs whose workspace
    no longer exists are always removed (so `prune --all` cleans up after deleted
    workspaces). With --keep-last and/or --keep-within, a run is kept when either
    keeps it; with neither, every other run is kept. Without --dry-run, also
    removes what killed cowsnap processes left behind (incomplete runs, snapshots
    of this workspace).
    """
    policy = api.parse_policy(keep_last, keep_within, max_size)
    if remote is not None:
        from cowsnap.cli.remote import print_remote_prune

        return print_remote_prune(api.remote_prune(remote, policy, dry_run=dry_run,
                                                   store=store), as_json)
    result = api.prune(policy, dry_run=dry_run, workspace=workspace, store=store,
                       every_workspace=every_workspace)
    if as_json:
        click.echo(json.dumps(prune_document(result), indent=2))
    else:
        click.echo("\n".join(prune_text(result, policy.max_size)))
    return None
