"""Issue 14's last details: paths relative to the workspace in every command, renames
in --stat and the patch like git, log counting by effect."""

from __future__ import annotations

import os
from pathlib import Path

from click.testing import CliRunner, Result

from cowsnap.cli import main
from tests.conftest import Cowsnap


def invoke(cowsnap: Cowsnap, workspace: Path, *args: str) -> Result:
    """The CLI in-process, on `cowsnap`'s store, from `workspace`."""
    here = os.getcwd()
    os.chdir(workspace)
    try:
        return CliRunner().invoke(main, list(args), env=cowsnap.env(), catch_exceptions=False,
                                  prog_name="cowsnap")
    finally:
        os.chdir(here)


def test_restore_conflicts_name_paths_relative_to_the_workspace(
        cowsnap: Cowsnap, workspace: Path) -> None:
    (workspace / "sub").mkdir()
    cowsnap("run", "--", "sh", "-c", "echo one > sub/a.txt", cwd=workspace)
    (workspace / "sub" / "a.txt").write_text("changed since\n")
    result = invoke(cowsnap, workspace, "restore")
    assert result.exit_code != 0
    assert "cowsnap: conflict: sub/a.txt: " in result.output
    assert str(workspace) not in result.output


def test_versions_names_the_path_relative_to_the_workspace(
        cowsnap: Cowsnap, workspace: Path) -> None:
    (workspace / "sub").mkdir()
    cowsnap("run", "--versions", "*.txt", "--", "sh", "-c",
            "echo one > sub/a.txt; echo two >> sub/a.txt", cwd=workspace)
    result = invoke(cowsnap, workspace, "versions", "sub/a.txt")
    assert result.exit_code == 0, result.output
    assert " of sub/a.txt\n" in result.output
    assert str(workspace) not in result.output
