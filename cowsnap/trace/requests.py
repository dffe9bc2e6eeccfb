"""The ptrace requests only the Python tracer makes, through python-ptrace.

Loaded with `tracer.py` alone: the native core makes these in C, and a run on it
does not pay for importing python-ptrace (logging, subprocess and more).
"""

from __future__ import annotations

import ctypes

from ptrace.binding import func as ptrace_func
from ptrace.binding import ptrace_getregs
from ptrace.error import PtraceError

from cowsnap.trace.native import failed

PTRACE_SYSCALL = 24
PTRACE_CONT = 7
PTRACE_GETEVENTMSG = 0x4201
PTRACE_LISTEN = 0x4208


def ptrace(request: int, tid: int, address: int = 0, data: int = 0) -> int:
    """One ptrace request through python-ptrace, its failures raised as OSError or TraceeGone."""
    try:
        return int(ptrace_func.ptrace(request, tid, address, data))
    except PtraceError as error:
        raise failed(error.errno, str(error), tid) from None


def clone_registers(tid: int) -> tuple[int, int, int]:
    """(orig_rax, rdi, rbx) of a thread stopped at a fork event: the syscall and its flags."""
    try:
        regs = ptrace_getregs(tid)
    except PtraceError as error:
        raise failed(error.errno, str(error), tid) from None
    return int(regs.orig_rax), int(regs.rdi), int(regs.rbx)


def resume(tid: int, signal: int = 0) -> None:
    ptrace(PTRACE_CONT, tid, 0, signal)


def resume_to_exit(tid: int, signal: int = 0) -> None:
    """Continue, stopping again at the exit of the current syscall."""
    ptrace(PTRACE_SYSCALL, tid, 0, signal)


def listen(tid: int) -> None:
    """Leave a group-stopped tracee stopped, yet let it report SIGCONT (PTRACE_SEIZE only)."""
    ptrace(PTRACE_LISTEN, tid, 0, 0)


_event_message = ctypes.c_ulong()


def event_message(tid: int) -> int:
    ptrace(PTRACE_GETEVENTMSG, tid, 0, ctypes.addressof(_event_message))
    return _event_message.value
