"""Agents: installing the hook into their settings (running their commands recorded is
cowsnap.api.shell, which every wrapped command pays the start-up of)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from cowsnap.agent import settings
from cowsnap.agent.hook import AGENTS
from cowsnap.agent.settings import Scope
from cowsnap.agent.wrapper import self_invocation
from cowsnap.api.common import PathArg, as_path
from cowsnap.workspace import detect_workspace

SCOPES: tuple[Scope, ...] = ("project", "user")


@dataclass(frozen=True)
class HookLocation:
    agent: str
    scope: Scope
    settings: Path
    """The settings file the agent reads for that scope."""
    commands: tuple[str, ...]
    """The cowsnap hook commands it holds."""

    @property
    def installed(self) -> bool:
        return bool(self.commands)


@dataclass(frozen=True)
class HookChange:
    settings: Path
    changed: bool
    """False: uninstalling found no cowsnap hook there."""


def _settings_path(agent: str, scope: Scope, workspace: PathArg, cwd: Path | None) -> Path:
    return settings.settings_path(agent, scope, detect_workspace(as_path(workspace), cwd))


def hook_locations(workspace: PathArg = None, cwd: Path | None = None) -> list[HookLocation]:
    """Where each agent (AGENTS) reads its hooks, per scope, and what cowsnap put there."""
    found = []
    for agent in AGENTS:
        for scope in SCOPES:
            path = _settings_path(agent, scope, workspace, cwd)
            found.append(HookLocation(agent, scope, path,
                                      tuple(settings.installed_commands(path))))
    return found


def install_hook(agent: str, scope: Scope, workspace: PathArg = None,
                 cwd: Path | None = None) -> HookChange:
    """Add (or replace) the cowsnap PreToolUse hook in `agent`'s settings for `scope`,
    keeping every other setting (cowsnap.agent.settings)."""
    path = _settings_path(agent, scope, workspace, cwd)
    command = settings.hook_command(self_invocation(), agent)
    settings.write_settings(path, settings.with_ours(settings.read_settings(path), path,
                                                     command))
    return HookChange(path, True)


def uninstall_hook(agent: str, scope: Scope, workspace: PathArg = None,
                   cwd: Path | None = None) -> HookChange:
    """Remove exactly the cowsnap hook from `agent`'s settings for `scope`."""
    path = _settings_path(agent, scope, workspace, cwd)
    if not path.exists():
        return HookChange(path, False)
    document, removed = settings.without_ours(settings.read_settings(path), path)
    if removed:
        settings.write_settings(path, document)
    return HookChange(path, bool(removed))
