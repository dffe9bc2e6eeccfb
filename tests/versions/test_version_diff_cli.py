"""`cowsnap diff PATH --version N` through the CLI."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from cowsnap.cli import main
from tests.versions.conftest import Runner

WRITER = """
for text in ("a\\nb\\n", "a\\nB\\nc\\n"):
    with open("notes.txt", "w") as handle:
        handle.write(text)
"""


def test_diff_of_one_version(run_versions: Runner, workspace: Path) -> None:
    run = run_versions(WRITER, ["notes.txt"])
    where = ["--store", str(run.store.root), "--workspace", str(workspace)]
    notes = str(workspace / "notes.txt")

    def diff(*args: str) -> bytes:
        result = CliRunner().invoke(main, ["diff", *where, *args])
        assert result.exit_code == 0, result.output
        return result.stdout_bytes

    second = diff(notes, "--version", "2")
    assert b"\n-b\n+B\n+c\n" in second
    assert b"+a\n" in diff(run.manifest.run_id, notes, "--version", "1")
    assert diff(notes, "--version", "2", "--name-status") == b"M\tnotes.txt\n"
    document = json.loads(diff(notes, "--version", "2", "--json"))
    assert [(item["additions"], item["deletions"]) for item in document["files"]] == [(2, 1)]

    wrong = CliRunner().invoke(main, ["diff", *where, "--version", "1"])
    assert wrong.exit_code == 2 and "exactly one PATH" in wrong.output
    missing = CliRunner().invoke(main, ["diff", *where, notes, "--version", "3"])
    assert missing.exit_code == 1 and "no version 3" in missing.output
