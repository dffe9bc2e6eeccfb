"""Process trees under the tracer: forks, threads, execs, signals, stops, exit statuses."""

from __future__ import annotations

import errno
import os
import pty
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from trace_support import Runner, no_children_left, use_tracer

from cowsnap.errors import CommandNotFoundError, TraceError
from cowsnap.trace import fast, paths, trace
from cowsnap.trace.events import Event, PathEvent

pytestmark = pytest.mark.timeout(30)


@pytest.mark.parametrize(
    ("script", "status"), [("exit 0", 0), ("exit 7", 7), ("kill -KILL $$", 137)]
)
def test_exit_status_is_the_code_or_128_plus_the_signal(
    run: Runner, script: str, status: int
) -> None:
    traced = run(["sh", "-c", script])
    assert traced.status == status
    assert traced.processes("exit")[-1].status == status


def test_fork_vfork_and_posix_spawn_are_followed(ops: Runner) -> None:
    traced = ops("fork")
    assert traced.status == 0
    assert traced.touched() == [
        ("openat", "create", b"forked"),
        ("openat", "create", b"spawned"),
        ("utimensat", "metadata", b"spawned"),
    ]
    root = traced.processes("spawn")[0].pid
    children = traced.processes("spawn")[1:]
    assert len(children) == 3 and all(child.parent == root for child in children)
    assert [e.path for e in traced.processes("exec")][1:] == [b"/usr/bin/true", b"/usr/bin/touch"]


def test_threads_share_the_process_and_are_all_seen(ops: Runner) -> None:
    traced = ops("threads")
    assert traced.status == 0
    assert sorted(path for _, _, path in traced.touched()) == [b"t0", b"t1", b"t2", b"t3"]
    root = traced.processes("spawn")[0].pid
    assert {e.pid for e in traced.path_events() if e.path.endswith((b"/t0", b"/t3"))} == {root}
    assert len({e.tid for e in traced.processes("spawn")}) == 5


def test_exec_from_a_non_leader_thread(ops: Runner, ops_binary: Path, work: Path) -> None:
    traced = ops("thread-exec", str(ops_binary), "exit", str(work), "7")
    assert traced.status == 7
    execs = traced.processes("exec")
    assert len(execs) == 2 and execs[0].pid == execs[1].pid == execs[1].tid


def test_exec_chain_and_shebang_script(run: Runner, work: Path) -> None:
    script = work / "script"
    script.write_text("#!/bin/sh\nexec env true\n")
    script.chmod(0o755)
    traced = run([str(script)])
    assert traced.status == 0
    exec_paths = [e.path for e in traced.path_events() if e.operation.value == "exec"]
    interpreter = os.path.realpath("/bin/sh").encode()
    assert exec_paths == [bytes(script), interpreter, b"/usr/bin/env", b"/usr/bin/true"]


def test_failed_exec_is_an_existence_probe(run: Runner, work: Path) -> None:
    traced = run(["sh", "-c", f"{work}/missing; exit 3"])
    assert traced.status == 3
    assert ("execve", "existence", b"missing") in traced.touched()


def test_command_that_cannot_be_executed(work: Path) -> None:
    events: list[Event] = []
    with pytest.raises(CommandNotFoundError) as raised:
        trace(["cowsnap-no-such-command"], on_event=events.append)
    assert str(raised.value) == (
        "cannot execute 'cowsnap-no-such-command': No such file or directory"
    )
    assert raised.value.exit_code == 127
    (work / "plain").write_text("not a program")
    with pytest.raises(CommandNotFoundError, match="Permission denied"):
        trace([str(work / "plain")], on_event=events.append)
    assert no_children_left()


def test_a_process_that_stops_itself_stays_stopped_until_continued(ops: Runner) -> None:
    traced = ops("stop")
    assert traced.status == 0, "the parent saw its child stop, then resume only after SIGCONT"
    assert traced.touched()[-1] == ("openat", "create", b"resumed")


def test_a_daemon_that_outlives_the_root_is_waited_for(ops: Runner) -> None:
    traced = ops("daemon")
    assert traced.status == 0
    assert traced.touched() == [("openat", "create", b"daemon")]
    root = traced.processes("spawn")[0].pid
    exits = traced.processes("exit")
    assert exits[-1].pid != root
    assert no_children_left()


def test_signals_reach_the_tracee(ops: Runner) -> None:
    assert ops("sigint").status == 128 + signal.SIGINT


def test_ctrl_c_at_cowsnap_is_ignored_and_handlers_restored(run: Runner) -> None:
    before = signal.getsignal(signal.SIGINT)
    traced = run(["sh", "-c", "kill -INT $PPID; kill -QUIT $PPID; exit 5"])
    assert traced.status == 5
    assert signal.getsignal(signal.SIGINT) is before


def test_sigterm_to_cowsnap_is_forwarded_to_the_command(run: Runner) -> None:
    traced = run(["sh", "-c", "kill -TERM $PPID; sleep 10"])
    assert traced.status == 128 + signal.SIGTERM


def test_a_thousand_short_lived_processes(run: Runner, ops_binary: Path, work: Path) -> None:
    traced = run([str(ops_binary), "many", str(work), "1000"])
    assert traced.status == 0
    created = {path for _, op, path in traced.touched() if op == "create"}
    assert created == {b"p%d" % i for i in range(1000)}
    assert len(traced.processes("exit")) == 1001


def test_a_thousand_execs_from_a_shell_loop(run: Runner) -> None:
    traced = run(["sh", "-c", "i=0; while [ $i -lt 1000 ]; do /bin/true; i=$((i+1)); done"])
    assert traced.status == 0
    assert len(traced.processes("exec")) == 1001


def test_a_failing_callback_kills_the_tree(work: Path) -> None:
    """The command never ends by itself, and keeps making events: pinned to one CPU the
    native core hands `boom`'s event over only when its batch is full (docs/tracer.md),
    so a command that went to sleep after it was still asleep when the test timed out."""
    def explode(event: Event) -> None:
        if isinstance(event, PathEvent) and event.path.endswith(b"/boom"):
            raise RuntimeError("callback failed")

    with pytest.raises(RuntimeError):
        trace(["sh", "-c", f"touch {work}/boom; while :; do : > {work}/tick; done"],
              on_event=explode)
    assert no_children_left()


def test_a_failing_callback_of_another_kind_kills_the_tree_too(work: Path) -> None:
    """An OSError from the caller's hook is the caller's, not a tracer failure to warn of."""

    def refuse(event: PathEvent) -> None:
        if event.path.endswith(b"/boom"):
            raise PermissionError("hook refused")

    with pytest.raises(PermissionError, match="hook refused"):
        trace(["sh", "-c", f"touch {work}/boom; sleep 30"], on_event=lambda e: None,
              before_mutation=refuse)
    assert no_children_left()


def test_a_stop_the_tracer_cannot_handle_is_resumed_and_warned_of(
    run: Runner, work: Path, monkeypatch: pytest.MonkeyPatch, tracer: str
) -> None:
    """The native core's own failures cannot be provoked from here; its deep-cwd case
    (once a hang) is in test_syscalls."""
    if tracer != "python":
        pytest.skip("a fault injected into the Python tracer's resolver")
    def broken(*args: object) -> None:
        raise OSError(errno.EIO, "resolution failed")

    monkeypatch.setattr(paths.Resolver, "resolve", broken)
    traced = run(["sh", "-c", f"echo x > {work}/f; cat {work}/f; exit 4"])
    assert traced.status == 4
    assert (work / "f").read_text() == "x\n"
    assert traced.warnings()
    assert all("resolution failed" in warning.message for warning in traced.warnings())


def test_python_fixture_is_traced(run: Runner, work: Path) -> None:
    code = f"open({str(work / 'py')!r}, 'w').write('x')"
    traced = run([sys.executable, "-c", code])
    assert traced.status == 0
    assert ("openat", "create", b"py") in traced.touched()


def test_root_traces_without_no_new_privs(run: Runner, root_required: None) -> None:
    """So that setuid programs (sudo, su) behave under cowsnap as they do outside it."""
    traced = run(["awk", "/NoNewPrivs/ { exit $2 + 10 }", "/proc/self/status"])
    assert traced.status == 10


def test_if_cowsnap_dies_the_traced_tree_dies_with_it(work: Path) -> None:
    pid_file = work / "pid"
    program = (
        "from cowsnap.trace import trace; "
        f"trace(['sh', '-c', 'echo $$ > {pid_file}; exec sleep 60'], on_event=lambda e: None)"
    )
    tracer = subprocess.Popen([sys.executable, "-c", program])
    try:
        deadline = time.monotonic() + 20
        while not (pid_file.exists() and pid_file.read_text().strip()):
            assert time.monotonic() < deadline, "the traced command never started"
            time.sleep(0.02)
        traced_pid = int(pid_file.read_text())
        tracer.kill()
    finally:
        tracer.wait(timeout=10)
    deadline = time.monotonic() + 10
    while _running_sleep(traced_pid):
        assert time.monotonic() < deadline, "the traced command outlived its tracer"
        time.sleep(0.02)


def _running_sleep(pid: int) -> bool:
    """Whether `pid` is still a live (not zombie) sleep."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    name, _, rest = stat.partition(") ")
    return name.endswith("(sleep") and not rest.startswith("Z")


def test_tracees_killed_at_any_moment_do_not_derail_the_tracer(run: Runner, work: Path) -> None:
    script = (
        f"cd {work}; i=0; while [ $i -lt 100 ]; do "
        "(touch a$i; ls >/dev/null; touch b$i) & kill -KILL $! 2>/dev/null; i=$((i+1)); "
        "done; wait; touch done"
    )
    traced = run(["sh", "-c", script])
    assert traced.status == 0
    # Not necessarily the last: a subshell killed after forking `touch a$i` leaves that
    # touch running, orphaned, and it may touch its file after `done`.
    assert ("utimensat", "metadata", b"done") in traced.touched()
    assert no_children_left()


def test_the_tracer_leaks_no_file_descriptors(ops: Runner) -> None:
    before = sorted(os.listdir("/proc/self/fd"))
    assert ops("many", "50").status == 0
    assert ops("thread-exec", "/bin/true").status == 0
    assert sorted(os.listdir("/proc/self/fd")) == before


def test_a_missing_working_directory_is_reported(work: Path) -> None:
    with pytest.raises(TraceError, match="chdir failed: No such file or directory"):
        trace(["true"], cwd=work / "missing", on_event=lambda event: None)
    assert no_children_left()


def test_the_command_inherits_ignored_signals_and_defaults_otherwise(run: Runner) -> None:
    """Under nohup (SIGHUP ignored) the command must ignore it too; Python's own
    SIGPIPE ignore must not leak into it."""
    check = "kill -HUP $$; trap '' USR1; kill -PIPE $$; exit 9"
    saved = signal.signal(signal.SIGHUP, signal.SIG_IGN)
    try:
        ignored = run(["sh", "-c", check])
        signal.signal(signal.SIGHUP, signal.SIG_DFL)
        defaulted = run(["sh", "-c", check])
    finally:
        signal.signal(signal.SIGHUP, saved)
    assert ignored.status == 128 + signal.SIGPIPE
    assert defaulted.status == 128 + signal.SIGHUP


JOB_CONTROL_SHELL = """
import os, signal, sys
job = os.fork()
if job == 0:
    os.setpgid(0, 0)
    signal.signal(signal.SIGTTOU, signal.SIG_IGN)
    os.tcsetpgrp(0, os.getpgrp())
    signal.signal(signal.SIGTTOU, signal.SIG_DFL)
    from cowsnap.trace import paths, trace
    script = "kill -TSTP $$; echo resumed > " + sys.argv[1]
    os._exit(trace(["sh", "-c", script], on_event=lambda event: None))
os.setpgid(job, job)
_, status = os.waitpid(job, os.WUNTRACED)
stopped, early = os.WIFSTOPPED(status), os.path.exists(sys.argv[1])
os.killpg(job, signal.SIGCONT)
_, status = os.waitpid(job, 0)
print("job", stopped, early, os.waitstatus_to_exitcode(status))
"""


@pytest.mark.parametrize("one_cpu", [False, True], ids=["spread", "one-cpu"])
def test_ctrl_z_stops_cowsnap_with_its_command_and_fg_resumes_both(
    work: Path, one_cpu: bool
) -> None:
    """A miniature interactive shell on a pty runs cowsnap as a job whose command
    stops itself with SIGTSTP, as Ctrl-Z would. On one CPU the native core hands its
    batches to Python only when they are full, or at such a stop."""
    marker = work / "resumed"
    pid, terminal = pty.fork()
    if pid == 0:
        if one_cpu:
            os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
        os.execv(sys.executable, [sys.executable, "-c", JOB_CONTROL_SHELL, str(marker)])
    output = b""
    deadline = time.monotonic() + 20
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([terminal], [], [], 0.1)
            if not ready:
                continue
            try:
                chunk = os.read(terminal, 1024)
            except OSError:
                break
            if not chunk:
                break
            output += chunk
    finally:
        if time.monotonic() >= deadline:
            os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        os.close(terminal)
    assert output.split()[-4:] == [b"job", b"True", b"False", b"0"], output
    assert marker.read_text() == "resumed\n"


class TestTheNativeCore:
    @pytest.fixture
    def tracer(self, monkeypatch: pytest.MonkeyPatch) -> str:
        return use_tracer("native", monkeypatch)

    def test_a_core_that_cannot_be_set_up_leaves_no_stopped_command(
        self, work: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """The command is started and seized before the core exists: it was left stopped,
        and cowsnap waited on its error pipe for ever."""


        class Unbuildable:
            def __init__(self, *args: object) -> None:
                raise MemoryError

        monkeypatch.setattr(fast._core, "Core", Unbuildable)
        with pytest.raises(MemoryError):
            trace(["sh", "-c", f"touch {work}/never"], on_event=lambda event: None)
        assert no_children_left()
        assert not (work / "never").exists()
