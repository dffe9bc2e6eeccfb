"""Installing the hook keeps every other setting; uninstalling removes only the hook."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from cowsnap.agent.settings import (
    hook_command,
    installed_commands,
    read_settings,
    settings_path,
    with_ours,
    without_ours,
    write_settings,
)
from cowsnap.errors import ConfigError
from tests.conftest import Cowsnap

OTHER = {
    "model": "opus",
    "permissions": {"allow": ["Bash(make:*)"]},
    "hooks": {
        "PreToolUse": [{"matcher": "Bash", "hooks": [{"type": "command",
                                                      "command": "./check.sh"}]}],
        "Stop": [{"hooks": [{"type": "command", "command": "notify"}]}],
    },
}


def test_install_twice_adds_one_hook_and_keeps_the_rest(tmp_path: Path) -> None:
    path = tmp_path / ".claude" / "settings.json"
    command = hook_command(["/bin/cowsnap"], "claude-code")
    document = with_ours(json.loads(json.dumps(OTHER)), path, command)
    document = with_ours(document, path, command)
    write_settings(path, document)
    written = read_settings(path)
    assert written["model"] == "opus" and written["permissions"] == OTHER["permissions"]
    assert written["hooks"]["Stop"] == OTHER["hooks"]["Stop"]
    assert installed_commands(path) == [command]
    assert written["hooks"]["PreToolUse"][0] == OTHER["hooks"]["PreToolUse"][0]
    cleaned, removed = without_ours(written, path)
    assert removed == 1
    assert cleaned == OTHER


def test_uninstalling_the_only_hook_leaves_no_empty_lists(tmp_path: Path) -> None:
    path = tmp_path / "hooks.json"
    document = with_ours({}, path, hook_command(["cowsnap"], "codex"))
    assert without_ours(document, path) == ({}, 1)


@pytest.mark.parametrize("text", ["{ broken", "[]", '{"hooks": []}',
                                  '{"hooks": {"PreToolUse": {}}}'])
def test_a_file_cowsnap_cannot_understand_is_left_alone(tmp_path: Path, text: str) -> None:
    path = tmp_path / "settings.json"
    path.write_text(text)
    with pytest.raises(ConfigError):
        with_ours(read_settings(path), path, "cowsnap agent hook --agent codex")
    assert path.read_text() == text


def test_write_keeps_the_files_permissions(tmp_path: Path) -> None:
    path = tmp_path / "settings.json"
    path.write_text("{}")
    os.chmod(path, 0o600)
    write_settings(path, {"a": 1})
    assert path.stat().st_mode & 0o777 == 0o600
    assert [entry.name for entry in tmp_path.iterdir()] == ["settings.json"]


def test_paths(tmp_path: Path) -> None:
    environ = {"HOME": "/home/u"}
    project = tmp_path
    assert settings_path("claude-code", "user", project, environ) == \
        Path("/home/u/.claude/settings.json")
    assert settings_path("claude-code", "project", project, environ) == \
        project / ".claude" / "settings.json"
    assert settings_path("codex", "user", project, environ) == Path("/home/u/.codex/hooks.json")
    assert settings_path("codex", "user", project, {**environ, "CODEX_HOME": "/c"}) == \
        Path("/c/hooks.json")
    assert settings_path("codex", "project", project, environ) == project / ".codex" / "hooks.json"


def test_cli_install_status_uninstall(cowsnap: Cowsnap, workspace: Path) -> None:
    settings = workspace / ".claude" / "settings.json"
    settings.parent.mkdir()
    settings.write_text(json.dumps(OTHER))
    for agent in ("claude-code", "codex"):
        cowsnap("agent", "install", agent, cwd=workspace)
    cowsnap("agent", "install", "codex", "--user", cwd=workspace)
    rows = json.loads(cowsnap("agent", "status", "--json", cwd=workspace).stdout)
    installed = {(row["agent"], row["scope"]) for row in rows if row["installed"]}
    assert installed == {("claude-code", "project"), ("codex", "project"), ("codex", "user")}
    assert (cowsnap.home / ".codex" / "hooks.json").exists()
    cowsnap("agent", "uninstall", "claude-code", cwd=workspace)
    assert json.loads(settings.read_text()) == OTHER
    result = cowsnap("agent", "uninstall", "claude-code", cwd=workspace)
    assert b"no cowsnap hook" in result.stdout


def test_status_keys_are_documented(cowsnap: Cowsnap, workspace: Path) -> None:
    docs = (Path(__file__).resolve().parents[2] / "docs" / "cli-json.md").read_text()
    section = docs.split("## `cowsnap agent status --json`", 1)[1].split("\n## ", 1)[0]
    rows = json.loads(cowsnap("agent", "status", "--json", cwd=workspace).stdout)
    assert len(rows) == 4
    for key in rows[0]:
        assert f"| `{key}` |" in section


@pytest.mark.parametrize("agent", ["claude-code", "codex"])
@pytest.mark.parametrize("scope", ["--project", "--user"])
def test_each_agent_and_scope_installs_once_and_uninstalls_alone(cowsnap: Cowsnap,
                                                                workspace: Path, agent: str,
                                                                scope: str) -> None:
    other_scope = "--user" if scope == "--project" else "--project"
    cowsnap("agent", "install", agent, other_scope, cwd=workspace)
    for _ in range(2):
        cowsnap("agent", "install", agent, scope, cwd=workspace)
    rows = {(row["agent"], row["scope"]): row
            for row in json.loads(cowsnap("agent", "status", "--json", cwd=workspace).stdout)}
    mine, other = rows[(agent, scope[2:])], rows[(agent, other_scope[2:])]
    document = json.loads(Path(mine["settings"]).read_text())
    groups = document["hooks"]["PreToolUse"]
    assert [group["matcher"] for group in groups] == ["Bash"]
    assert len(groups[0]["hooks"]) == 1 and mine["commands"] == [groups[0]["hooks"][0]["command"]]
    assert mine["commands"][0].endswith(f"agent hook --agent {agent}")
    cowsnap("agent", "uninstall", agent, scope, cwd=workspace)
    rows = {(row["agent"], row["scope"]): row
            for row in json.loads(cowsnap("agent", "status", "--json", cwd=workspace).stdout)}
    assert not rows[(agent, scope[2:])]["installed"]
    assert rows[(agent, other_scope[2:])]["commands"] == other["commands"]
