"""Issue 14's last details: paths relative to the workspace in every command, renames
in --stat and the patch like git, log counting by effect."""

from __future__ import annotations

import os
from pathlib import Path

from click.testing import CliRunner, Result

from cowsnap.cli import main
from cowsnap.cli.diffstat import rename_name
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


def test_a_recorded_rename_is_one_stat_line_and_a_patch_with_rename_headers(
        cowsnap: Cowsnap, workspace: Path) -> None:
    (workspace / "sub").mkdir()
    (workspace / "sub" / "a.txt").write_text("one\ntwo\n")
    (workspace / "c.txt").write_text("three\n")
    cowsnap("run", "--", "sh", "-c", "mv sub/a.txt sub/b.txt; mv c.txt sub/d.txt; "
            "echo four >> sub/d.txt", cwd=workspace)
    listed = invoke(cowsnap, workspace, "diff", "--name-status").output.splitlines()
    assert sorted(listed) == ["R\tc.txt\tsub/d.txt", "R\tsub/a.txt\tsub/b.txt"]
    stat = invoke(cowsnap, workspace, "diff", "--stat").output.splitlines()
    assert sorted(line.split("|")[0].strip() for line in stat[:-1]) == [
        "c.txt => sub/d.txt", "sub/{a.txt => b.txt}"]
    assert stat[-1] == " 2 files changed, 1 insertion(+), 0 deletions(-)"
    patch = invoke(cowsnap, workspace, "diff", "--no-pager").output
    assert "diff --git a/sub/a.txt b/sub/b.txt\nrename from sub/a.txt\nrename to sub/b.txt\n" \
        in patch
    assert "rename from c.txt\nrename to sub/d.txt\n" in patch
    assert "+four\n" in patch and "-one" not in patch


def test_stat_names_a_rename_as_git_does() -> None:
    assert rename_name("a.txt", "b.txt") == "a.txt => b.txt"
    assert rename_name("src/x/a.c", "src/x/b.c") == "src/x/{a.c => b.c}"
    assert rename_name("src/a.c", "lib/a.c") == "src/a.c => lib/a.c"
    assert rename_name("a/b", "a/b/c") == "a/{b => b/c}"
