"""The PreToolUse hook: a Bash command in, the same command running recorded out.

Claude Code and Codex send the same JSON on the hook's stdin (`session_id`,
`cwd`, `hook_event_name`, `tool_name`, `tool_input.command`, ...) and read the
same answer on its stdout: `hookSpecificOutput` with `permissionDecision` and
`updatedInput`, the tool input with only `command` replaced. Codex takes a
rewrite only with `allow`; Claude Code's decision follows its permission rules
(cowsnap.agent.permissions). A payload the hook cannot read is never an error:
the command runs as it was, unrecorded, and the answer's `systemMessage` says so.
"""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from cowsnap.agent import permissions
from cowsnap.agent.wrapper import is_wrapped, wrap

AGENTS = ("claude-code", "codex")
READ_ONLY = frozenset({"ls", "pwd", "cat", "head", "tail", "wc", "grep", "rg", "which",
                       "stat", "file", "du", "df", "true", "whoami", "id", "uname"})
READ_ONLY_GIT = frozenset({"status", "diff", "log", "show"})
REASON = "cowsnap records this command; undo it with `cowsnap rewind`"

RulesLoader = Callable[[str | None], permissions.Rules]
NOT_BACKGROUND = re.compile(r"&&|[<>|]&|&>")
"""Operators holding `&` that do not start a background job: `&&`, `2>&1`, `|&`, `&>`."""


@dataclass(frozen=True)
class Answer:
    output: dict[str, Any] | None
    """The JSON to print on stdout; None: print nothing (the command runs as it is)."""
    why: str
    """What the hook did and why, in a few words (`cowsnap agent hook --explain`)."""


def _unrecorded(why: str) -> Answer:
    """The command left as it is, and a message saying why it runs unrecorded."""
    message = f"cowsnap: {why}; the command runs unrecorded"
    return Answer({"systemMessage": message}, message)


def _read_only(command: str) -> bool:
    """A single plain command that cannot change files: not worth recording."""
    if permissions.OPERATORS.search(command):
        return False
    try:
        words = shlex.split(command)
    except ValueError:
        return False
    if not words:
        return True
    if any(word == "-o" or word.startswith("--output") for word in words):
        return False
    if words[0] == "git":
        return len(words) > 1 and words[1] in READ_ONLY_GIT
    return words[0] in READ_ONLY


def _starts_background_job(command: str) -> bool:
    """Whether `command` puts something in the background with `&` (outside quotes). cowsnap
    waits for every process a command starts, so the agent would wait for that job too."""
    lexer = shlex.shlex(command, posix=True, punctuation_chars=True)
    try:
        tokens = list(lexer)
    except ValueError:
        return False
    return any("&" in NOT_BACKGROUND.sub("", token) for token in tokens
               if token and set(token) <= set(lexer.punctuation_chars))


def answer(raw: bytes, agent: str, cowsnap: Sequence[str], load_rules: RulesLoader) -> Answer:
    """The hook's answer to the payload `raw` from `agent` (one of AGENTS)."""
    try:
        payload = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as error:
        return _unrecorded(f"cannot read the hook input as JSON ({error})")
    if not isinstance(payload, dict):
        return _unrecorded("the hook input is not a JSON object")
    event = payload.get("hook_event_name", "PreToolUse")
    if event != "PreToolUse" or payload.get("tool_name") != "Bash":
        return Answer(None, f"not a Bash PreToolUse call ({event}, {payload.get('tool_name')})")
    tool_input = payload.get("tool_input")
    command = tool_input.get("command") if isinstance(tool_input, dict) else None
    if not isinstance(tool_input, dict) or not isinstance(command, str):
        return _unrecorded("the hook input has no tool_input.command string")
    if not command.strip():
        return Answer(None, "empty command")
    if is_wrapped(command):
        return Answer(None, "already recorded by cowsnap, or runs cowsnap itself")
    if _read_only(command):
        return Answer(None, "read-only command, not recorded")
    if _starts_background_job(command):
        return _unrecorded("the command starts a background job (&), which a recorded "
                           "command would wait for")
    decision: permissions.Decision = "allow"
    if agent == "claude-code":
        cwd = payload.get("cwd")
        rules = load_rules(cwd if isinstance(cwd, str) else None)
        mode = payload.get("permission_mode")
        decision = permissions.decide(command, rules, mode if isinstance(mode, str) else None)
        if decision in ("deny", "leave"):
            return Answer(None, f"left to Claude Code ({decision}, permission rules)")
    session = payload.get("session_id")
    wrapped = wrap(command, cowsnap, session if isinstance(session, str) else None)
    output = {"hookSpecificOutput": {
        "hookEventName": "PreToolUse",
        "permissionDecision": decision,
        "permissionDecisionReason": REASON,
        "updatedInput": {**tool_input, "command": wrapped},
    }}
    return Answer(output, f"rewritten to run recorded ({decision})")
