"""`cowsnap mcp` driven by the mcp SDK's own client over stdio, as an agent drives it."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Any

import pytest
from mcp import Client, StdioServerParameters

from tests.conftest import Cowsnap

DOCS = Path(__file__).resolve().parents[2] / "docs" / "agents.md"


def tree(workspace: Path) -> dict[str, str | None]:
    return {str(path.relative_to(workspace)): path.read_text() if path.is_file() else None
            for path in sorted(workspace.rglob("*"))}


async def call(client: Client, tool: str, **arguments: Any) -> dict[str, Any]:
    result = await client.call_tool(tool, arguments)
    assert not result.is_error, result.content
    structured: dict[str, Any] = result.structured_content
    return structured


async def session(cowsnap: Cowsnap, workspace: Path) -> dict[str, Any]:
    """A command that deletes files, what it changed, a rewind, and what is left."""
    server = StdioServerParameters(command=sys.executable, args=["-m", "cowsnap", "mcp"],
                                   env={**cowsnap.env(), "COWSNAP_SESSION": "agent-7"},
                                   cwd=str(workspace))
    seen: dict[str, Any] = {}
    async with Client(server) as client:
        tools = await client.list_tools()
        seen["tools"] = sorted(tool.name for tool in tools.tools)
        seen["run"] = await call(client, "run",
                                 command="rm -r docs/old notes.txt; echo changed > a.txt; "
                                         "echo done; echo warn >&2; exit 4")
        seen["show"] = await call(client, "show")
        seen["show_empty_run"] = await call(client, "show", run="")
        seen["in_sub"] = await call(client, "run", command="pwd; touch made", cwd="docs")
        seen["outside"] = await client.call_tool("run", {"command": "true", "cwd": "../.."})
        seen["diff"] = await call(client, "diff", run=seen["run"]["run_id"], paths=["a.txt"])
        seen["log"] = await call(client, "log")
        seen["tree_after_run"] = tree(workspace)
        seen["rewind"] = await call(client, "rewind", run=seen["run"]["run_id"])
        seen["tree_after_rewind"] = tree(workspace)
        seen["undo"] = await call(client, "restore", run=seen["rewind"]["undo_run"])
        seen["one_path"] = await call(client, "restore", run=seen["run"]["run_id"],
                                      paths=["notes.txt"])
        (workspace / "a.txt").write_text("edited by hand\n")
        seen["conflict"] = await call(client, "restore", run=seen["run"]["run_id"],
                                      paths=["a.txt"])
        seen["missing"] = await client.call_tool("show", {"run": "no-such-run"})
    return seen


@pytest.mark.timeout(120)
def test_an_agent_deletes_files_sees_what_changed_and_rewinds(cowsnap: Cowsnap,
                                                              workspace: Path) -> None:
    (workspace / "docs" / "old").mkdir(parents=True)
    (workspace / "docs" / "old" / "guide.md").write_text("guide\n")
    (workspace / "notes.txt").write_text("notes\n")
    (workspace / "a.txt").write_text("original\n")
    before = tree(workspace)
    seen = asyncio.run(session(cowsnap, workspace))
    assert seen["tools"] == ["diff", "log", "restore", "rewind", "run", "show"]
    run = seen["run"]
    assert run["exit_status"] == 4
    assert run["output_tail"] == "done\nwarn"
    assert {(item["status"], item["path"]) for item in run["changes"]} == {
        ("-.", "docs/old"), ("-.", "docs/old/guide.md"), ("-.", "notes.txt"), ("c.", "a.txt")}
    assert seen["in_sub"]["output_tail"] == str(workspace / "docs")
    assert [item["path"] for item in seen["in_sub"]["changes"]] == ["docs/made"]
    assert seen["outside"].is_error and "inside the workspace" in seen["outside"].content[0].text
    assert seen["show"]["run_id"] == run["run_id"] and seen["show"]["session"] == "agent-7"
    assert seen["show_empty_run"] == seen["show"], "an empty run means the default, the newest"
    assert "-original" in seen["diff"]["diff"] and "+changed" in seen["diff"]["diff"]
    assert [item["run_id"] for item in seen["log"]["runs"]] == \
        [seen["in_sub"]["run_id"], run["run_id"]]
    assert seen["tree_after_run"] == {"a.txt": "changed\n", "docs": None, "docs/made": ""}
    assert seen["rewind"]["done"]
    assert seen["rewind"]["runs"] == [seen["in_sub"]["run_id"], run["run_id"]]
    assert seen["tree_after_rewind"] == before
    assert seen["undo"]["done"]
    assert seen["one_path"]["done"] and seen["one_path"]["restored"] == ["notes.txt"]
    assert not seen["conflict"]["done"]
    assert [item["path"] for item in seen["conflict"]["conflicts"]] == ["a.txt"]
    assert tree(workspace) == {"a.txt": "edited by hand\n", "docs": None, "docs/made": "",
                               "notes.txt": "notes\n"}
    assert seen["missing"].is_error
    assert "no run matches" in seen["missing"].content[0].text


def test_tool_results_are_documented(cowsnap: Cowsnap, workspace: Path) -> None:
    """Every key a tool answers with appears in docs/agents.md's table for that tool."""
    (workspace / "docs").mkdir()
    seen = asyncio.run(session(cowsnap, workspace))
    text = DOCS.read_text()
    for tool in ("run", "show", "log", "diff", "rewind", "restore"):
        section = text.split(f"### `{tool}`", 1)[1].split("\n### ", 1)[0]
        key = {"rewind": "rewind", "restore": "undo"}.get(tool, tool)
        for name in seen[key]:
            assert f"`{name}`" in section, (tool, name)
    assert json.dumps(seen["log"]["runs"][0])


async def stopped(cowsnap: Cowsnap, workspace: Path) -> dict[str, Any]:
    server = StdioServerParameters(command=sys.executable, args=["-m", "cowsnap", "mcp"],
                                   env=cowsnap.env(), cwd=str(workspace))
    async with Client(server) as client:
        return await call(client, "run", command="echo started > started.txt; "
                                                  "cat started.txt; sleep 600",
                          timeout_seconds=10)


@pytest.mark.timeout(120)
def test_a_command_past_its_time_out_is_stopped_with_its_children_and_recorded(
        cowsnap: Cowsnap, workspace: Path) -> None:
    """SIGTERM goes to the whole process group: the shell's `sleep` child stops too, so
    the run ends and is recorded (signalling cowsnap alone left `sleep` running)."""
    result = asyncio.run(stopped(cowsnap, workspace))
    assert result["warning"] == "stopped after 10 s (SIGTERM)"
    assert result["exit_status"] == 143 and result["output_tail"] == "started"
    assert result["run_id"] is not None
    assert [item["path"] for item in result["changes"]] == ["started.txt"]
