"""`cowsnap sh -c CMD` behaves like `sh -c CMD` and records the run."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import Cowsnap


def both(cowsnap: Cowsnap, workspace: Path, *args: str,
         stdin: bytes = b"") -> tuple[subprocess.CompletedProcess[bytes],
                                      subprocess.CompletedProcess[bytes]]:
    """(`sh ARGS`, `cowsnap sh ARGS`), run the same way."""
    plain = subprocess.run(["/bin/sh", *args], cwd=workspace, input=stdin, capture_output=True,
                           env=cowsnap.env(), timeout=60)
    recorded = subprocess.run([sys.executable, "-m", "cowsnap", "sh", *args], cwd=workspace,
                              input=stdin, capture_output=True, env=cowsnap.env(), timeout=60)
    return plain, recorded


def test_same_status_and_stdio_as_sh(cowsnap: Cowsnap, workspace: Path) -> None:
    script = 'read line; echo "got $line as $0 with $1 $2"; echo oops >&2; exit 42'
    plain, recorded = both(cowsnap, workspace, "-c", script, "name", "one", "two",
                           stdin=b"input\n")
    assert plain.returncode == recorded.returncode == 42
    assert plain.stdout == recorded.stdout == b"got input as name with one two\n"
    assert plain.stderr == recorded.stderr == b"oops\n"


def test_a_command_killed_by_a_signal_gives_the_status_sh_reports(cowsnap: Cowsnap,
                                                                   workspace: Path) -> None:
    plain, recorded = both(cowsnap, workspace, "-c", "sh -c 'kill -TERM $$'; echo $?")
    assert plain.stdout == recorded.stdout == b"143\n"
    assert recorded.returncode == 0


@pytest.mark.parametrize("arguments", [
    ["-c", "echo before; kill -TERM $$; echo after"],
    ["-c", "kill -KILL $$"],
    ["-c", "kill -PIPE $$"],
    ["-c", "exec sh -c 'kill -INT $$'"],
    ["script.sh"],
])
def test_a_shell_killed_by_a_signal_kills_cowsnap_sh_with_it(cowsnap: Cowsnap, workspace: Path,
                                                              arguments: list[str]) -> None:
    """The caller sees the wait status sh gives: killed by the signal, not exit 128+N."""
    (workspace / "script.sh").write_text("echo in script; kill -HUP $$\n")
    plain, recorded = both(cowsnap, workspace, *arguments)
    assert plain.returncode < 0
    assert recorded.returncode == plain.returncode
    assert recorded.stdout == plain.stdout
    assert len(json.loads(cowsnap("log", "--json", cwd=workspace).stdout)) == 1


def test_exit_128_plus_n_is_an_exit_not_a_signal(cowsnap: Cowsnap, workspace: Path) -> None:
    plain, recorded = both(cowsnap, workspace, "-c", "exit 143")
    assert plain.returncode == recorded.returncode == 143


def test_unrecorded_the_shell_still_dies_of_its_signal(cowsnap: Cowsnap, workspace: Path,
                                                       tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("")
    env = {**cowsnap.env(), "COWSNAP_STORE": str(blocker / "store")}
    result = subprocess.run([sys.executable, "-m", "cowsnap", "sh", "-c",
                             "echo ran >> ran.txt; kill -TERM $$"],
                            cwd=workspace, env=env, capture_output=True, timeout=60)
    assert result.returncode == -signal.SIGTERM
    assert b"cowsnap: warning: not recorded:" in result.stderr
    assert (workspace / "ran.txt").read_text() == "ran\n"


def test_the_run_is_recorded_in_the_session(cowsnap: Cowsnap, workspace: Path) -> None:
    (workspace / "victim.txt").write_text("x")
    env = {**cowsnap.env(), "COWSNAP_SESSION": "s-1"}
    subprocess.run([sys.executable, "-m", "cowsnap", "sh", "-c", "rm victim.txt"],
                   cwd=workspace, env=env, check=True, capture_output=True)
    runs = json.loads(cowsnap("log", "--json", "--session", "s-1", cwd=workspace).stdout)
    assert [run["command"] for run in runs] == [["/bin/sh", "-c", "rm victim.txt"]]
    assert runs[0]["session"] == "s-1" and runs[0]["deleted"] == 1
    assert json.loads(cowsnap("log", "--json", "--session", "other", cwd=workspace).stdout) == []


def test_the_cowsnap_sh_script_is_one_executable(cowsnap: Cowsnap, workspace: Path) -> None:
    script = shutil.which("cowsnap-sh", path=str(Path(sys.executable).parent))
    assert script is not None
    result = subprocess.run([script, "-c", "echo hi > made.txt; exit 5"], cwd=workspace,
                            env=cowsnap.env(), capture_output=True, timeout=60)
    assert result.returncode == 5 and result.stderr == b""
    assert (workspace / "made.txt").read_text() == "hi\n"
    assert len(json.loads(cowsnap("log", "--json", cwd=workspace).stdout)) == 1


def test_show_names_the_session(cowsnap: Cowsnap, workspace: Path) -> None:
    env = {**cowsnap.env(), "COWSNAP_SESSION": "s-2"}
    subprocess.run([sys.executable, "-m", "cowsnap", "sh", "-c", "touch x"], cwd=workspace,
                   env=env, check=True, capture_output=True)
    assert "session:   s-2" in cowsnap("show", cwd=workspace).stdout.decode().splitlines()


CROWDED = """
import os, sys
from pathlib import Path
from cowsnap import api

workspace, store = Path(sys.argv[1]), Path(sys.argv[2])
held = []
while (number := os.open(os.devnull, os.O_RDONLY)) <= 9:
    held.append(number)
os.close(number)
os.close(held.pop())
moved = api.run_shell("/bin/sh", "cd sub; echo x >> log", store=store, workspace=workspace,
                      cwd=workspace, track_cwd=True)
held.append(os.open(os.devnull, os.O_RDONLY))
crowded = api.run_shell("/bin/sh", "echo y >> sub/log", store=store, workspace=workspace,
                        cwd=workspace, track_cwd=True)
print(moved.exit_code, moved.run_id is not None, moved.final_cwd)
print(crowded.exit_code, crowded.run_id is not None, crowded.final_cwd)
"""


def test_dash_reads_the_report_pipe_whatever_fds_are_open(cowsnap: Cowsnap,
                                                          workspace: Path) -> None:
    """dash takes only one-digit fds in `>&N`: the pipe goes on a free one, or (none
    free) the shell reports nothing and the command still runs once."""
    (workspace / "sub").mkdir()
    result = subprocess.run([sys.executable, "-c", CROWDED, str(workspace), str(cowsnap.store)],
                            env=cowsnap.env(), capture_output=True, check=True, timeout=60)
    assert result.stdout.decode().splitlines() == [f"0 True {workspace}/sub", "0 True None"]
    assert (workspace / "sub" / "log").read_text() == "x\ny\n"


def test_the_python_tracer_reports_the_signal_too(cowsnap: Cowsnap, workspace: Path) -> None:
    env = {**cowsnap.env(), "COWSNAP_TRACER": "python"}
    result = subprocess.run([sys.executable, "-m", "cowsnap", "sh", "-c", "kill -USR1 $$"],
                            cwd=workspace, env=env, capture_output=True, timeout=60)
    assert result.returncode == -signal.SIGUSR1
    assert json.loads(cowsnap("show", "--json", cwd=workspace).stdout)["exit_status"] == 138
