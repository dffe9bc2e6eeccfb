"""The kernel interfaces python-ptrace lacks, reached through ctypes.

PTRACE_SEIZE and PTRACE_GET_SYSCALL_INFO (one call yields the syscall number,
arguments, architecture and seccomp data, instead of a full register dump),
process_vm_readv (a path in one copy instead of word by word), and the prctl
calls that install a seccomp filter. Both tracers start their command with
these; the requests only the Python tracer makes, through python-ptrace, are in
`requests.py`, so the native core never loads python-ptrace.
"""

from __future__ import annotations

import ctypes
import errno
import os
from collections.abc import Sequence

from cowsnap.paths import PATH_MAX

PTRACE_SEIZE = 0x4206
PTRACE_GET_SYSCALL_INFO = 0x420E

PTRACE_O_TRACESYSGOOD = 0x1
PTRACE_O_TRACEFORK = 0x2
PTRACE_O_TRACEVFORK = 0x4
PTRACE_O_TRACECLONE = 0x8
PTRACE_O_TRACEEXEC = 0x10
PTRACE_O_TRACEEXIT = 0x40
PTRACE_O_TRACESECCOMP = 0x80
PTRACE_O_EXITKILL = 0x100000

PTRACE_EVENT_FORK = 1
PTRACE_EVENT_VFORK = 2
PTRACE_EVENT_CLONE = 3
PTRACE_EVENT_EXEC = 4
PTRACE_EVENT_EXIT = 6
PTRACE_EVENT_SECCOMP = 7
PTRACE_EVENT_STOP = 128

AUDIT_ARCH_I386 = 0x40000003

PR_SET_PDEATHSIG = 1
PR_SET_NO_NEW_PRIVS = 38
PR_SET_SECCOMP = 22
SECCOMP_MODE_FILTER = 2

_libc = ctypes.CDLL(None, use_errno=True)


class _IoVec(ctypes.Structure):
    _fields_ = (("base", ctypes.c_void_p), ("length", ctypes.c_size_t))


class _SockFilter(ctypes.Structure):
    _fields_ = (
        ("code", ctypes.c_uint16),
        ("jt", ctypes.c_uint8),
        ("jf", ctypes.c_uint8),
        ("k", ctypes.c_uint32),
    )


class _SockFprog(ctypes.Structure):
    _fields_ = (("length", ctypes.c_uint16), ("filter", ctypes.POINTER(_SockFilter)))


_process_vm_readv = _libc.process_vm_readv
_process_vm_readv.argtypes = (
    ctypes.c_int,
    ctypes.POINTER(_IoVec),
    ctypes.c_ulong,
    ctypes.POINTER(_IoVec),
    ctypes.c_ulong,
    ctypes.c_ulong,
)
_process_vm_readv.restype = ctypes.c_ssize_t

_prctl = _libc.prctl
_prctl.argtypes = (ctypes.c_int, ctypes.c_ulong, ctypes.c_void_p, ctypes.c_ulong, ctypes.c_ulong)
_prctl.restype = ctypes.c_int

PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")


class TraceeGone(Exception):
    """The thread died under us (SIGKILL strikes even a stopped tracee); its exit report follows."""


def failed(error_number: int | None, message: str, tid: int) -> Exception:
    """A failed ptrace request as raised: TraceeGone when the thread is gone, else OSError."""
    if error_number == errno.ESRCH:
        return TraceeGone(tid)
    return OSError(error_number, message)


class SyscallInfo(ctypes.Structure):
    """struct ptrace_syscall_info, with its union flattened to the seccomp/entry layout."""

    _fields_ = (
        ("op", ctypes.c_uint8),
        ("pad", ctypes.c_uint8 * 3),
        ("arch", ctypes.c_uint32),
        ("instruction_pointer", ctypes.c_uint64),
        ("stack_pointer", ctypes.c_uint64),
        ("nr", ctypes.c_uint64),
        ("args", ctypes.c_uint64 * 6),
        ("ret_data", ctypes.c_uint32),
        ("tail", ctypes.c_uint32),
    )


_info = SyscallInfo()
_info_address = ctypes.addressof(_info)
_info_size = ctypes.sizeof(_info)
_raw_ptrace = _libc.ptrace
_raw_ptrace.argtypes = (ctypes.c_long, ctypes.c_long, ctypes.c_ulong, ctypes.c_ulong)
_raw_ptrace.restype = ctypes.c_long


def syscall_info(tid: int) -> SyscallInfo:
    """The stopped tracee's syscall; a shared buffer, valid until the next call.

    python-ptrace has no PTRACE_GET_SYSCALL_INFO, and this is the hottest call
    of all (once per stop), so it goes straight to libc.
    """
    if _raw_ptrace(PTRACE_GET_SYSCALL_INFO, tid, _info_size, _info_address) < 0:
        error = ctypes.get_errno()
        raise failed(error, os.strerror(error), tid)
    return _info


def seize(tid: int, options: int) -> None:
    """Attach to `tid` with `options`, without stopping it (group-stops then report as
    PTRACE_EVENT_STOP and can be left with PTRACE_LISTEN)."""
    if _raw_ptrace(PTRACE_SEIZE, tid, 0, options) < 0:
        error = ctypes.get_errno()
        raise failed(error, os.strerror(error), tid)


def syscall_result(tid: int) -> int:
    """The return value at a syscall-exit stop (negative errno on failure)."""
    return ctypes.c_int64(syscall_info(tid).nr).value


_read_buffer = ctypes.create_string_buffer(PATH_MAX + 1)
_local = _IoVec(ctypes.cast(_read_buffer, ctypes.c_void_p), 0)
_remote = _IoVec(None, 0)
_local_ref = ctypes.byref(_local)
_remote_ref = ctypes.byref(_remote)


def read_memory(tid: int, address: int, length: int) -> bytes:
    """Up to `length` (<= PATH_MAX + 1) bytes of the tracee's memory; short if unmapped."""
    _local.length = length
    _remote.base = address
    _remote.length = length
    count = _process_vm_readv(tid, _local_ref, 1, _remote_ref, 1, 0)
    if count <= 0:
        return b""
    return ctypes.string_at(_read_buffer, count)


FIRST_CHUNK = 256
"""Most paths are short: read this much first, then whole pages."""


def read_string(tid: int, address: int) -> bytes | None:
    """The NUL-terminated string at `address`, never reading across into an unmapped
    page; None if unreadable."""
    if address == 0:
        return None
    collected = b""
    chunk_limit = FIRST_CHUNK
    while len(collected) <= PATH_MAX:
        chunk_length = min(PAGE_SIZE - (address % PAGE_SIZE), chunk_limit)
        chunk_limit = PATH_MAX + 1
        chunk = read_memory(tid, address, chunk_length)
        end = chunk.find(b"\0")
        if end >= 0:
            return collected + chunk[:end]
        if len(chunk) < chunk_length:
            return None
        collected += chunk
        address += chunk_length
    return collected


class PreparedFilter:
    """A seccomp program built in the parent, so the forked child only makes two prctl calls."""

    def __init__(self, program: Sequence[tuple[int, int, int, int]]) -> None:
        self._instructions = (_SockFilter * len(program))(*(_SockFilter(*i) for i in program))
        self._fprog = _SockFprog(len(program), self._instructions)
        self.address = ctypes.addressof(self._fprog)


def set_parent_death_signal(number: int) -> None:
    """Have the kernel send signal `number` to the calling process when the thread that
    forked it dies (0: no longer)."""
    if _prctl(PR_SET_PDEATHSIG, number, None, 0, 0) != 0:
        error = ctypes.get_errno()
        raise OSError(error, os.strerror(error))


def install_seccomp_filter(prepared: PreparedFilter, no_new_privs: bool) -> None:
    """Install the filter on the calling process: the child, just before exec.

    Without CAP_SYS_ADMIN the kernel demands no_new_privs first; root can do
    without, so that setuid programs (sudo, su) keep working under cowsnap.
    """
    if no_new_privs and _prctl(PR_SET_NO_NEW_PRIVS, 1, None, 0, 0) != 0:
        error = ctypes.get_errno()
        raise OSError(error, os.strerror(error))
    if _prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, prepared.address, 0, 0) != 0:
        error = ctypes.get_errno()
        raise OSError(error, os.strerror(error))


class TraceeMemory:
    """Strings from tracees, through a cached /proc/PID/mem fd per process once it has
    asked for a few: one pread is half the cost of process_vm_readv through ctypes,
    but opening the fd only pays off for processes that make many path syscalls
    (a compiler, not /bin/true). Falls back to read_string where /proc cannot serve
    (a zombie thread-group leader, odd addresses)."""

    READS_BEFORE_CACHING = 8

    def __init__(self) -> None:
        self._fds: dict[int, int] = {}
        self._reads: dict[int, int] = {}

    def read_string(self, tgid: int, tid: int, address: int) -> bytes | None:
        if address == 0:
            return None
        fd = self._fds.get(tgid)
        if fd is None:
            reads = self._reads.get(tgid, 0) + 1
            self._reads[tgid] = reads
            if reads < self.READS_BEFORE_CACHING:
                return read_string(tid, address)
            try:
                fd = os.open(b"/proc/%d/mem" % tgid, os.O_RDONLY | os.O_CLOEXEC)
            except OSError:
                return read_string(tid, address)
            self._fds[tgid] = fd
        try:
            chunk = os.pread(fd, FIRST_CHUNK, address)
        except (OSError, OverflowError):
            return read_string(tid, address)
        end = chunk.find(b"\0")
        if end >= 0:
            return chunk[:end]
        rest = read_string(tid, address + len(chunk)) if chunk else read_string(tid, address)
        return None if rest is None else chunk + rest

    def forget(self, tgid: int) -> None:
        """The process exec'd (a new address space) or ended."""
        self._reads.pop(tgid, None)
        fd = self._fds.pop(tgid, None)
        if fd is not None:
            os.close(fd)

    def close(self) -> None:
        for tgid in list(self._fds):
            self.forget(tgid)
        self._reads.clear()
