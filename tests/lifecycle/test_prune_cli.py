"""`cowsnap prune` on the command line: text, --json, --dry-run and bad input."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from cowsnap.cli import main
from cowsnap.store.store import Store
from tests.lifecycle.conftest import publish

pytestmark = pytest.mark.usefixtures("isolated_home")
NOW = datetime.now(UTC)


def prune(store: Store, workspace: Path, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["prune", "--store", str(store.root), "--workspace",
                                       str(workspace), *args])
    return result.exit_code, result.output


def test_dry_run_text_says_what_would_go_and_why(store: Store, tmp_path: Path) -> None:
    old = publish(store, tmp_path, [b"old" * 1000], NOW - timedelta(days=10))
    new = publish(store, tmp_path, [b"new"], NOW - timedelta(hours=1))
    code, output = prune(store, tmp_path, "--keep-within", "7d", "--dry-run")
    assert code == 0, output
    lines = output.splitlines()
    assert lines[:3] == [
        "would remove 1 of 2 runs, keeping 1",
        f"  keep   {new}  {tmp_path}: started within 1w",
        f"  remove {old}  {tmp_path}: started more than 1w ago",
    ]
    assert lines[3].startswith("would free about ")
    assert store.runs.ids() == sorted([old, new])
    code, output = prune(store, tmp_path, "--keep-within", "7d")
    assert code == 0 and output.startswith("removed 1 of 2 runs, keeping 1\n")
    assert "reclaimed 1 content no run references" in output
    assert store.runs.ids() == [new]


def test_json(store: Store, tmp_path: Path) -> None:
    first = publish(store, tmp_path, [b"a" * 5000], NOW - timedelta(hours=2))
    second = publish(store, tmp_path, [b"b" * 5000], NOW - timedelta(hours=1))
    code, output = prune(store, tmp_path, "--max-size", "1", "--json")
    assert code == 0, output
    document = json.loads(output)
    assert [(run["run_id"], run["keep"]) for run in document["runs"]] == [
        (second, True), (first, False)]
    assert document["runs"][1]["reasons"] == [
        "the store is over --max-size 1 B: oldest runs go first"]
    assert document["dry_run"] is False and document["reclaimed_contents"] == 1
    assert document["size_after"] < document["size_before"]


def test_still_over_max_size_is_said(store: Store, tmp_path: Path) -> None:
    publish(store, tmp_path, [b"only run"])
    code, output = prune(store, tmp_path, "--max-size", "1")
    assert code == 0
    assert output.splitlines()[-1].startswith("warning: still over --max-size 1 B")


@pytest.mark.parametrize(("args", "message"), [
    (["--keep-last", "0"], "--keep-last must be at least 1"),
    (["--keep-within", "7 days"], "invalid duration '7 days'"),
    (["--max-size", "lots"], "invalid size 'lots'"),
])
def test_bad_options_are_usage_errors(store: Store, tmp_path: Path, args: list[str],
                                      message: str) -> None:
    code, output = prune(store, tmp_path, *args)
    assert code == 2
    assert output.startswith(f"cowsnap: error: {message}")


def test_prune_acts_on_this_workspace_unless_all(store: Store, tmp_path: Path) -> None:
    here, there = tmp_path / "here", tmp_path / "there"
    here.mkdir()
    there.mkdir()
    old_here = publish(store, here, [b"a"], NOW - timedelta(days=3))
    new_here = publish(store, here, [b"b"], NOW - timedelta(days=2))
    old_there = publish(store, there, [b"c"], NOW - timedelta(days=3))
    new_there = publish(store, there, [b"d"], NOW - timedelta(days=2))
    code, output = prune(store, here, "--keep-last", "1")
    assert code == 0, output
    assert f"  keep   {old_there}  {there}: another workspace" in output
    assert store.runs.ids() == sorted([new_here, old_there, new_there])
    code, output = prune(store, here, "--keep-last", "1", "--all")
    assert code == 0, output
    assert store.runs.ids() == sorted([new_here, new_there])
    assert old_here not in output


def test_a_workspace_named_with_control_characters_is_shown_escaped(
        store: Store, tmp_path: Path) -> None:
    """A bundle's run names any workspace: its escape sequence and carriage return
    reached the terminal in prune's list of decisions (as in prune --remote's)."""
    workspace = tmp_path / "ws\x1b]0;owned\x07\rcowsnap: ok"
    workspace.mkdir()
    run = publish(store, workspace, [b"x"], NOW - timedelta(hours=1))
    code, output = prune(store, workspace, "--keep-last", "1", "--dry-run")
    assert code == 0, output
    assert "\x1b" not in output and "\r" not in output and "\x07" not in output
    assert f"  keep   {run}  {tmp_path}/ws\\x1b]0;owned\\x07\\x0dcowsnap: ok: " in output
