"""`cowsnap push`, `cowsnap fetch`, `cowsnap remote add|remove|list`, and what `log`,
`check` and `prune` print with `--remote`."""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Any

import click

from cowsnap import api
from cowsnap.cli.format import format_size, printable
from cowsnap.cli.options import json_option, location_options, store_option


def _not_pushed(sizes: dict[str, int]) -> list[dict[str, Any]]:
    return [{"content": blob, "size": size} for blob, size in sorted(sizes.items())]


def push_document(report: api.PushReport) -> dict[str, Any]:
    """The stable --json shape of `push`."""
    return {"remote": report.url, "sent_bytes": report.sent_bytes,
            "runs": [{"run_id": run.run_id, "status": run.status, "commit": run.commit,
                      "reason": run.reason, "not_pushed": _not_pushed(run.not_pushed)}
                     for run in report.runs]}


def _left_out(sizes: dict[str, int]) -> str:
    if not sizes:
        return ""
    return (f" ({len(sizes)} large content{'s' if len(sizes) > 1 else ''} not pushed: "
            f"{format_size(sum(sizes.values()))})")


def _echo_runs(runs: list[tuple[str, str, str | None, dict[str, int]]], width: int, done: str,
               where: str) -> None:
    """One line per run of a push or fetch (status, id, why, what was left out), then
    how many of them were `done`."""
    for status, run_id, why, not_pushed in runs:
        reason = f": {printable(why)}" if why else ""
        click.echo(f"{status:<{width}} {run_id}{reason}{_left_out(not_pushed)}")
    count = sum(1 for status, *_ in runs if status == done)
    click.echo(f"{done} {count} of {len(runs)} runs {where}")


@click.command("push")
@click.argument("arguments", nargs=-1, metavar="[REMOTE] [RUN...]")
@click.option("--max-content", metavar="SIZE",
              help="Leave out contents larger than SIZE (default: the remote's max_content "
                   "in config.toml, else 50M); they are listed as not pushed.")
@location_options
@json_option
def push(arguments: tuple[str, ...], max_content: str | None, workspace: str | None,
         store: str | None, as_json: bool) -> api.PushReport:
    """Push runs to a git remote, one ref per run.

    REMOTE is a name from `cowsnap remote list`, a URL (ssh, https, git, file) or a
    directory holding a bare repository; without it, the only configured remote.
    RUN is a run reference as for every command (an id, a unique part of one, @,
    @~N). Without RUN, pushes the workspace's runs that the remote does not hold yet.
    Exits 1 when the server refuses any run.
    """
    remote, runs = api.split_push_arguments(arguments)
    cap = api.parse_size(max_content) if max_content else None
    report = api.push(remote, runs, workspace=workspace, store=store, max_content=cap)
    if as_json:
        click.echo(json.dumps(push_document(report), indent=2))
    else:
        sent = (f"{format_size(report.sent_bytes)} sent" if report.measured
                else "bytes not measured to a local path")
        _echo_runs([(run.status, run.run_id, run.reason, run.not_pushed) for run in report.runs],
                   10, "pushed", f"to {report.url} ({sent})")
    return report


def fetch_document(report: api.FetchReport) -> dict[str, Any]:
    """The stable --json shape of `fetch`."""
    return {"remote": report.url, "received_bytes": report.received_bytes,
            "runs": [{"run_id": run.run_id, "status": run.status, "problem": run.problem,
                      "not_pushed": _not_pushed(run.not_pushed)} for run in report.runs]}


@click.command("fetch")
@click.argument("remote")
@click.argument("runs", nargs=-1, metavar="[RUN...]")
@click.option("--max-content", metavar="SIZE",
              help="Refuse a run holding a content larger than SIZE (default: the remote's "
                   "max_content in config.toml, else 50M), before that content is read.")
@store_option
@json_option
def fetch(remote: str, runs: tuple[str, ...], max_content: str | None, store: str | None,
          as_json: bool) -> api.FetchReport:
    """Fetch runs from a git remote into the store.

    RUN is a run id, or a unique part of one, on the remote; without RUN, every run the
    store lacks. Each run is checked (manifest, every content against its id)
    before it is published; one that fails leaves nothing behind and exits 1.
    Fetched runs are read like any other (show, diff, cat) and restored as
    untrusted input, like a bundle.
    """
    cap = api.parse_size(max_content) if max_content else None
    report = api.fetch(remote, runs, store=store, max_content=cap)
    if as_json:
        click.echo(json.dumps(fetch_document(report), indent=2))
    else:
        _echo_runs([(run.status, run.run_id, run.problem, run.not_pushed) for run in report.runs],
                   12, "fetched",
                   f"from {report.url} ({format_size(report.received_bytes)} received)")
    return report


def remote_log_document(listed: list[api.Listed]) -> list[dict[str, Any]]:
    """The stable --json shape of `log --remote`."""
    return [{"run_id": item.run_id, "commit": item.commit,
             "summary": asdict(item.summary) if item.summary else None,
             "problem": item.problem} for item in listed]


def print_remote_log(remote: str, store: str | None, as_json: bool) -> None:
    from cowsnap.cli.log import log_line

    listed = api.remote_log(remote, store=store)
    if as_json:
        click.echo(json.dumps(remote_log_document(listed), indent=2))
        return
    for item in listed:
        if item.summary is not None:
            click.echo(log_line(item.summary, every_workspace=True).decode())
        else:
            click.echo(f"{item.run_id}  unreadable: {printable(item.problem or '')}")


def remote_check_document(result: api.RemoteCheck) -> dict[str, Any]:
    """The stable --json shape of `check --remote`."""
    return {"remote": result.url, "ok": not result.problems, "runs": result.runs,
            "contents": result.contents, "received_bytes": result.received_bytes,
            "problems": [{"run_id": run_id, "problem": problem}
                         for run_id, problem in result.problems]}


def print_remote_check(remote: str, store: str | None, as_json: bool) -> api.RemoteCheck:
    result = api.remote_check(remote, store=store)
    if as_json:
        click.echo(json.dumps(remote_check_document(result), indent=2))
    else:
        click.echo(f"checked {result.runs} runs and {result.contents} contents on "
                   f"{result.url} ({format_size(result.received_bytes)} received)")
        for run_id, problem in result.problems:
            click.echo(f"damaged: run {run_id}: {printable(problem)}")
        if not result.problems:
            click.echo("no damage found")
    return result


def remote_prune_document(result: api.RemotePruneResult) -> dict[str, Any]:
    """The stable --json shape of `prune --remote`."""
    return {"remote": result.url, "dry_run": result.dry_run,
            "runs": [{"run_id": decision.run_id, "workspace": decision.workspace,
                      "keep": decision.keep, "reasons": list(decision.reasons),
                      "refused": result.refused.get(decision.run_id)}
                     for decision in result.plan.decisions],
            "unreadable": list(result.unreadable)}


def print_remote_prune(result: api.RemotePruneResult, as_json: bool) -> api.RemotePruneResult:
    if as_json:
        click.echo(json.dumps(remote_prune_document(result), indent=2))
    else:
        removed, kept = len(result.plan.removed), len(result.plan.kept)
        verb = "would remove" if result.dry_run else "removed"
        click.echo(f"{verb} {removed - len(result.refused)} of {removed + kept} runs on "
                   f"{result.url}, keeping {kept}")
        for decision in result.plan.decisions:
            action = "keep  " if decision.keep else "remove"
            refused = result.refused.get(decision.run_id)
            note = f" (refused by the server: {printable(refused)})" if refused else ""
            click.echo(f"  {action} {decision.run_id}  {printable(decision.workspace)}: "
                       f"{'; '.join(decision.reasons)}{note}")
        for run_id in result.unreadable:
            click.echo(f"  keep   {run_id}: its summary cannot be read")
    return result


@click.group("remote")
def remote() -> None:
    """Name git remotes for push and fetch (kept in config.toml)."""


@remote.command("add")
@click.argument("name")
@click.argument("url")
def remote_add(name: str, url: str) -> None:
    """Name the remote at URL (ssh, https, git, file URL, or a directory)."""
    path = api.add_remote(name, url)
    click.echo(f"added remote {name} in {path}")


@remote.command("remove")
@click.argument("name")
def remote_remove(name: str) -> None:
    """Forget the remote NAME (nothing on the remote changes)."""
    path = api.remove_remote(name)
    click.echo(f"removed remote {name} from {path}")


@remote.command("list")
@json_option
def remote_list(as_json: bool) -> None:
    """List the named remotes."""
    found = api.remotes()
    if as_json:
        click.echo(json.dumps([{"name": item.name, "url": item.url,
                                "max_content": item.max_content} for item in found],
                              indent=2))
        return
    for item in found:
        cap = f"  (max_content {format_size(item.max_content)})" if item.max_content else ""
        click.echo(f"{item.name}\t{item.url}{cap}")
