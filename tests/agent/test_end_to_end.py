"""The rewritten command, run by a real shell as the agent runs it: same output, exit
status and directory afterwards, and the run recorded in the hook's session."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import Cowsnap

FIXTURES = Path(__file__).parent / "fixtures"


def rewritten(cowsnap: Cowsnap, workspace: Path, fixture: str, agent: str, command: str,
              **changes: str) -> str:
    payload = json.loads((FIXTURES / fixture).read_text())
    payload.update(changes, cwd=str(workspace))
    payload["tool_input"]["command"] = command
    result = subprocess.run([sys.executable, "-m", "cowsnap", "agent", "hook", "--agent", agent],
                            input=json.dumps(payload).encode(), cwd=workspace,
                            env=cowsnap.env(), capture_output=True, check=True)
    answer = json.loads(result.stdout)
    wrapped: str = answer["hookSpecificOutput"]["updatedInput"]["command"]
    return wrapped


def run_in_agent_shell(cowsnap: Cowsnap, workspace: Path, shell: str,
                       command: str) -> subprocess.CompletedProcess[bytes]:
    """As an agent does: the command in its shell, then (Claude Code) where it ended."""
    script = f"{command}\nstatus=$?\necho \"cwd=$PWD\"\nexit $status"
    env = {**cowsnap.env(), "SECRET_TOKEN": "kept"}
    return subprocess.run([shell, "-c", script], cwd=workspace, env=env, capture_output=True,
                          timeout=60)


@pytest.mark.parametrize("shell", ["bash", "sh"])
@pytest.mark.parametrize(("fixture", "agent"), [
    ("claude-code-pretooluse-bash.json", "claude-code"),
    ("codex-pretooluse-bash.json", "codex"),
])
def test_rewritten_command_behaves_like_the_original(cowsnap: Cowsnap, workspace: Path,
                                                     shell: str, fixture: str,
                                                     agent: str) -> None:
    (workspace / "keep.txt").write_text("precious\n")
    (workspace / "sub").mkdir()
    command = ("rm keep.txt && cd sub && echo made > new.txt && echo \"out $SECRET_TOKEN\" "
               "&& echo 'to err' >&2; exit 7")
    wrapped = rewritten(cowsnap, workspace, fixture, agent, command,
                        permission_mode="bypassPermissions")
    result = run_in_agent_shell(cowsnap, workspace, shell, wrapped)
    assert result.returncode == 7
    assert result.stdout.decode().splitlines() == ["out kept", f"cwd={workspace}/sub"]
    assert result.stderr == b"to err\n"
    assert (workspace / "sub" / "new.txt").read_text() == "made\n"
    assert not (workspace / "keep.txt").exists()
    session = json.loads((FIXTURES / fixture).read_text())["session_id"]
    runs = json.loads(cowsnap("log", "--json", "--session", session, cwd=workspace).stdout)
    assert len(runs) == 1
    assert runs[0]["command"][-1] == command
    assert runs[0]["exit_status"] == 7 and runs[0]["deleted"] == 1


def test_the_directory_is_unchanged_when_the_command_stays(cowsnap: Cowsnap,
                                                           workspace: Path) -> None:
    wrapped = rewritten(cowsnap, workspace, "codex-pretooluse-bash.json", "codex",
                        "touch here.txt")
    result = run_in_agent_shell(cowsnap, workspace, "bash", wrapped)
    assert result.returncode == 0
    assert result.stdout.decode().splitlines() == [f"cwd={workspace}"]
    assert (workspace / "here.txt").exists()


def test_when_cowsnap_cannot_record_the_command_still_runs_once(cowsnap: Cowsnap,
                                                               workspace: Path,
                                                               tmp_path: Path) -> None:
    wrapped = rewritten(cowsnap, workspace, "codex-pretooluse-bash.json", "codex",
                        "echo once >> count.txt; cd /; exit 3")
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("")
    env = {**cowsnap.env(), "COWSNAP_STORE": str(blocker / "store")}
    result = subprocess.run(["bash", "-c", f"{wrapped}\nstatus=$?\necho \"cwd=$PWD\"\n"
                                           "exit $status"],
                            cwd=workspace, env=env, capture_output=True, timeout=60)
    assert result.returncode == 3
    assert (workspace / "count.txt").read_text() == "once\n"
    assert b"cowsnap: warning: not recorded:" in result.stderr
    assert result.stdout.decode().splitlines() == ["cwd=/"]


def test_hook_is_fast_enough_to_run_before_every_command(cowsnap: Cowsnap,
                                                         workspace: Path) -> None:
    """Not a timing: the hook must not import the tracer, the store or the recorder."""
    code = ("import sys; sys.argv = ['cowsnap', 'agent', 'hook', '--agent', 'codex'];\n"
            "from cowsnap.cli import main\n"
            "try:\n    main()\n"
            "except SystemExit:\n    pass\n"
            "heavy = [m for m in sys.modules if m.startswith(('cowsnap.trace', "
            "'cowsnap.store', 'cowsnap.record', 'cowsnap.snapshot', 'pygit2', 'mcp'))]\n"
            "print(heavy, file=sys.stderr)")
    payload = (FIXTURES / "codex-pretooluse-bash.json").read_bytes()
    result = subprocess.run([sys.executable, "-c", code], input=payload, cwd=workspace,
                            env=cowsnap.env(), capture_output=True, check=True)
    assert result.stderr.decode().strip().splitlines()[-1] == "[]"


def test_parallel_commands_are_each_recorded(cowsnap: Cowsnap, workspace: Path) -> None:
    """An agent may run several Bash calls at once: each is its own run, with its status."""
    wrapped = [rewritten(cowsnap, workspace, "codex-pretooluse-bash.json", "codex",
                         f"sleep 0.2; echo {number} > out{number}.txt; exit {number}")
               for number in range(3)]
    processes = [subprocess.Popen(["bash", "-c", command], cwd=workspace, env=cowsnap.env())
                 for command in wrapped]
    assert [process.wait(timeout=120) for process in processes] == [0, 1, 2]
    runs = json.loads(cowsnap("log", "--json", cwd=workspace).stdout)
    assert sorted(run["exit_status"] for run in runs) == [0, 1, 2]
    assert {(workspace / f"out{number}.txt").read_text() for number in range(3)} == \
        {"0\n", "1\n", "2\n"}


TRICKY = [
    "printf '%s\\n' \"it's\" 'say \"hi\"' `echo back` $((6*7))",
    "cat <<'EOF' > here.txt\nline $HOME\nEOF\ncat here.txt",
    "for word in a b; do echo \"$word\"; done; false",
    "echo 'unbalanced quote",
    "set -- x y; echo \"$#\" \"$0\" >/dev/null; echo done; exit 300",
]


@pytest.mark.parametrize("command", TRICKY)
def test_tricky_commands_print_and_exit_as_bare(cowsnap: Cowsnap, workspace: Path,
                                                command: str) -> None:
    bare = subprocess.run(["bash", "-c", command], cwd=workspace, env=cowsnap.env(),
                          capture_output=True, timeout=60)
    for leftover in workspace.iterdir():
        leftover.unlink()
    wrapped = rewritten(cowsnap, workspace, "codex-pretooluse-bash.json", "codex", command)
    recorded = subprocess.run(["bash", "-c", wrapped], cwd=workspace, env=cowsnap.env(),
                              capture_output=True, timeout=60)
    assert (recorded.returncode, recorded.stdout) == (bare.returncode, bare.stdout)
    if b"unexpected EOF" in bare.stderr:
        assert b"unexpected EOF" in recorded.stderr, "a syntax error names another line"
    else:
        assert recorded.stderr == bare.stderr
