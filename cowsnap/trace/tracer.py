"""The ptrace loop: one waitpid(-1, __WALL) for the whole tree, every stop handled and resumed.

python-ptrace supplies the ptrace calls (`requests.py`); the loop is our own because its
debugger polls with sleeps and knows neither seccomp stops nor PTRACE_SEIZE
group-stops. Stops are dispatched on their kind: seccomp (a traced syscall's
entry), syscall-exit (only requested when the result matters), fork/clone/exec
events, group-stops (PTRACE_LISTEN, so a stopped job stays stopped until
SIGCONT) and signal deliveries (always re-injected, never swallowed).
"""

from __future__ import annotations

import contextlib
import os
import signal
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TypeVar, cast

from cowsnap.errors import TraceError
from cowsnap.trace import launch, native, requests
from cowsnap.trace.decoder import Decoder, EventSink
from cowsnap.trace.events import Event, PathEvent, ProcessEvent, TraceWarning
from cowsnap.trace.fds import CloseHook
from cowsnap.trace.scope import HookScope
from cowsnap.trace.seccomp import AUDIT_ARCH_X86_64
from cowsnap.trace.state import FdTable, FsState, Task
from cowsnap.trace.syscalls import (
    CLONE_FILES,
    CLONE_FS,
    CLONE_THREAD,
    CLONE_VFORK,
    CLONE_VM,
    FORK_CALLS,
    I386_TABLE,
    X32_SYSCALL_BIT,
    X32_TABLE,
    X86_64_TABLE,
)

_WALL = 0x40000000
_SYSCALL_TRAP = signal.SIGTRAP | 0x80
_JOB_CONTROL_SIGNALS = frozenset({signal.SIGTSTP, signal.SIGTTIN, signal.SIGTTOU})
_STOP_SIGNALS = _JOB_CONTROL_SIGNALS | {signal.SIGSTOP}
_FORK_EVENTS = frozenset(
    {native.PTRACE_EVENT_FORK, native.PTRACE_EVENT_VFORK, native.PTRACE_EVENT_CLONE}
)
_VFORK_FLAGS = CLONE_VM | CLONE_VFORK
_RESTARTING = frozenset({-512, -513, -514, -516})
"""-ERESTARTSYS and kin: interrupted by a signal, the syscall will be entered (and
stopped at) again; its events wait for that run."""


def _parent_and_group(tid: int) -> tuple[int | None, int]:
    """PPid and Tgid from /proc/TID/status."""
    parent, group = None, tid
    try:
        with open(b"/proc/%d/status" % tid, "rb") as status:
            for line in status:
                if line.startswith(b"Tgid:"):
                    group = int(line.split()[1])
                elif line.startswith(b"PPid:"):
                    parent = int(line.split()[1])
    except OSError:
        pass
    return parent, group


class HookFailed(Exception):
    """A caller's callback raised: the tree is killed and the callback's error re-raised,
    unlike the tracer's own failures, which become warnings."""

    def __init__(self, error: BaseException) -> None:
        super().__init__(str(error))
        self.error = error


Hook = TypeVar("Hook", bound=Callable[..., None])


def _guarded(hook: Hook) -> Hook:
    def call(*args: object) -> None:
        try:
            hook(*args)
        except Exception as error:
            raise HookFailed(error) from error

    return cast(Hook, call)


def _exit_status(status: int) -> int:
    if os.WIFSIGNALED(status):
        return 128 + os.WTERMSIG(status)
    return os.WEXITSTATUS(status)


class Tracer:
    """Follows one process tree from its seized root until every traced thread is gone."""

    def __init__(self, root: int, emit: EventSink, decoder: Decoder) -> None:
        self.root = root
        self.root_status: int | None = None
        self.root_signal: int | None = None
        """The signal that killed the root, if one did (root_status is then 128+N)."""
        self._emit = emit
        self._decoder = decoder
        self.tasks: dict[int, Task] = {root: Task(root, root, FdTable(), FsState())}
        self._early: dict[int, int] = {}
        self._foreign_warned: set[int] = set()

    def run(self) -> int:
        self._emit(ProcessEvent("spawn", self.root, self.root))
        tasks = self.tasks
        while tasks or self._early:
            try:
                tid, status = os.waitpid(-1, _WALL)
            except ChildProcessError:
                break
            self._handle(tid, status)
        if self.root_status is None:
            raise TraceError("the traced command vanished without an exit status")
        return self.root_status

    def kill_all(self) -> None:
        """Kill and reap the whole tree (the caller's callback failed)."""
        for tid in list(self.tasks) + list(self._early):
            with contextlib.suppress(ProcessLookupError):
                os.kill(tid, signal.SIGKILL)
        while self.tasks:
            try:
                tid, _ = os.waitpid(-1, _WALL)
            except ChildProcessError:
                return
            self.tasks.pop(tid, None)

    def _handle(self, tid: int, status: int) -> None:
        task = self.tasks.get(tid)
        if not os.WIFSTOPPED(status):
            self._exited(tid, task, status)
            return
        if task is None:
            self._early[tid] = status
            return
        try:
            self._dispatch(task, status)
        except HookFailed:
            raise
        except native.TraceeGone:
            self._resume_anyway(task)
        except Exception as error:
            self._emit(
                TraceWarning(
                    task.tgid,
                    f"thread {tid}: a stop could not be followed ({error}); "
                    "paths its syscall touched may be missing",
                )
            )
            self._resume_anyway(task)

    def _resume_anyway(self, task: Task) -> None:
        """After a failure handling a stop: never leave the thread stopped (if it is
        gone, its exit report follows; if it was already resumed, this fails harmlessly)."""
        task.pending = None
        with contextlib.suppress(OSError, native.TraceeGone):
            requests.resume(task.tid)

    def _dispatch(self, task: Task, status: int) -> None:
        event = status >> 16
        if event == native.PTRACE_EVENT_SECCOMP:
            self._syscall_entry(task)
            return
        stop_signal = os.WSTOPSIG(status)
        if stop_signal == _SYSCALL_TRAP:
            self._syscall_exit(task)
        elif event == 0:
            self._resume(task, stop_signal)
        elif event in _FORK_EVENTS:
            self._spawned(task)
        elif event == native.PTRACE_EVENT_EXEC:
            self._executed(task)
        elif event == native.PTRACE_EVENT_EXIT:
            self._decoder.exiting(task, self.tasks.values())
            self._resume(task)
        elif event == native.PTRACE_EVENT_STOP and stop_signal in _STOP_SIGNALS:
            requests.listen(task.tid)
            if task.tid == self.root and stop_signal in _JOB_CONTROL_SIGNALS:
                launch.stop_with_the_command()
        else:
            self._resume(task)

    def _resume(self, task: Task, stop_signal: int = 0) -> None:
        if task.pending is None:
            requests.resume(task.tid, stop_signal)
        else:
            requests.resume_to_exit(task.tid, stop_signal)

    def _syscall_entry(self, task: Task) -> None:
        info = native.syscall_info(task.tid)
        number = info.nr
        if info.arch == AUDIT_ARCH_X86_64:
            if number & X32_SYSCALL_BIT:
                self._warn_foreign(task, "x32")
                spec = X32_TABLE.get(number & ~X32_SYSCALL_BIT)
            else:
                spec = X86_64_TABLE.get(number)
        elif info.arch == native.AUDIT_ARCH_I386:
            self._warn_foreign(task, "i386")
            spec = I386_TABLE.get(number)
        else:
            self._warn_foreign(task, f"unknown (audit arch {info.arch:#x})")
            spec = None
        if spec is not None:
            self._decoder.entry(task, spec, info.args)
        self._resume(task)

    def _warn_foreign(self, task: Task, abi: str) -> None:
        if task.tgid in self._foreign_warned:
            return
        self._foreign_warned.add(task.tgid)
        self._emit(
            TraceWarning(
                task.tgid,
                f"process {task.tgid} makes {abi} ABI syscalls; cowsnap decodes the file "
                "syscalls it knows of that ABI, others may touch paths it does not record",
            )
        )

    def _syscall_exit(self, task: Task) -> None:
        complete = task.pending
        task.pending = None
        if complete is not None:
            result = native.syscall_result(task.tid)
            if result not in _RESTARTING:
                complete(result)
        self._resume(task)

    def _clone_flags(self, tid: int) -> int:
        number, rdi, rbx = requests.clone_registers(tid)
        where = FORK_CALLS.get(number)
        if where == "register":
            return rdi
        if where == "struct":
            return int.from_bytes(native.read_memory(tid, rdi, 8), "little")
        if where == "i386_register":
            return rbx & 0xFFFFFFFF
        return _VFORK_FLAGS if where == "vfork" else 0

    def _spawned(self, task: Task) -> None:
        try:
            child_tid = requests.event_message(task.tid)
            flags = self._clone_flags(task.tid)
        except native.TraceeGone:
            self._adopt_orphans()
            raise
        child = Task(
            child_tid,
            task.tgid if flags & CLONE_THREAD else child_tid,
            task.files if flags & CLONE_FILES else task.files.copy(),
            task.fs if flags & CLONE_FS else task.fs.copy(),
        )
        self.tasks[child_tid] = child
        self._emit(ProcessEvent("spawn", child.tgid, child_tid, parent=task.tgid))
        early = self._early.pop(child_tid, None)
        if early is not None:
            self._handle(child_tid, early)
        self._resume(task)

    def _executed(self, task: Task) -> None:
        tid = task.tid
        former = requests.event_message(tid)
        if former != tid:
            moved = self.tasks.pop(former, None)
            if moved is not None:
                moved.tid = tid
                self.tasks[tid] = moved
                task = moved
        try:
            executable: bytes | None = os.readlink(b"/proc/%d/exe" % tid)
            open_fds = (
                {int(name) for name in os.listdir(b"/proc/%d/fd" % tid)}
                if task.files.entries
                else set()
            )
        except OSError:
            open_fds, executable = set(), None
        task.files = task.files.keep_only(open_fds)
        self._decoder.memory.forget(task.tgid)
        self._emit(ProcessEvent("exec", task.tgid, tid, path=task.exec_path or executable))
        self._decoder.exec_succeeded(task, executable)
        self._resume(task)

    def _exited(self, tid: int, task: Task | None, status: int) -> None:
        self._early.pop(tid, None)
        if task is None:
            return
        del self.tasks[tid]
        code = _exit_status(status)
        if tid == task.tgid:
            self._decoder.memory.forget(tid)
        self._emit(ProcessEvent("exit", task.tgid, tid, status=code))
        if tid == self.root:
            self.root_status = code
            self.root_signal = os.WTERMSIG(status) if os.WIFSIGNALED(status) else None
        if self._early:
            self._adopt_orphans()

    def _adopt_orphans(self) -> None:
        """Children stopped before their parent's fork event, whose parent died before
        reporting it: follow them with fresh state rather than leave them stopped."""
        known = {task.tgid for task in self.tasks.values()}
        for tid, status in list(self._early.items()):
            parent, tgid = _parent_and_group(tid)
            if tgid in known or parent in known:
                continue
            del self._early[tid]
            self.tasks[tid] = Task(tid, tgid, FdTable(), FsState())
            self._emit(ProcessEvent("spawn", tgid, tid, parent=parent))
            self._handle(tid, status)


def trace(
    argv: Sequence[str | bytes],
    *,
    on_event: Callable[[Event], None],
    cwd: Path | None = None,
    env: Mapping[str, str] | Mapping[bytes, bytes] | None = None,
    before_mutation: Callable[[PathEvent], None] | None = None,
    on_written_close: CloseHook | None = None,
    only_writes: bool = False,
    hook_scope: HookScope | None = None,
    on_root_signal: Callable[[int], None] | None = None,
) -> int:
    """Run `argv` traced by the Python tracer until its whole process tree is gone;
    return the root's exit status (128+N when signal N killed it, and then
    `on_root_signal(N)` is called). See docs/tracer.md."""
    on_event = _guarded(on_event)
    decoder = Decoder(
        on_event,
        None if before_mutation is None else _guarded(before_mutation),
        None if on_written_close is None else _guarded(on_written_close),
        hook_scope,
    )
    with launch.command_started(argv, cwd, env, only_writes, on_written_close is not None) as child:
        tracer = Tracer(child.pid, on_event, decoder)
        try:
            status = tracer.run()
        except HookFailed as failed:
            tracer.kill_all()
            raise failed.error from None
        except BaseException:
            tracer.kill_all()
            raise
        finally:
            decoder.memory.close()
    if tracer.root_signal is not None and on_root_signal is not None:
        on_root_signal(tracer.root_signal)
    return status
