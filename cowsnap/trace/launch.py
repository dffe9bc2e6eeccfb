"""Starting the command stopped and filtered, and cowsnap's own signals while it runs.

The child resets signal dispositions, installs the seccomp filter (after
PR_SET_NO_NEW_PRIVS unless it is root) and stops itself; the parent seizes it
(PTRACE_SEIZE, so group-stops can be handled with PTRACE_LISTEN) and only then
lets it exec. An exec failure travels back through a close-on-exec pipe, so the
caller can tell "cannot execute" from a command that ran and failed.
"""

from __future__ import annotations

import contextlib
import errno
import os
import signal
import threading
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from types import FrameType
from typing import NamedTuple

from cowsnap.errors import CommandNotFoundError, TraceError
from cowsnap.trace import native
from cowsnap.trace.seccomp import build_filter

OPTIONS = (
    native.PTRACE_O_TRACESYSGOOD
    | native.PTRACE_O_TRACEFORK
    | native.PTRACE_O_TRACEVFORK
    | native.PTRACE_O_TRACECLONE
    | native.PTRACE_O_TRACEEXEC
    | native.PTRACE_O_TRACESECCOMP
    | native.PTRACE_O_EXITKILL
)

_PYTHONS_OWN = (signal.SIGPIPE, signal.SIGXFSZ)
"""Ignored by the Python runtime itself: the command gets them at their default."""
_INHERITED = (signal.SIGINT, signal.SIGQUIT, signal.SIGTSTP, signal.SIGTERM, signal.SIGHUP)
"""Handled by cowsnap while tracing: the command gets them as cowsnap got them
(ignored under nohup, say), else at their default."""
_WALL = 0x40000000
"""waitpid: wait for the child whether traced or not (__WALL)."""

_IGNORED_WHILE_TRACING = (signal.SIGINT, signal.SIGQUIT, signal.SIGTSTP)
_FORWARDED_TO_ROOT = (signal.SIGTERM, signal.SIGHUP)


def _display(name: bytes) -> str:
    return os.fsdecode(name)


Dispositions = dict[int, signal.Handlers]


def command_dispositions() -> Dispositions:
    """The signal dispositions the command must start with, read before tracing changes them."""
    dispositions: Dispositions = {number: signal.SIG_DFL for number in _PYTHONS_OWN}
    for number in _INHERITED:
        ignored = signal.getsignal(number) is signal.SIG_IGN
        dispositions[number] = signal.SIG_IGN if ignored else signal.SIG_DFL
    return dispositions


def find_executable(command: bytes, env: Mapping[bytes, bytes]) -> bytes:
    """The file execve should run for `command`, searched in PATH as execvp does."""
    if b"/" in command:
        return command
    search = env.get(b"PATH", os.defpath.encode())
    for directory in search.split(b":"):
        candidate = os.path.join(directory or b".", command)
        if os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            return candidate
    raise CommandNotFoundError(f"cannot execute '{_display(command)}': {os.strerror(errno.ENOENT)}")


class Child(NamedTuple):
    pid: int
    error_pipe: int


def _child(
    executable: bytes,
    argv: Sequence[bytes],
    env: Mapping[bytes, bytes],
    cwd: Path | None,
    seccomp: native.PreparedFilter,
    dispositions: Dispositions,
    error_pipe: int,
    parent: int,
) -> None:
    """Runs in the forked child; never returns. Until the parent has seized it, the
    child dies with the parent (PR_SET_PDEATHSIG): a cowsnap killed meanwhile must not
    leave it stopped forever, holding cowsnap's stdout and stderr open."""
    unprivileged = os.geteuid() != 0
    stage = b"chdir"
    try:
        native.set_parent_death_signal(signal.SIGKILL)
        if os.getppid() != parent:
            os._exit(127)
        for number, disposition in dispositions.items():
            signal.signal(number, disposition)
        if cwd is not None:
            os.chdir(cwd)
        stage = b"seccomp"
        native.install_seccomp_filter(seccomp, no_new_privs=unprivileged)
        os.kill(os.getpid(), signal.SIGSTOP)
        native.set_parent_death_signal(0)
        stage = b"exec"
        os.execve(executable, list(argv), env)
    except OSError as error:
        os.write(error_pipe, b"%s:%d" % (stage, error.errno or 0))
    finally:
        os._exit(127)


def start(
    argv: Sequence[bytes],
    env: Mapping[bytes, bytes],
    cwd: Path | None,
    seccomp: native.PreparedFilter,
    dispositions: Dispositions,
    options: int,
) -> Child:
    """Fork the command, seize it with `options`, and let it run into its first exec."""
    executable = find_executable(argv[0], env)
    read_end, write_end = os.pipe2(os.O_CLOEXEC)
    parent = os.getpid()
    pid = os.fork()
    if pid == 0:
        os.close(read_end)
        _child(executable, argv, env, cwd, seccomp, dispositions, write_end, parent)
    os.close(write_end)
    _, status = os.waitpid(pid, os.WUNTRACED)
    if not os.WIFSTOPPED(status):
        failure = child_failure(Child(pid, read_end), argv[0])
        os.close(read_end)
        raise failure or TraceError(f"cannot start '{_display(argv[0])}'")
    try:
        native.seize(pid, options)
    except OSError as error:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        os.close(read_end)
        raise TraceError(f"cannot trace '{_display(argv[0])}': {error}") from error
    os.kill(pid, signal.SIGCONT)
    return Child(pid, read_end)


def abandon(child: Child) -> None:
    """Kill and reap a started command nobody will follow (the tracer could not be set
    up): left stopped, it would hold its error pipe open, and cowsnap would wait on it
    for ever."""
    os.kill(child.pid, signal.SIGKILL)
    os.waitpid(child.pid, _WALL)


def child_failure(child: Child, command: bytes) -> CommandNotFoundError | TraceError | None:
    """The error the child reported before its exec, if it never got to run the command."""
    report = os.read(child.error_pipe, 64)
    if not report:
        return None
    stage, _, number = report.partition(b":")
    reason = os.strerror(int(number))
    if stage == b"exec":
        return CommandNotFoundError(f"cannot execute '{_display(command)}': {reason}")
    return TraceError(f"cannot start '{_display(command)}': {stage.decode()} failed: {reason}")


@contextlib.contextmanager
def command_started(
    argv: Sequence[str | bytes],
    cwd: Path | None,
    env: Mapping[str, str] | Mapping[bytes, bytes] | None,
    only_writes: bool,
    watch_closes: bool,
) -> Iterator[Child]:
    """The command forked, filtered and seized, with cowsnap's signals routed while the
    caller follows it; an exec failure is raised when the caller is done."""
    if not argv:
        raise TraceError("no command to trace")
    command = [os.fsencode(arg) for arg in argv]
    source = os.environb if env is None else env
    environment = {os.fsencode(k): os.fsencode(v) for k, v in source.items()}
    seccomp = native.PreparedFilter(build_filter(only_writes, watch_closes=watch_closes))
    dispositions = command_dispositions()
    with signals_routed() as targets:
        options = OPTIONS | (native.PTRACE_O_TRACEEXIT if watch_closes else 0)
        child = start(command, environment, cwd, seccomp, dispositions, options)
        targets.append(child.pid)
        try:
            yield child
        finally:
            failure = child_failure(child, command[0])
            os.close(child.error_pipe)
    if failure is not None:
        raise failure


@contextlib.contextmanager
def signals_routed() -> Iterator[list[int]]:
    """Ignore Ctrl-C, Ctrl-\\ and Ctrl-Z (the command gets them from the terminal) and
    forward SIGTERM/SIGHUP to the root process, whose pid the caller appends to the
    yielded list. (When the command stops, cowsnap follows: stop_with_the_command.)

    Dispositions are restored afterwards. Outside the main thread Python cannot
    change them, and they are left alone.
    """
    targets: list[int] = []
    if threading.current_thread() is not threading.main_thread():
        yield targets
        return

    def forward(number: int, _frame: FrameType | None) -> None:
        for pid in targets:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, number)

    handled = (*_IGNORED_WHILE_TRACING, *_FORWARDED_TO_ROOT)
    saved = {number: signal.getsignal(number) for number in handled}
    try:
        for number in _IGNORED_WHILE_TRACING:
            signal.signal(number, signal.SIG_IGN)
        for number in _FORWARDED_TO_ROOT:
            signal.signal(number, forward)
        yield targets
    finally:
        for number, handler in saved.items():
            signal.signal(number, handler)


def stop_with_the_command() -> None:
    """The root process stopped for job control (Ctrl-Z, a terminal read in the
    background...): stop cowsnap too when it is a job of an interactive shell, so the
    shell regains the terminal as it would without cowsnap; `fg`/`bg` continue both.
    (Not for SIGSTOP, which cowsnap itself uses to start the command.)"""
    if os.getpgrp() != os.getpid():
        return
    try:
        os.close(os.open("/dev/tty", os.O_RDONLY | os.O_NOCTTY | os.O_CLOEXEC))
    except OSError:
        return
    os.kill(os.getpid(), signal.SIGSTOP)
