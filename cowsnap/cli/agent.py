"""`cowsnap agent`: the PreToolUse hook for Claude Code and Codex, and installing it.

install / uninstall / status edit and read the agents' settings files; `hook`
is what the agent runs before each Bash call; `exec` is what the rewritten
command runs (docs/agents.md).
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import click

from cowsnap import api
from cowsnap.cli.options import json_option, location_options

AGENT_NAMES = ("claude-code", "codex")
TRUST_NOTE = {"codex": "Codex runs a new hook only once you trust it: open /hooks in Codex"}


def _scope_option(function: Any) -> Any:
    user = click.option("--user", "scope", flag_value="user",
                        help="For every project: the user's settings.")
    project = click.option("--project", "scope", flag_value="project", default=True,
                           help="For this project only (the default): its workspace's "
                                "settings.")
    return user(project(function))


@click.group("agent")
def agent() -> None:
    """Record every shell command an AI coding agent runs (docs/agents.md)."""


@agent.command("install")
@click.argument("name", metavar="AGENT", type=click.Choice(AGENT_NAMES))
@_scope_option
def install(name: str, scope: str) -> None:
    """Add the cowsnap PreToolUse hook for Bash to AGENT's settings (claude-code, codex).

    Installing again replaces the hook, never adds a second one; every other
    setting in the file is kept.
    """
    change = api.install_hook(name, "user" if scope == "user" else "project")
    click.echo(f"installed the cowsnap hook for {name} in {change.settings}")
    if name in TRUST_NOTE:
        click.echo(TRUST_NOTE[name])


@agent.command("uninstall")
@click.argument("name", metavar="AGENT", type=click.Choice(AGENT_NAMES))
@_scope_option
def uninstall(name: str, scope: str) -> None:
    """Remove the cowsnap hook from AGENT's settings, leaving everything else."""
    change = api.uninstall_hook(name, "user" if scope == "user" else "project")
    if change.changed:
        click.echo(f"removed the cowsnap hook for {name} from {change.settings}")
    else:
        click.echo(f"no cowsnap hook for {name} in {change.settings}")


def status_document(locations: list[api.HookLocation]) -> list[dict[str, Any]]:
    """The stable --json shape: one object per agent and scope."""
    return [{"agent": item.agent, "scope": item.scope, "settings": str(item.settings),
             "installed": item.installed, "commands": list(item.commands)}
            for item in locations]


@agent.command("status")
@json_option
def status(as_json: bool) -> None:
    """Show where the cowsnap hook is installed, per agent and scope."""
    locations = api.hook_locations()
    if as_json:
        click.echo(json.dumps(status_document(locations), indent=2))
        return
    for item in locations:
        state = "installed" if item.installed else "not installed"
        click.echo(f"{item.agent:<12} {item.scope:<8} {state:<14} {item.settings}")


@agent.command("hook")
@click.option("--agent", "name", type=click.Choice(AGENT_NAMES), required=True,
              help="Which agent calls the hook.")
@click.option("--explain", is_flag=True, help="Also say on stderr what the hook did and why.")
def hook(name: str, explain: bool) -> None:
    """Answer a PreToolUse hook call: read its JSON on stdin, print the rewrite.

    Never fails the agent: an input it cannot read leaves the command as it
    is, and the answer says so.
    """
    reply = api.hook_answer(sys.stdin.buffer.read(), name)
    if reply.output is not None:
        click.echo(json.dumps(reply.output))
    if explain:
        click.echo(f"cowsnap: {reply.why}", err=True)


@agent.command("exec", context_settings={"ignore_unknown_options": True,
                                         "allow_interspersed_args": False})
@click.option("--session", envvar="COWSNAP_SESSION", metavar="SESSION",
              help="The agent session the run belongs to (default: $COWSNAP_SESSION).")
@click.option("--shell", metavar="PATH",
              help="The shell to run COMMAND in (default: the calling shell, else /bin/sh).")
@click.option("--cwd-file", type=click.Path(dir_okay=False, path_type=str), metavar="FILE",
              help="Write here the directory COMMAND ended in, when it moved.")
@click.option("--result-file", type=click.Path(dir_okay=False, path_type=str), metavar="FILE",
              help="Write here, as JSON, the run id, exit status and any warning.")
@location_options
@click.argument("command")
def exec_command(session: str | None, shell: str | None, cwd_file: str | None,
                 result_file: str | None, workspace: str | None, store: str | None,
                 command: str) -> api.ShellRun:
    """Run the shell COMMAND recorded, as a rewritten agent command does.

    Exits with COMMAND's status. When cowsnap cannot record, COMMAND still runs,
    once, unrecorded, and one warning line says so.
    """
    start = os.getcwd()
    outcome = api.run_shell(shell or api.calling_shell(), command, session=session or None,
                            track_cwd=bool(cwd_file), workspace=workspace, store=store)
    if outcome.warning is not None:
        click.echo(f"cowsnap: warning: {outcome.warning}", err=True)
    if cwd_file and outcome.final_cwd and outcome.final_cwd != start:
        Path(cwd_file).write_text(outcome.final_cwd, encoding="utf-8", errors="surrogateescape")
    if result_file:
        Path(result_file).write_text(json.dumps(
            {"run_id": outcome.run_id, "exit_status": outcome.exit_status,
             "warning": outcome.warning}))
    return outcome
