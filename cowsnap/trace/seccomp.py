"""The seccomp-bpf program: stop the tracee only for the syscalls the table names.

Everything else runs at native speed. Syscalls of a foreign ABI (i386 through
int 0x80, x32) always stop, so the tracer can decode them or say it cannot;
none is silently missed. In only-writes mode the program reads the open flags
itself, so read-only opens never stop the tracee.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import NamedTuple

from cowsnap.trace.syscalls import (
    F_DUPFD,
    F_DUPFD_CLOEXEC,
    SPECS,
    WRITE_OPEN_FLAGS,
    X32_SYSCALL_BIT,
    X86_64_NUMBERS,
    Kind,
    Spec,
)

AUDIT_ARCH_X86_64 = 0xC000003E

BPF_LD_W_ABS = 0x20
BPF_JEQ_K = 0x15
BPF_JSET_K = 0x45
BPF_RET_K = 0x06

SECCOMP_RET_ALLOW = 0x7FFF0000
SECCOMP_RET_TRACE = 0x7FF00000

_OFFSET_NR = 0
_OFFSET_ARCH = 4

Instruction = tuple[int, int, int, int]


def _argument_offset(index: int) -> int:
    """seccomp_data.args[index], low 32 bits (little-endian)."""
    return 16 + 8 * index


class _Op(NamedTuple):
    code: int
    k: int
    true: str | int = 0
    false: str | int = 0


def _load(offset: int) -> _Op:
    return _Op(BPF_LD_W_ABS, offset)


def _block(spec: Spec, number: int, only_writes: bool) -> list[_Op]:
    """The instructions testing one syscall number (A holds the number on entry and exit)."""
    if spec.kind is Kind.FCNTL:
        return [
            _Op(BPF_JEQ_K, number, 0, 3),
            _load(_argument_offset(1)),
            _Op(BPF_JEQ_K, F_DUPFD, "trace", 0),
            _Op(BPF_JEQ_K, F_DUPFD_CLOEXEC, "trace", "allow"),
        ]
    if spec.unstopped_with and spec.flags is not None:
        return [
            _Op(BPF_JEQ_K, number, 0, 2),
            _load(_argument_offset(spec.flags)),
            _Op(BPF_JSET_K, spec.unstopped_with, "allow", "trace"),
        ]
    if only_writes and spec.kind is Kind.OPEN and spec.flags is not None:
        return [
            _Op(BPF_JEQ_K, number, 0, 2),
            _load(_argument_offset(spec.flags)),
            _Op(BPF_JSET_K, WRITE_OPEN_FLAGS, "trace", "allow"),
        ]
    return [_Op(BPF_JEQ_K, number, "trace", 0)]


def _assemble(ops: list[_Op]) -> list[Instruction]:
    labels = {"allow": len(ops), "trace": len(ops) + 1}
    program: list[Instruction] = []
    for index, op in enumerate(ops):
        targets = []
        for target in (op.true, op.false):
            offset = target if isinstance(target, int) else labels[target] - index - 1
            if not 0 <= offset <= 255:
                raise ValueError("seccomp program jump out of range")
            targets.append(offset)
        program.append((op.code, targets[0], targets[1], op.k))
    program.append((BPF_RET_K, 0, 0, SECCOMP_RET_ALLOW))
    program.append((BPF_RET_K, 0, 0, SECCOMP_RET_TRACE))
    return program


def build_filter(
    only_writes: bool, watch_closes: bool, specs: Iterable[Spec] = SPECS
) -> list[Instruction]:
    """The BPF program as (code, jt, jf, k) tuples, ready for PR_SET_SECCOMP.

    Closes stop the tracee only when `watch_closes` (someone wants to hear of
    written files being closed): they are the most frequent syscall of all.
    """
    ops = [
        _load(_OFFSET_ARCH),
        _Op(BPF_JEQ_K, AUDIT_ARCH_X86_64, 0, "trace"),
        _load(_OFFSET_NR),
        _Op(BPF_JSET_K, X32_SYSCALL_BIT, "trace", 0),
    ]
    for spec in specs:
        if only_writes and not spec.writes:
            continue
        if not watch_closes and spec.kind in (Kind.CLOSE, Kind.CLOSE_RANGE):
            continue
        ops.extend(_block(spec, X86_64_NUMBERS[spec.name], only_writes))
    return _assemble(ops)
