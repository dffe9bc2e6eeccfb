"""`cowsnap agent`: the PreToolUse hook for Claude Code and Codex, and installing it.

install / uninstall / status edit and read the agents' settings files
(cowsnap.agent.settings); `hook` is what the agent runs before each Bash call
(cowsnap.agent.hook); `exec` is what the rewritten command runs. The hook runs
before every command an agent runs, so this module imports nothing of the
store, the recorder or the tracer at load: the other commands import them
when they run.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from cowsnap.agent import hook as agent_hook
from cowsnap.agent import permissions
from cowsnap.agent.wrapper import parent_shell, self_invocation
from cowsnap.cli.options import json_option

if TYPE_CHECKING:
    from cowsnap.agent import settings

AGENT = click.Choice(agent_hook.AGENTS)
SCOPES: tuple[settings.Scope, ...] = ("project", "user")
TRUST_NOTE = {"codex": "Codex runs a new hook only once you trust it: open /hooks in Codex"}


def _scope_option(function: Any) -> Any:
    return click.option("--user", "scope", flag_value="user",
                        help="For every project: the user's settings.")(
        click.option("--project", "scope", flag_value="project", default=True,
                     help="For this project only (the default): its workspace's settings.")(
            function))


def _path(agent: str, scope: settings.Scope) -> Path:
    from cowsnap.agent import settings
    from cowsnap.workspace import detect_workspace

    return settings.settings_path(agent, scope, detect_workspace())


@click.group("agent")
def agent() -> None:
    """Record every shell command an AI coding agent runs (docs/agents.md)."""


@agent.command("install")
@click.argument("name", metavar="AGENT", type=AGENT)
@_scope_option
def install(name: str, scope: settings.Scope) -> None:
    """Add the cowsnap PreToolUse hook for Bash to AGENT's settings (claude-code, codex).

    Installing again replaces the hook, never adds a second one; every other
    setting in the file is kept.
    """
    from cowsnap.agent import settings

    path = _path(name, scope)
    document = settings.read_settings(path)
    command = settings.hook_command(self_invocation(), name)
    settings.write_settings(path, settings.with_ours(document, path, command))
    click.echo(f"installed the cowsnap hook for {name} in {path}")
    if name in TRUST_NOTE:
        click.echo(TRUST_NOTE[name])


@agent.command("uninstall")
@click.argument("name", metavar="AGENT", type=AGENT)
@_scope_option
def uninstall(name: str, scope: settings.Scope) -> None:
    """Remove the cowsnap hook from AGENT's settings, leaving everything else."""
    from cowsnap.agent import settings

    path = _path(name, scope)
    if not path.exists():
        click.echo(f"no cowsnap hook for {name} in {path} (no such file)")
        return
    document, removed = settings.without_ours(settings.read_settings(path), path)
    if not removed:
        click.echo(f"no cowsnap hook for {name} in {path}")
        return
    settings.write_settings(path, document)
    click.echo(f"removed the cowsnap hook for {name} from {path}")


def status_document() -> list[dict[str, Any]]:
    """The stable --json shape: one object per agent and scope."""
    from cowsnap.agent import settings

    rows = []
    for name in agent_hook.AGENTS:
        for scope in SCOPES:
            path = _path(name, scope)
            rows.append({"agent": name, "scope": scope, "settings": str(path),
                         "installed": bool(settings.installed_commands(path)),
                         "commands": settings.installed_commands(path)})
    return rows


@agent.command("status")
@json_option
def status(as_json: bool) -> None:
    """Show where the cowsnap hook is installed, per agent and scope."""
    rows = status_document()
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    for row in rows:
        state = "installed" if row["installed"] else "not installed"
        click.echo(f"{row['agent']:<12} {row['scope']:<8} {state:<14} {row['settings']}")


def _load_rules(cwd: str | None) -> permissions.Rules:
    home = Path(os.environ.get("HOME") or Path.home())
    return permissions.load_rules(permissions.project_dir(cwd), home)


@agent.command("hook")
@click.option("--agent", "name", type=AGENT, required=True, help="Which agent calls the hook.")
@click.option("--explain", is_flag=True, help="Also say on stderr what the hook did and why.")
def hook(name: str, explain: bool) -> None:
    """Answer a PreToolUse hook call: read its JSON on stdin, print the rewrite.

    Never fails the agent: an input it cannot read leaves the command as it
    is, and the answer says so.
    """
    raw = sys.stdin.buffer.read()
    try:
        reply = agent_hook.answer(raw, name, self_invocation(), _load_rules)
    except Exception as error:  # a hook must never stop the agent's command
        message = f"cowsnap: the hook failed ({error}); the command runs unrecorded"
        reply = agent_hook.Answer({"systemMessage": message}, message)
    if reply.output is not None:
        click.echo(json.dumps(reply.output))
    if explain:
        click.echo(f"cowsnap: {reply.why}", err=True)


def _parent_exe() -> str | None:
    try:
        return os.readlink(f"/proc/{os.getppid()}/exe")
    except OSError:
        return None


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
@click.argument("command")
def exec_command(session: str | None, shell: str | None, cwd_file: str | None,
                 result_file: str | None, command: str) -> None:
    """Run the shell COMMAND recorded, as a rewritten agent command does.

    Exits with COMMAND's status. When cowsnap cannot record, COMMAND still runs,
    once, unrecorded, and one warning line says so.
    """
    from cowsnap.cli.recorded import run_shell

    start = os.getcwd()
    outcome = run_shell(shell or parent_shell(_parent_exe()), command, session=session or None,
                        track_cwd=bool(cwd_file))
    if outcome.warning is not None:
        click.echo(f"cowsnap: warning: {outcome.warning}", err=True)
    if cwd_file and outcome.final_cwd and outcome.final_cwd != start:
        Path(cwd_file).write_text(outcome.final_cwd, encoding="utf-8", errors="surrogateescape")
    if result_file:
        Path(result_file).write_text(json.dumps(
            {"run_id": outcome.run_id, "exit_status": outcome.exit_status,
             "warning": outcome.warning}))
    sys.exit(outcome.exit_status)
