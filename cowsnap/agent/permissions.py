"""Claude Code's permission rules for Bash, applied to the command before it is rewritten.

Claude Code checks its rules against the command it finally runs, so a rewritten
command no longer matches the user's `allow`, `ask` and `deny` rules, and a hook
answering `allow` skips the prompt. The hook therefore decides first, on the
original command, conservatively: a `deny` or `ask` rule matching the command or
any part of it wins; `allow` needs a blanket Bash rule or a rule matching a
command with no shell operators; anything else is asked, as Claude Code would
have asked. A denied command is left alone, for Claude Code to refuse.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

Decision = Literal["allow", "ask", "deny", "leave"]
"""`leave`: do not rewrite (plan mode, or a mode that refuses what is not allowed)."""

OPERATORS = re.compile(r"&&|\|\||[;|&\n`<>]|\$\(")
SETTINGS_FILES = (".claude/settings.json", ".claude/settings.local.json")
MANAGED_SETTINGS = Path("/etc/claude-code/managed-settings.json")


@dataclass(frozen=True)
class Rules:
    allow: tuple[str, ...] = ()
    ask: tuple[str, ...] = ()
    deny: tuple[str, ...] = ()


def _bash_rules(values: Any) -> list[str]:
    if not isinstance(values, list):
        return []
    return [value for value in values
            if isinstance(value, str) and (value == "Bash" or value.startswith("Bash("))]


def rules_from(documents: Iterable[Mapping[str, Any]]) -> Rules:
    """The Bash rules of every settings document, merged."""
    found: dict[str, list[str]] = {"allow": [], "ask": [], "deny": []}
    for document in documents:
        permissions = document.get("permissions")
        if not isinstance(permissions, Mapping):
            continue
        for kind, rules in found.items():
            rules.extend(_bash_rules(permissions.get(kind)))
    return Rules(allow=tuple(found["allow"]), ask=tuple(found["ask"]), deny=tuple(found["deny"]))


def load_rules(project: Path | None, home: Path) -> Rules:
    """The rules of the user's, the project's (shared and local) and managed settings;
    a file that is missing or not a JSON object contributes nothing."""
    paths = [home / ".claude" / "settings.json", MANAGED_SETTINGS]
    if project is not None:
        paths += [project / name for name in SETTINGS_FILES]
    documents = []
    for path in paths:
        try:
            document = json.loads(path.read_bytes())
        except (OSError, ValueError):
            continue
        if isinstance(document, Mapping):
            documents.append(document)
    return rules_from(documents)


def _specifier(rule: str) -> str | None:
    """What is inside `Bash(...)`; None for a rule covering every command."""
    if rule == "Bash":
        return None
    inner = rule[len("Bash("):-1] if rule.endswith(")") else rule[len("Bash("):]
    return None if inner in ("", "*") else inner


def matches(rule: str, command: str) -> bool:
    """Whether `rule` (`Bash`, `Bash(exact)`, `Bash(prefix:*)`, `Bash(glob*)`) covers
    `command`."""
    specifier = _specifier(rule)
    if specifier is None:
        return True
    command = command.strip()
    if specifier.endswith(":*"):
        prefix = specifier[:-2]
        return command == prefix or command.startswith(prefix + " ")
    if "*" in specifier:
        pattern = ".*".join(re.escape(part) for part in specifier.split("*"))
        return re.fullmatch(pattern, command, flags=re.DOTALL) is not None
    return command == specifier


def _parts(command: str) -> list[str]:
    return [part.strip() for part in OPERATORS.split(command) if part.strip()]


def decide(command: str, rules: Rules, mode: str | None) -> Decision:
    """How Claude Code would treat `command`, erring towards asking (module docstring)."""
    pieces = [command, *_parts(command)]
    if any(matches(rule, piece) for rule in rules.deny for piece in pieces):
        return "deny"
    if mode == "plan":
        return "leave"
    if any(matches(rule, piece) for rule in rules.ask for piece in pieces):
        return "ask"
    if mode == "bypassPermissions":
        return "allow"
    simple = OPERATORS.search(command) is None
    if any(_specifier(rule) is None or (simple and matches(rule, command))
           for rule in rules.allow):
        return "allow"
    return "leave" if mode == "dontAsk" else "ask"


def project_dir(payload_cwd: str | None, environ: Mapping[str, str] = os.environ) -> Path | None:
    """The project whose settings apply: $CLAUDE_PROJECT_DIR, else the hook's cwd."""
    chosen = environ.get("CLAUDE_PROJECT_DIR") or payload_cwd
    return Path(chosen) if chosen else None
