"""`cowsnap rewind` end to end: several runs undone in one plan, one undo run."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.conftest import Cowsnap


def sh(cowsnap: Cowsnap, workspace: Path, script: str, session: str | None = None) -> None:
    env = {**cowsnap.env(), **({"COWSNAP_SESSION": session} if session else {})}
    subprocess.run([sys.executable, "-m", "cowsnap", "sh", "-c", script], cwd=workspace,
                   env=env, check=True, capture_output=True, timeout=60)


def run_ids(cowsnap: Cowsnap, workspace: Path) -> list[str]:
    """Oldest first."""
    runs = json.loads(cowsnap("log", "--json", cwd=workspace).stdout)
    return [run["run_id"] for run in reversed(runs)]


def tree(workspace: Path) -> dict[str, str | None]:
    return {str(path.relative_to(workspace)): path.read_text() if path.is_file() else None
            for path in sorted(workspace.rglob("*"))}


def three_runs(cowsnap: Cowsnap, workspace: Path) -> list[dict[str, str | None]]:
    """The tree before each of three runs, then after the last."""
    (workspace / "a").write_text("1")
    (workspace / "b").write_text("b")
    states = [tree(workspace)]
    for script in ("echo 2 > a; rm b; mkdir d; echo x > d/f",
                   "echo 3 > a; echo bb > b; rm d/f",
                   "echo 4 > a; rmdir d; echo new > n"):
        sh(cowsnap, workspace, script, session="s1" if "3" in script else None)
        states.append(tree(workspace))
    return states


def test_rewind_undoes_the_run_and_every_later_one(cowsnap: Cowsnap, workspace: Path) -> None:
    states = three_runs(cowsnap, workspace)
    first, second, third = run_ids(cowsnap, workspace)
    planned = json.loads(cowsnap("rewind", second, "--dry-run", "--json", cwd=workspace).stdout)
    assert planned["runs"] == [third, second] and planned["dry_run"] is True
    assert planned["undo_run"] is None
    assert tree(workspace) == states[3]
    done = json.loads(cowsnap("rewind", second, "--json", cwd=workspace).stdout)
    assert tree(workspace) == states[1]
    assert done["runs"] == [third, second] and done["failures"] == []
    assert run_ids(cowsnap, workspace) == [first, second, third, done["undo_run"]]
    cowsnap("restore", done["undo_run"], cwd=workspace)
    assert tree(workspace) == states[3]


def test_runs_are_named_by_reference(cowsnap: Cowsnap, workspace: Path) -> None:
    states = three_runs(cowsnap, workspace)
    planned = json.loads(cowsnap("rewind", "@~1", "--dry-run", "--json", cwd=workspace).stdout)
    assert planned["runs"] == list(reversed(run_ids(cowsnap, workspace)[1:]))
    cowsnap("rewind", "@", cwd=workspace)
    assert tree(workspace) == states[2]


def test_a_path_changed_since_stops_the_whole_rewind(cowsnap: Cowsnap, workspace: Path) -> None:
    states = three_runs(cowsnap, workspace)
    first = run_ids(cowsnap, workspace)[0]
    (workspace / "b").write_text("edited by hand")
    refused = cowsnap("rewind", first, cwd=workspace, check=False)
    assert refused.returncode != 0
    assert b"conflict:" in refused.stderr and b"/b: changed since the run" in refused.stderr
    assert (workspace / "a").read_text() == states[3]["a"]
    assert len(run_ids(cowsnap, workspace)) == 3
    cowsnap("rewind", first, "--force", cwd=workspace)
    assert tree(workspace) == states[0]


def test_rewind_a_session_to_before_its_first_run(cowsnap: Cowsnap, workspace: Path) -> None:
    states = three_runs(cowsnap, workspace)
    result = cowsnap("rewind", "--session", "s1", cwd=workspace)
    assert b"rewound 2 runs" in result.stderr
    assert tree(workspace) == states[1]
    missing = cowsnap("rewind", "--session", "nobody", cwd=workspace, check=False)
    assert missing.returncode != 0 and b"no runs of session 'nobody'" in missing.stderr


def test_json_keys_are_documented(cowsnap: Cowsnap, workspace: Path) -> None:
    three_runs(cowsnap, workspace)
    document = json.loads(cowsnap("rewind", "--dry-run", "--json", cwd=workspace).stdout)
    docs = (Path(__file__).resolve().parents[2] / "docs" / "cli-json.md").read_text()
    section = docs.split("## `cowsnap rewind --json`", 1)[1].split("\n## ", 1)[0]
    for key in document:
        assert f"| `{key}` |" in section
    assert set(document["steps"][0]) == {"action", "path"}
