"""Installing the hook into an agent's settings: `.claude/settings.json`, `.codex/hooks.json`.

Both files hold `{"hooks": {"PreToolUse": [{"matcher": ..., "hooks": [{"type":
"command", "command": ...}]}]}}`. Installing adds (or updates) one group
matching `Bash` whose handler runs `cowsnap agent hook`; uninstalling removes
exactly that handler and any group or list it leaves empty. Every other key of
the file is kept as it was. A file that is not a JSON object is an error and is
left untouched; writes are atomic (a temporary file renamed over the old one,
with its permissions).
"""

from __future__ import annotations

import json
import os
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from cowsnap.errors import ConfigError
from cowsnap.store.atomic import atomic_writer

Scope = Literal["user", "project"]
HOOK_TIMEOUT = 10
"""Seconds the agent waits for the hook; it answers in milliseconds."""


@dataclass(frozen=True)
class Location:
    agent: str
    scope: Scope
    path: Path


def settings_path(agent: str, scope: Scope, project: Path,
                  environ: Mapping[str, str] = os.environ) -> Path:
    """Where `agent` reads its hooks for `scope`."""
    home = Path(environ.get("HOME") or Path.home())
    if agent == "claude-code":
        base = home if scope == "user" else project
        return base / ".claude" / "settings.json"
    if scope == "user":
        return Path(environ.get("CODEX_HOME") or home / ".codex") / "hooks.json"
    return project / ".codex" / "hooks.json"


def hook_command(cowsnap: Sequence[str], agent: str) -> str:
    return " ".join(shlex.quote(word) for word in [*cowsnap, "agent", "hook", "--agent", agent])


def is_ours(handler: Any) -> bool:
    """Whether a hook handler runs `cowsnap agent hook`."""
    if not isinstance(handler, Mapping) or not isinstance(handler.get("command"), str):
        return False
    try:
        words = shlex.split(handler["command"])
    except ValueError:
        return False
    for index, word in enumerate(words[:-1]):
        if word == "agent" and words[index + 1] == "hook":
            return any("cowsnap" in earlier for earlier in words[:index])
    return False


def read_settings(path: Path) -> dict[str, Any]:
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return {}
    except OSError as error:
        raise ConfigError(f"cannot read {path}: {error.strerror}") from None
    if not raw.strip():
        return {}
    try:
        document = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as error:
        raise ConfigError(f"{path} is not valid JSON ({error}); left unchanged") from None
    if not isinstance(document, dict):
        raise ConfigError(f"{path} is not a JSON object; left unchanged")
    return document


def _groups(document: dict[str, Any], path: Path) -> list[Any]:
    hooks = document.setdefault("hooks", {})
    if not isinstance(hooks, dict):
        raise ConfigError(f"{path}: 'hooks' is not an object; left unchanged")
    groups = hooks.setdefault("PreToolUse", [])
    if not isinstance(groups, list):
        raise ConfigError(f"{path}: 'hooks.PreToolUse' is not a list; left unchanged")
    return groups


def without_ours(document: dict[str, Any], path: Path) -> tuple[dict[str, Any], int]:
    """The document without cowsnap's handlers (and what they leave empty); how many."""
    groups = _groups(document, path)
    removed = 0
    kept_groups = []
    for group in groups:
        handlers = group.get("hooks") if isinstance(group, dict) else None
        if not isinstance(handlers, list):
            kept_groups.append(group)
            continue
        kept = [handler for handler in handlers if not is_ours(handler)]
        removed += len(handlers) - len(kept)
        if kept or len(kept) == len(handlers):
            kept_groups.append({**group, "hooks": kept})
    hooks = document["hooks"]
    if kept_groups:
        hooks["PreToolUse"] = kept_groups
    else:
        del hooks["PreToolUse"]
    if not hooks:
        del document["hooks"]
    return document, removed


def with_ours(document: dict[str, Any], path: Path, command: str) -> dict[str, Any]:
    """The document with exactly one cowsnap handler, in its own group matching Bash."""
    document, _removed = without_ours(document, path)
    groups = _groups(document, path)
    groups.append({"matcher": "Bash",
                   "hooks": [{"type": "command", "command": command,
                              "timeout": HOOK_TIMEOUT}]})
    return document


def write_settings(path: Path, document: Mapping[str, Any]) -> None:
    """Replace `path` atomically, keeping its permissions (0644 for a new file)."""
    try:
        mode = path.stat().st_mode & 0o7777
    except FileNotFoundError:
        mode = 0o644
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(document, indent=2, ensure_ascii=False) + "\n"
    with atomic_writer(path, mode=mode) as handle:
        handle.write(text.encode())


def installed_commands(path: Path) -> list[str]:
    """The cowsnap hook commands `path` holds (none when it is missing or unreadable)."""
    try:
        document = read_settings(path)
    except ConfigError:
        return []
    hooks = document.get("hooks")
    groups = hooks.get("PreToolUse") if isinstance(hooks, dict) else None
    found = []
    for group in groups if isinstance(groups, list) else []:
        handlers = group.get("hooks") if isinstance(group, dict) else None
        for handler in handlers if isinstance(handlers, list) else []:
            if is_ours(handler):
                found.append(handler["command"])
    return found
