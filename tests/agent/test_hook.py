"""The hook's answers to the payloads Claude Code and Codex document (fixtures/)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from cowsnap.agent.hook import Answer, answer
from cowsnap.agent.permissions import Rules
from cowsnap.agent.wrapper import MARKER, is_wrapped

FIXTURES = Path(__file__).parent / "fixtures"
COWSNAP = ["/opt/cowsnap/bin/cowsnap"]
NO_RULES = Rules()


def payload(name: str, **changes: Any) -> dict[str, Any]:
    document: dict[str, Any] = json.loads((FIXTURES / name).read_text())
    tool_input = changes.pop("tool_input", None)
    document.update(changes)
    if tool_input is not None:
        document["tool_input"] = {**document["tool_input"], **tool_input}
    return document


def ask(document: Any, agent: str, rules: Rules = NO_RULES) -> Answer:
    raw = document if isinstance(document, bytes) else json.dumps(document).encode()
    return answer(raw, agent, COWSNAP, lambda _cwd: rules)


@pytest.mark.parametrize(("fixture", "agent"), [
    ("claude-code-pretooluse-bash.json", "claude-code"),
    ("codex-pretooluse-bash.json", "codex"),
])
def test_documented_payload_is_rewritten_keeping_the_other_inputs(fixture: str,
                                                                   agent: str) -> None:
    document = payload(fixture)
    reply = ask(document, agent, Rules(allow=("Bash",)))
    assert reply.output is not None
    specific = reply.output["hookSpecificOutput"]
    assert specific["hookEventName"] == "PreToolUse"
    assert specific["permissionDecision"] == "allow"
    updated = specific["updatedInput"]
    original = document["tool_input"]
    assert {key: value for key, value in updated.items() if key != "command"} == \
        {key: value for key, value in original.items() if key != "command"}
    assert updated["command"].startswith(MARKER)
    assert f"--session {document['session_id']}" in updated["command"]
    assert "/opt/cowsnap/bin/cowsnap agent exec" in updated["command"]


def test_a_rewritten_command_is_never_wrapped_twice() -> None:
    first = ask(payload("codex-pretooluse-bash.json"), "codex")
    assert first.output is not None
    wrapped = first.output["hookSpecificOutput"]["updatedInput"]["command"]
    again = ask(payload("codex-pretooluse-bash.json", tool_input={"command": wrapped}), "codex")
    assert again.output is None
    assert is_wrapped(wrapped)


@pytest.mark.parametrize("command", ["cowsnap rewind @", "/usr/local/bin/cowsnap log",
                                     "  cowsnap-sh -c 'true'"])
def test_commands_running_cowsnap_itself_are_left_alone(command: str) -> None:
    reply = ask(payload("codex-pretooluse-bash.json", tool_input={"command": command}), "codex")
    assert reply.output is None


@pytest.mark.parametrize("command", ["ls -la", "git status", "cat README.md", "pwd"])
def test_read_only_commands_are_left_alone(command: str) -> None:
    reply = ask(payload("codex-pretooluse-bash.json", tool_input={"command": command}), "codex")
    assert reply.output is None
    assert "read-only" in reply.why


@pytest.mark.parametrize("command", ["ls > listing.txt", "git status && rm -rf build",
                                     "cat a | tee b", "git checkout -- .",
                                     "git diff --output=patch.txt", "rg -o x",
                                     "date -s 2020-01-01"])
def test_commands_that_may_write_are_rewritten(command: str) -> None:
    reply = ask(payload("codex-pretooluse-bash.json", tool_input={"command": command}), "codex")
    assert reply.output is not None


@pytest.mark.parametrize("raw", [b"", b"not json", b"[1, 2]", b"\xff\xfe",
                                 json.dumps({"tool_name": "Bash", "tool_input": {}}).encode(),
                                 json.dumps({"tool_name": "Bash",
                                             "tool_input": {"command": 42}}).encode()])
def test_unreadable_input_passes_through_and_says_so(raw: bytes) -> None:
    reply = ask(raw, "claude-code")
    assert reply.output is not None
    assert set(reply.output) == {"systemMessage"}
    assert "runs unrecorded" in reply.output["systemMessage"]


def test_other_tools_and_events_are_not_touched() -> None:
    edit = payload("claude-code-pretooluse-bash.json", tool_name="Edit")
    assert ask(edit, "claude-code").output is None
    post = payload("claude-code-pretooluse-bash.json", hook_event_name="PostToolUse")
    assert ask(post, "claude-code").output is None


def test_claude_code_decision_follows_the_users_rules() -> None:
    document = payload("claude-code-pretooluse-bash.json")
    allowed = ask(document, "claude-code", Rules(allow=("Bash(npm test:*)",)))
    assert allowed.output is not None
    assert allowed.output["hookSpecificOutput"]["permissionDecision"] == "allow"
    unknown = ask(document, "claude-code", Rules())
    assert unknown.output is not None
    assert unknown.output["hookSpecificOutput"]["permissionDecision"] == "ask"
    denied = ask(document, "claude-code", Rules(allow=("Bash",), deny=("Bash(npm:*)",)))
    assert denied.output is None
    planning = ask(payload("claude-code-pretooluse-bash.json", permission_mode="plan"),
                   "claude-code", Rules(allow=("Bash",)))
    assert planning.output is None


def test_codex_rewrites_always_carry_allow_as_codex_requires() -> None:
    reply = ask(payload("codex-pretooluse-bash.json"), "codex", Rules(deny=("Bash",)))
    assert reply.output is not None
    assert reply.output["hookSpecificOutput"]["permissionDecision"] == "allow"


def test_without_a_session_id_the_command_has_no_session_option() -> None:
    document = payload("codex-pretooluse-bash.json")
    del document["session_id"]
    reply = ask(document, "codex")
    assert reply.output is not None
    assert "--session" not in reply.output["hookSpecificOutput"]["updatedInput"]["command"]


@pytest.mark.parametrize("command", ["npm run dev &", "nohup ./server > log 2>&1 &",
                                     "(sleep 60)& echo started", "make & disown"])
def test_a_background_job_passes_through_and_says_so(command: str) -> None:
    """cowsnap waits for every process a command starts: wrapped, the agent would wait
    for the background job too."""
    reply = ask(payload("claude-code-pretooluse-bash.json", tool_input={"command": command},
                        permission_mode="bypassPermissions"), "claude-code")
    assert reply.output is not None and set(reply.output) == {"systemMessage"}
    assert "background job" in reply.output["systemMessage"]
    assert "runs unrecorded" in reply.output["systemMessage"]


@pytest.mark.parametrize("command", ["make && make install", "make 2>&1 | tee log",
                                     "make &> log", "git commit -m 'this & that'",
                                     "make |& tee log"])
def test_ampersands_that_start_no_background_job_are_rewritten(command: str) -> None:
    reply = ask(payload("codex-pretooluse-bash.json", tool_input={"command": command}), "codex")
    assert reply.output is not None and "hookSpecificOutput" in reply.output
