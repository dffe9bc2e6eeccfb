"""`cowsnap rewind` end to end: several runs undone in one plan, one undo run."""

from __future__ import annotations

import base64
import json
import os
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
    assert b"cowsnap: conflict: b: changed since the run" in refused.stderr
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


def test_paths_are_named_relative_and_escaped_and_exact_in_json(cowsnap: Cowsnap,
                                                                 workspace: Path) -> None:
    """As restore names them: a newline or a byte that is not UTF-8 cannot split a line
    or be lost; --json keeps the bytes in `path_b64`."""
    odd = os.fsencode(workspace) + b"/two\nlines \xff"
    script = b'printf x > "$(printf \'two\\nlines \\377\')"'
    subprocess.run([sys.executable.encode(), b"-m", b"cowsnap", b"sh", b"-c", script],
                   cwd=workspace, env=cowsnap.env(), check=True, capture_output=True,
                   timeout=60)
    assert os.path.lexists(odd)
    text = cowsnap("rewind", "--dry-run", cwd=workspace).stdout.decode()
    assert text.splitlines()[1:] == ['remove    "two\\nlines \\xff"']
    document = json.loads(cowsnap("rewind", "--dry-run", "--json", cwd=workspace).stdout)
    step = document["steps"][0]
    assert base64.b64decode(step["path_b64"]) == odd
    assert step["path"] == odd.decode("utf-8", "backslashreplace")
    (workspace / os.fsdecode(b"two\nlines \xff")).write_text("changed by hand")
    refused = cowsnap("rewind", cwd=workspace, check=False)
    assert refused.returncode != 0
    assert b'cowsnap: conflict: "two\\nlines \\xff": changed since the run' in refused.stderr
