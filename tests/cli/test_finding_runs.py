"""Naming runs as git names commits (issue 14): any unique part of an id, @ and @~N,
"no run matches" instead of a guess, log's options, forget, a damaged run."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.conftest import Cowsnap, invoke


@pytest.fixture
def three_runs(cowsnap: Cowsnap, workspace: Path) -> list[str]:
    """Three runs of `workspace`, oldest first: create a.txt, append to it, delete it."""
    for script in ("echo one > a.txt", "echo two >> a.txt", "rm a.txt"):
        cowsnap("run", "--", "sh", "-c", script, cwd=workspace)
    runs = json.loads(cowsnap("log", "--json", cwd=workspace).stdout)
    return [run["run_id"] for run in reversed(runs)]


def test_any_unique_part_of_an_id_and_relative_references(
        cowsnap: Cowsnap, workspace: Path, three_runs: list[str]) -> None:
    oldest, middle, newest = three_runs
    random_part = middle.rsplit("-", 1)[1]
    assert f"run:       {middle}" in invoke(cowsnap, workspace, "show", random_part).output
    assert f"run:       {newest}" in invoke(cowsnap, workspace, "show", "@").output
    assert f"run:       {middle}" in invoke(cowsnap, workspace, "show", "@~1").output
    assert f"run:       {oldest}" in invoke(cowsnap, workspace, "show", "@~2").output
    beyond = invoke(cowsnap, workspace, "show", "@~3")
    assert beyond.exit_code == 1
    assert "no run @~3: the workspace has only 3 runs" in beyond.output
    short = invoke(cowsnap, workspace, "show", "@~1", "--json")
    assert short.exit_code == 0
    too_short = invoke(cowsnap, workspace, "diff", random_part[:3])
    assert too_short.exit_code == 1 and "no run matches" in too_short.output
    ambiguous = invoke(cowsnap, workspace, "show", oldest[:8])
    assert ambiguous.exit_code == 1 and "is ambiguous: 3 runs match" in ambiguous.output
    for malformed in ("@~-1", "@~abc", "@HEAD"):
        for command in ("show", "diff", "forget"):
            wrong = invoke(cowsnap, workspace, command, malformed)
            assert wrong.exit_code == 1
            assert wrong.output == (f"cowsnap: error: no run {malformed}: write @ for the "
                                    f"workspace's newest run, @~N for the Nth before it\n")
    empty = invoke(cowsnap, workspace, "forget", "")
    assert empty.exit_code == 1
    assert empty.output == "cowsnap: error: an empty run reference names no run\n"
    assert sorted(path.name for path in (cowsnap.store / "runs").iterdir()) == sorted(three_runs)


@pytest.mark.parametrize("command", ["diff", "restore", "cat", "versions"])
def test_a_wrong_run_id_is_not_taken_for_a_path(cowsnap: Cowsnap, workspace: Path,
                                                three_runs: list[str], command: str) -> None:
    extra = ["a.txt"] if command in ("cat", "versions") else []
    result = invoke(cowsnap, workspace, command, "c6aff2", *extra)
    assert result.exit_code == 1
    assert result.output.startswith("cowsnap: error: no run matches c6aff2")
    assert result.output.count("\n") == 1


def test_diff_between_two_runs_and_against_now(cowsnap: Cowsnap, workspace: Path,
                                               three_runs: list[str]) -> None:
    oldest, middle, _newest = three_runs
    between = invoke(cowsnap, workspace, "diff", oldest, middle)
    assert between.exit_code == 0
    assert " one\n+two\n" in between.output
    assert invoke(cowsnap, workspace, "diff", "--name-status", middle, oldest).output == \
        "M\ta.txt\n"
    (workspace / "a.txt").write_text("one\ntwo\n")
    assert invoke(cowsnap, workspace, "diff", "--now", middle).output == ""
    (workspace / "a.txt").write_text("changed\n")
    now = invoke(cowsnap, workspace, "diff", "--now", middle).output
    assert "-one\n-two\n+changed\n" in now


def test_log_options(cowsnap: Cowsnap, workspace: Path, three_runs: list[str],
                     tmp_path: Path) -> None:
    lines = invoke(cowsnap, workspace, "log").output.splitlines()
    assert [line.split()[0] for line in lines] == three_runs[::-1]
    assert lines[0].endswith("sh -c 'rm a.txt'")
    assert re.search(r"  \d{4}-\d\d-\d\d \d\d:\d\d:\d\d [+-]\d{4}  exit 0 ", lines[0])
    assert len(invoke(cowsnap, workspace, "log", "-n", "1").output.splitlines()) == 1
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    empty = invoke(cowsnap, elsewhere, "log")
    assert empty.exit_code == 0
    assert "no runs recorded for workspace" in empty.output
    everywhere = invoke(cowsnap, elsewhere, "log", "--all").output.splitlines()
    assert len(everywhere) == 3 and str(workspace) in everywhere[0]


def test_log_keeps_a_multi_line_command_on_one_line(cowsnap: Cowsnap,
                                                    workspace: Path) -> None:
    cowsnap("run", "--", "sh", "-c", "true\ntrue", cwd=workspace)
    output = invoke(cowsnap, workspace, "log").output
    assert output.count("\n") == 1
    assert output.rstrip().endswith("sh -c $'true\\ntrue'")


def test_a_damaged_run_is_named_and_the_others_listed(cowsnap: Cowsnap, workspace: Path,
                                                      three_runs: list[str]) -> None:
    damaged = cowsnap.store / "runs" / three_runs[1]
    (damaged / "summary.json").write_text("{not json")
    rebuilt = invoke(cowsnap, workspace, "log")
    assert rebuilt.exit_code == 0, "a summary is rebuilt from its manifest"
    assert len(rebuilt.output.splitlines()) == 3
    (damaged / "manifest.json").write_text("[]")
    result = invoke(cowsnap, workspace, "log")
    assert result.exit_code == 1
    listed = [line.split()[0] for line in result.stdout.splitlines()]
    assert listed == [three_runs[2], three_runs[0]]
    assert f"cannot read run {three_runs[1]}" in result.stderr
    assert "1 run cannot be read" in result.stderr


def test_forget(cowsnap: Cowsnap, workspace: Path, three_runs: list[str]) -> None:
    oldest, middle, newest = three_runs
    dry = invoke(cowsnap, workspace, "forget", "--dry-run", "@~1")
    assert dry.output == f"would forget run {middle}\n"
    assert (cowsnap.store / "runs" / middle).is_dir()
    done = invoke(cowsnap, workspace, "forget", "--json", "@~1", oldest)
    assert json.loads(done.output)["runs"] == [middle, oldest]
    assert not (cowsnap.store / "runs" / middle).exists()
    remaining = json.loads(invoke(cowsnap, workspace, "log", "--json").output)
    assert [run["run_id"] for run in remaining] == [newest]
    gone = invoke(cowsnap, workspace, "diff", middle)
    assert gone.exit_code == 1 and "no run matches" in gone.output


def test_a_damaged_summary_does_not_block_prune(cowsnap: Cowsnap, workspace: Path,
                                                three_runs: list[str]) -> None:
    (cowsnap.store / "runs" / three_runs[0] / "summary.json").write_text("[]")
    pruned = invoke(cowsnap, workspace, "prune", "--keep-last", "2")
    assert pruned.exit_code == 0, pruned.output
    assert not (cowsnap.store / "runs" / three_runs[0]).exists()
    damaged = three_runs[1]
    (cowsnap.store / "runs" / damaged / "manifest.json").write_text("[]")
    blocked = invoke(cowsnap, workspace, "prune", "--keep-last", "1")
    assert blocked.exit_code == 1 and blocked.output.count("\n") == 1
    assert blocked.output.startswith(f"cowsnap: error: cannot prune: run {damaged} cannot be "
                                     f"read")
    assert blocked.output.endswith(f"; cowsnap forget {damaged} removes it\n")
    status = json.loads(invoke(cowsnap, workspace, "status", "--json").stdout)["usage"]
    checked = json.loads(invoke(cowsnap, workspace, "check", "--json").stdout)
    assert status["runs"] == checked["runs"] == 2, "status and check count the same runs"
    assert [item["run_id"] for item in status["damaged_runs"]] == [damaged]
    assert f"damaged run {damaged} (" in invoke(cowsnap, workspace, "status").output
    forgotten = invoke(cowsnap, workspace, "forget", damaged[-6:])
    assert forgotten.exit_code == 0, forgotten.output
    assert not (cowsnap.store / "runs" / damaged).exists()
    assert invoke(cowsnap, workspace, "prune", "--keep-last", "1").exit_code == 0
    assert invoke(cowsnap, workspace, "check").exit_code == 0


def test_forgetting_beside_a_damaged_run_reclaims_nothing(cowsnap: Cowsnap, workspace: Path,
                                                          three_runs: list[str]) -> None:
    oldest, middle, _newest = three_runs
    (cowsnap.store / "runs" / middle / "manifest.json").write_text("[]")
    result = invoke(cowsnap, workspace, "forget", "--json", oldest)
    assert result.exit_code == 0
    assert json.loads(result.stdout) == {
        "store": str(cowsnap.store), "dry_run": False, "runs": [oldest],
        "reclaimed_contents": 0, "reclaimed_size": json.loads(result.stdout)["reclaimed_size"],
        "damaged": [middle]}
    assert f"no content reclaimed while 1 run cannot be read (any content could be theirs): " \
           f"{middle}" in result.stderr
    assert not (cowsnap.store / "runs" / oldest).exists()


def test_no_store_yet_says_how_to_record_a_run(cowsnap: Cowsnap, workspace: Path) -> None:
    for command in ("show", "diff", "cat a.txt", "restore", "forget @", "forget --dry-run @"):
        result = invoke(cowsnap, workspace, *command.split())
        assert result.exit_code == 1
        assert result.output.startswith("cowsnap: error: no runs recorded yet")
        assert result.output.rstrip().endswith("record one with: cowsnap run -- COMMAND")


def test_diff_pathspec_globs(cowsnap: Cowsnap, workspace: Path) -> None:
    cowsnap("run", "--", "sh", "-c", "mkdir -p d/e; echo 1 > top.txt; echo 2 > d/e/deep.txt; "
            "echo 3 > other.md", cwd=workspace)
    listed = invoke(cowsnap, workspace, "diff", "--name-status", "*.txt").output
    assert listed == "A\td/e/deep.txt\nA\ttop.txt\n"
    mixed = invoke(cowsnap, workspace, "diff", "--name-status", "*.md", "d/e").output
    assert mixed == "A\td/e\nA\td/e/deep.txt\nA\tother.md\n"
    assert invoke(cowsnap, workspace, "diff", "--name-status", "*.c").output == ""


def test_prune_acts_on_the_workspace_unless_all(cowsnap: Cowsnap, workspace: Path,
                                                three_runs: list[str], tmp_path: Path) -> None:
    other = tmp_path / "other"
    other.mkdir()
    for script in ("echo 1 > b.txt", "echo 2 > b.txt"):
        cowsnap("run", "--", "sh", "-c", script, cwd=other)
    here = json.loads(invoke(cowsnap, workspace, "prune", "--keep-last", "1", "--json").stdout)
    assert {run["run_id"] for run in here["runs"] if not run["keep"]} == set(three_runs[:2])
    assert len(json.loads(invoke(cowsnap, other, "log", "--json").stdout)) == 2
    everywhere = invoke(cowsnap, workspace, "prune", "--keep-last", "1", "--all")
    assert everywhere.exit_code == 0
    assert len(json.loads(invoke(cowsnap, other, "log", "--json").stdout)) == 1
    left = json.loads(invoke(cowsnap, workspace, "log", "--json").stdout)
    assert [run["run_id"] for run in left] == three_runs[2:]
