"""Reading a run (issue 14): show's filters and header, cat, --name-status, usage errors,
the run summary, restore --json, a read-only check, the pager."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.cli.test_finding_runs import invoke
from tests.conftest import Cowsnap

SCRIPT = ("mkdir -p .git/objects && echo o > .git/objects/x; echo new > new.txt; "
          "echo changed >> kept.txt; rm gone.txt; ln -s kept.txt link; cat read.txt")


@pytest.fixture
def recorded(cowsnap: Cowsnap, workspace: Path) -> str:
    for name in ("kept.txt", "gone.txt", "read.txt"):
        (workspace / name).write_text(f"{name}\n")
    cowsnap("run", "--", "sh", "-c", SCRIPT, cwd=workspace)
    return str(json.loads(cowsnap("log", "--json", cwd=workspace).stdout)[0]["run_id"])


def listed(output: str) -> list[str]:
    """The path lines of `show`: status and name."""
    return [" ".join(line.split()[:2]) for line in output.splitlines()
            if line[:2] in ("+.", "-.", "c.", ".p", "..", "t.")]


def test_show_filters(cowsnap: Cowsnap, workspace: Path, recorded: str) -> None:
    deleted = invoke(cowsnap, workspace, "show", "--deleted").output
    assert listed(deleted) == ["-. gone.txt"]
    written = listed(invoke(cowsnap, workspace, "show", "--written", "--exclude", ".git/").output)
    assert written == ["c. kept.txt", "+. link", "+. new.txt"]
    assert "+. .git/objects/x" in listed(invoke(cowsnap, workspace, "show", "--changed").output)
    read = listed(invoke(cowsnap, workspace, "show", "--read", "*.txt").output)
    assert read == [".. read.txt"]
    globbed = invoke(cowsnap, workspace, "show", recorded, "*.txt", "--changed").output
    assert listed(globbed) == ["-. gone.txt", "c. kept.txt", "+. new.txt"]
    assert "3 paths listed: 1 created, 1 modified, 1 deleted, 0 read" in globbed


def test_run_summary_counts_what_show_lists(cowsnap: Cowsnap, workspace: Path) -> None:
    ran = cowsnap("run", "--", "sh", "-c", "echo t > tmp; rm tmp; echo x > out", cwd=workspace)
    assert "1 created, 0 modified, 0 deleted" in ran.stderr.decode()
    time_line = next(line for line in ran.stderr.decode().splitlines() if "time: " in line)
    assert " releasing " in time_line
    shown = invoke(cowsnap, workspace, "show", "--changed").output
    assert listed(shown) == ["+. out"]
    summary = re.search(r"\): 1 created, 0 modified, 0 deleted, (\d+) read;", ran.stderr.decode())
    footer = re.search(r"listed: 1 created, 0 modified, 0 deleted, (\d+) read\n\(and \d+ "
                       r"unchanged paths outside the workspace or only looked at, (\d+) of them "
                       r"read; --all lists them\)", invoke(cowsnap, workspace, "show").output)
    assert summary is not None and footer is not None
    assert int(summary.group(1)) == int(footer.group(1)) + int(footer.group(2)) > 0


def test_show_names_the_signal_and_failure_is_in_the_summary(cowsnap: Cowsnap,
                                                              workspace: Path) -> None:
    ran = cowsnap("run", "--", "sh", "-c", "kill -TERM $$", cwd=workspace, check=False)
    assert ran.returncode == 143
    assert "the command failed: exit status 143 (SIGTERM)" in ran.stderr.decode()
    assert "changed nothing in the workspace" in ran.stderr.decode()
    assert "undo it with" not in ran.stderr.decode()
    assert "exit:      143 (SIGTERM)" in invoke(cowsnap, workspace, "show").output


def test_cat(cowsnap: Cowsnap, workspace: Path, recorded: str) -> None:
    assert invoke(cowsnap, workspace, "cat", "link").stdout_bytes == b"kept.txt"
    assert invoke(cowsnap, workspace, "cat", "--before", "kept.txt").output == "kept.txt\n"
    both = invoke(cowsnap, workspace, "cat", "--before", "--after", "kept.txt")
    assert both.exit_code == 2
    assert both.output == ("cowsnap: error: --before and --after exclude each other "
                           "(try 'cowsnap cat --help')\n")
    unkept = invoke(cowsnap, workspace, "cat", "read.txt")
    assert unkept.exit_code == 1
    assert unkept.output == ("cowsnap: error: no after-content of read.txt: not kept: the run "
                             "only read it; to keep contents of files a run only reads: "
                             "cowsnap run --capture-reads all\n")
    gone = invoke(cowsnap, workspace, "cat", "gone.txt").output
    assert gone == "cowsnap: error: no after-content of gone.txt: it did not exist\n"
    untouched = invoke(cowsnap, workspace, "cat", "other.txt").output
    assert untouched == f"cowsnap: error: run {recorded} did not touch other.txt\n"


def test_cat_names_a_path_as_show_does(cowsnap: Cowsnap, workspace: Path) -> None:
    cowsnap("run", "--", sys.executable, "-c", "open(b'caf\\xe9', 'w')", cwd=workspace)
    assert ' "caf\\xe9"  [' in invoke(cowsnap, workspace, "show").output
    result = invoke(cowsnap, workspace, "cat", "--before", os.fsdecode(b"caf\xe9"))
    assert result.output == 'cowsnap: error: no before-content of "caf\\xe9": it did not exist\n'


def test_name_status_escapes_names_and_z_keeps_them_raw(cowsnap: Cowsnap,
                                                        workspace: Path) -> None:
    cowsnap("run", "--", sys.executable, "-c",
            "open(b'tab\\there', 'w'); open(b'caf\\xe9', 'w')", cwd=workspace)
    plain = invoke(cowsnap, workspace, "diff", "--name-status").stdout_bytes
    assert plain == b'A\t"caf\\xe9"\nA\t"tab\\there"\n'
    raw = invoke(cowsnap, workspace, "diff", "--name-status", "-z").stdout_bytes
    assert raw == b"A\0caf\xe9\0A\0tab\there\0"


def test_usage_errors_are_one_line(cowsnap: Cowsnap, workspace: Path) -> None:
    unknown = cowsnap("run", "--frobnicate", cwd=workspace, check=False)
    assert unknown.returncode == 2
    assert unknown.stderr == (b"cowsnap: error: No such option '--frobnicate' "
                              b"(try 'cowsnap run --help')\n")
    assert not (cowsnap.store / "runs").exists()
    assert invoke(cowsnap, workspace, "log", "-n", "x").output.count("\n") == 1
    missing = cowsnap("diff", "--version", cwd=workspace, check=False)
    assert missing.returncode == 2
    assert missing.stderr == (b"cowsnap: error: Option '--version' requires an argument "
                              b"(try 'cowsnap diff --help')\n")
    bare = cowsnap(cwd=workspace, check=False)
    assert bare.returncode == 2 and bare.stdout == b""
    assert bare.stderr.startswith(b"Usage: cowsnap [OPTIONS] COMMAND") and b"error" not in \
        bare.stderr


def test_log_n_0_prints_nothing(cowsnap: Cowsnap, workspace: Path, recorded: str) -> None:
    nothing = invoke(cowsnap, workspace, "log", "-n", "0")
    assert nothing.exit_code == 0 and nothing.output == ""


def test_output_is_checked_before_the_command_runs(cowsnap: Cowsnap, workspace: Path,
                                                   tmp_path: Path) -> None:
    taken = tmp_path / "taken"
    taken.mkdir()
    (taken / "file").write_text("x")
    result = cowsnap("run", "--output", str(taken), "--", "touch", "ran", cwd=workspace,
                     check=False)
    assert result.returncode == 2
    assert result.stderr == (f"cowsnap: error: --output {taken}: it exists and is not an "
                             f"empty directory (try 'cowsnap run --help')\n").encode()
    assert not (workspace / "ran").exists()


def test_restore_json_names_the_run_it_restored(cowsnap: Cowsnap, workspace: Path,
                                                recorded: str) -> None:
    result = invoke(cowsnap, workspace, "restore", "--json", "@", "new.txt")
    document = json.loads(result.stdout)
    assert result.exit_code == 0
    assert document["run_id"] == recorded and document["to"] == "before"
    assert {"action": "remove", "path": f"{workspace}/new.txt"} in document["steps"]
    undo = json.loads(invoke(cowsnap, workspace, "log", "--json", "-n", "1").output)[0]
    assert undo["run_id"] == document["undo_run"]
    assert undo["command"][:3] == ["cowsnap", "restore", recorded]


def test_check_changes_nothing_without_repair(cowsnap: Cowsnap, workspace: Path,
                                              recorded: str) -> None:
    leftover = cowsnap.store / "incomplete" / "20260101T000000Z-abcdef.1.1"
    leftover.mkdir()
    checked = invoke(cowsnap, workspace, "check")
    assert checked.exit_code == 0
    assert leftover.exists()
    invoke(cowsnap, workspace, "check", "--repair")
    assert not leftover.exists()


def test_diff_through_the_pager_shows_no_raw_escape_codes(cowsnap: Cowsnap, workspace: Path,
                                                          recorded: str) -> None:
    env = {**cowsnap.env(), "TERM": "xterm", "PAGER": "less", "COLUMNS": "80",
           "LINES": "200"}
    env.pop("LESS", None)
    env.pop("NO_COLOR", None)
    status, shown = cowsnap.on_terminal("diff", cwd=workspace, env=env)
    assert status == 0
    assert b"diff --git a/kept.txt b/kept.txt" in shown
    assert b"ESC" not in shown and b"^[" not in shown
    assert b"\x1b[32m+changed" in shown


def test_no_color_and_never(cowsnap: Cowsnap, workspace: Path, recorded: str) -> None:
    env = {**cowsnap.env(), "TERM": "xterm", "NO_COLOR": "1", "COWSNAP_PAGER": "cat"}
    _status, shown = cowsnap.on_terminal("diff", cwd=workspace, env=env)
    assert b"\x1b[" not in shown
    env.pop("NO_COLOR")
    _status, shown = cowsnap.on_terminal("show", "--color=never", cwd=workspace, env=env)
    assert b"\x1b[" not in shown and b"kept.txt" in shown
    _status, shown = cowsnap.on_terminal("show", cwd=workspace, env=env)
    assert b"\x1b[" in shown
    piped = invoke(cowsnap, workspace, "diff", "--color=always").stdout_bytes
    assert b"\x1b[32m+changed\x1b[m" in piped
    assert b"\x1b[" not in invoke(cowsnap, workspace, "diff").stdout_bytes


def test_completion_scripts(cowsnap: Cowsnap, workspace: Path, recorded: str) -> None:
    for shell in ("bash", "zsh", "fish"):
        script = invoke(cowsnap, workspace, "completion", shell)
        assert script.exit_code == 0 and "_COWSNAP_COMPLETE" in script.output
    env = {**cowsnap.env(), "_COWSNAP_COMPLETE": "bash_complete",
           "COMP_WORDS": "cowsnap show ", "COMP_CWORD": "2"}
    result = subprocess.run([sys.executable, "-m", "cowsnap"], cwd=workspace, env=env,
                            capture_output=True, check=False)
    assert result.stdout.decode().splitlines()[:2] == [f"plain,{recorded}", "file,"]
    cowsnap("run", "--", "sh", "-c", "true\ntrue", cwd=workspace)
    env.update({"_COWSNAP_COMPLETE": "zsh_complete", "COMP_WORDS": "cowsnap diff 2",
                "COMP_CWORD": "2"})
    zsh = subprocess.run([sys.executable, "-m", "cowsnap"], cwd=workspace, env=env,
                         capture_output=True, check=True).stdout.decode().splitlines()
    assert zsh[0] == "plain" and zsh[2] == "sh -c $'true\\ntrue'"
    assert zsh[3:5] == ["plain", recorded], "one item is three lines: type, value, help"


def test_show_hides_paths_only_looked_at_and_names_git_heads(cowsnap: Cowsnap,
                                                             workspace: Path) -> None:
    git = ["git", "-c", "user.email=t@example.com", "-c", "user.name=t"]
    subprocess.run(["git", "init", "-q", str(workspace)], check=True)
    (workspace / "a.txt").write_text("a\n")
    subprocess.run([*git, "-C", str(workspace), "add", "a.txt"], check=True)
    subprocess.run([*git, "-C", str(workspace), "commit", "-qm", "one"], check=True)
    before = subprocess.run(["git", "-C", str(workspace), "rev-parse", "HEAD"],
                            capture_output=True, text=True, check=True).stdout.strip()
    cowsnap("run", "--", "sh", "-c",
            "echo b >> a.txt; git -c user.email=t@example.com -c user.name=t commit -qam two",
            cwd=workspace)
    after = subprocess.run(["git", "-C", str(workspace), "rev-parse", "HEAD"],
                           capture_output=True, text=True, check=True).stdout.strip()
    shown = invoke(cowsnap, workspace, "show").output
    assert f"git:       {workspace} at {before} -> {after}" in shown
    assert "c. a.txt" in shown
    assert all("[existence]" not in line for line in shown.splitlines())
    assert "[existence]" in invoke(cowsnap, workspace, "show", "--all").output


def test_a_kept_snapshot_lives_as_long_as_its_run(
        cowsnap: Cowsnap, backend_workspace: tuple[str, Path]) -> None:
    backend, ext4_workspace = backend_workspace
    (ext4_workspace / "f").write_text("x\n")
    ran = cowsnap("run", "--backend", backend, "--keep-snapshot", "--", "sh", "-c", "echo y > f",
                  cwd=ext4_workspace)
    run_id = json.loads(cowsnap("log", "--json", cwd=ext4_workspace).stdout)[0]["run_id"]
    kept = Path(ran.stderr.decode().split("snapshot kept at ", 1)[1].split("\n", 1)[0])
    assert kept.name == f"kept-{backend}-{run_id}" and kept.is_dir()
    cowsnap("check", "--repair", cwd=ext4_workspace)
    cowsnap("prune", cwd=ext4_workspace)
    cowsnap("run", "--backend", backend, "--", "true", cwd=ext4_workspace)
    assert kept.is_dir(), "only forgetting or pruning its run removes a kept snapshot"
    status = json.loads(cowsnap("status", "--json", cwd=ext4_workspace).stdout)
    assert status["kept_snapshots"] == [{"run_id": run_id, "path": str(kept)}]
    assert f"snapshot:  {kept} (kept" in invoke(cowsnap, ext4_workspace, "show", run_id).output
    invoke(cowsnap, ext4_workspace, "forget", run_id)
    assert not kept.exists()
    cowsnap("run", "--backend", backend, "--keep-snapshot", "--", "true", cwd=ext4_workspace)
    (again,) = [path for path in kept.parent.iterdir() if path.name.startswith("kept-")]
    cowsnap("run", "--backend", backend, "--", "true", cwd=ext4_workspace)
    pruned = invoke(cowsnap, ext4_workspace, "prune", "--keep-last", "1").output
    assert f"removed a snapshot kept with a run removed: {again}\n" in pruned
    assert not again.exists()


def test_stat_fits_columns_in_a_pipe_as_git(cowsnap: Cowsnap, workspace: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    name = "a-rather-long-file-name-and-a-longer-one-still.txt"
    cowsnap("run", "--", "sh", "-c", f"seq 1 200 > {name}", cwd=workspace)
    wide = invoke(cowsnap, workspace, "diff", "--stat").output.splitlines()
    assert wide[0] == f" {name} | 200 " + "+" * (80 - len(name) - 8)
    monkeypatch.setenv("COLUMNS", "40")
    narrow = invoke(cowsnap, workspace, "diff", "--stat").output.splitlines()
    assert all(len(line) <= 40 for line in narrow[:-1]), narrow
    assert narrow[0].startswith(" ...") and narrow[0].endswith("+")


def test_the_pager_is_chosen_as_git_chooses_it(cowsnap: Cowsnap, workspace: Path,
                                               recorded: str, tmp_path: Path) -> None:
    pager = tmp_path / "pager"
    pager.write_text('#!/bin/sh\necho "paged by $1 with LESS=$LESS"; cat\n')
    pager.chmod(0o755)
    env = {**cowsnap.env(), "TERM": "xterm", "PAGER": f"{pager} PAGER"}
    env.pop("LESS", None)
    env.pop("COWSNAP_PAGER", None)
    for command in ("diff", "show", "log"):
        _status, shown = cowsnap.on_terminal(command, cwd=workspace, env=env)
        assert shown.startswith(b"paged by PAGER with LESS=FRX\r\n"), (command, shown)
    env.update({"COWSNAP_PAGER": f"{pager} COWSNAP_PAGER", "LESS": "S"})
    _status, shown = cowsnap.on_terminal("diff", cwd=workspace, env=env)
    assert shown.startswith(b"paged by COWSNAP_PAGER with LESS=S\r\n")
    _status, shown = cowsnap.on_terminal("diff", "--no-pager", cwd=workspace, env=env)
    assert b"paged by" not in shown and b"kept.txt" in shown
    assert b"paged by" not in invoke(cowsnap, workspace, "diff").stdout_bytes
