"""Issue 14's last details: paths relative to the workspace in every command, renames
in --stat and the patch like git, log counting by effect."""

from __future__ import annotations

import hashlib
import json
import os
import pty
import re
import subprocess
import sys
from pathlib import Path

import pytest

from cowsnap.cli.diffstat import rename_name
from cowsnap.errors import RemoteError
from cowsnap.remote.layout import parse_summary
from cowsnap.store.runs import CHECKSUMS, SUMMARY
from tests.conftest import Cowsnap, invoke


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


def _log_counts(cowsnap: Cowsnap, workspace: Path) -> str:
    result = invoke(cowsnap, workspace, "log", "--no-pager")
    assert result.exit_code == 0, result.output
    line = result.output.splitlines()[0]
    return " ".join(line.split("exit 0")[1].split("sh -c")[0].split())


def test_log_counts_paths_by_effect_like_show(cowsnap: Cowsnap, workspace: Path) -> None:
    (workspace / "old.txt").write_text("old\n")
    (workspace / "gone.txt").write_text("gone\n")
    ran = cowsnap("run", "--", "sh", "-c", "echo t > tmp.o; rm tmp.o; echo new > new.txt; "
                  "echo more >> old.txt; rm gone.txt; cat old.txt > /dev/null", cwd=workspace)
    summary = re.search(rb"\): (\d+) created, (\d+) modified, (\d+) deleted, (\d+) read;",
                        ran.stderr)
    assert summary is not None and summary.group(1, 2, 3) == (b"1", b"1", b"1")
    read = int(summary.group(4))
    assert read > 1  # old.txt and the shell's libraries
    assert _log_counts(cowsnap, workspace) == f"1 created 1 modified 1 deleted {read} read"
    everything = invoke(cowsnap, workspace, "show", "--all").output
    assert f"listed: 1 created, 1 modified, 1 deleted, {read} read" in everything


def test_a_summary_written_before_effects_were_counted_still_checks_and_lists(
        cowsnap: Cowsnap, workspace: Path) -> None:
    cowsnap("run", "--", "sh", "-c", "echo new > new.txt", cwd=workspace)
    (run,) = (cowsnap.store / "runs").iterdir()
    summary = json.loads((run / SUMMARY).read_bytes())
    del summary["effects"]
    raw = json.dumps(summary).encode()
    checksums = json.loads((run / CHECKSUMS).read_bytes())
    checksums[SUMMARY] = hashlib.sha256(raw).hexdigest()
    for target, data in ((run / SUMMARY, raw), (run / CHECKSUMS, json.dumps(checksums).encode())):
        os.chmod(target, 0o600)
        target.write_bytes(data)
    checked = invoke(cowsnap, workspace, "check")
    assert checked.exit_code == 0, checked.output
    listed = json.loads(invoke(cowsnap, workspace, "log", "--json").output)
    effects = listed[0]["effects"]
    assert effects == {"created": 1, "modified": 0, "deleted": 0, "read": effects["read"]}
    expected = f"1 created 0 modified 0 deleted {effects['read']} read"
    assert _log_counts(cowsnap, workspace) == expected
    summary["effects"] = {**effects, "created": 5}
    raw = json.dumps(summary).encode()
    checksums[SUMMARY] = hashlib.sha256(raw).hexdigest()
    (run / SUMMARY).write_bytes(raw)
    (run / CHECKSUMS).write_bytes(json.dumps(checksums).encode())
    assert invoke(cowsnap, workspace, "check").exit_code != 0


def test_a_remote_summary_with_effects_is_parsed_and_a_malformed_one_refused() -> None:
    fields = {"run_id": "r", "workspace": "/w", "command": ["true"], "exit_status": 0,
              "backend": "copy", "started_at": "t", "finished_at": "t", "files": 1,
              "written": 1, "deleted": 0, "read": 0}
    effects = {"created": 1, "modified": 0, "deleted": 0, "read": 0}
    assert parse_summary(json.dumps({**fields, "effects": effects}).encode(), "r").effects \
        == effects
    assert parse_summary(json.dumps(fields).encode(), "r").effects is None
    for bad in ({**effects, "read": "0"}, {**effects, "extra": 1}, [1, 0, 0, 0]):
        with pytest.raises(RemoteError, match="effects is malformed"):
            parse_summary(json.dumps({**fields, "effects": bad}).encode(), "r")


def _on_a_terminal(cowsnap: Cowsnap, workspace: Path, *args: str) -> bytes:
    """`cowsnap ARGS`'s output with a pseudo-terminal as its stdout."""
    leader, follower = pty.openpty()
    try:
        process = subprocess.Popen([sys.executable, "-m", "cowsnap", *args], cwd=workspace,
                                   env=cowsnap.env(), stdout=follower,
                                   stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
        os.close(follower)
        output = b""
        while chunk := _read(leader):
            output += chunk
        assert process.wait(timeout=60) == 0
    finally:
        os.close(leader)
    return output.replace(b"\r\n", b"\n")


def _read(fd: int) -> bytes:
    try:
        return os.read(fd, 65536)
    except OSError:  # EIO: the terminal's other side closed
        return b""


def test_show_lists_the_same_paths_on_a_terminal_and_in_a_pipe(
        cowsnap: Cowsnap, workspace: Path) -> None:
    (workspace / "input.txt").write_text("in\n")
    cowsnap("run", "--", "sh", "-c", "cat input.txt > output.txt", cwd=workspace)
    piped = cowsnap("show", cwd=workspace).stdout
    assert b" input.txt  [read]" in piped and b" output.txt  [" in piped
    assert _on_a_terminal(cowsnap, workspace, "show", "--no-pager", "--color=never") == piped
    changed = invoke(cowsnap, workspace, "show", "--changed").output
    assert " output.txt  [" in changed and " input.txt  [" not in changed
