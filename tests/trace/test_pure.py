"""The tracer's pure decisions: the BPF program (run by a tiny interpreter), open
classification, symlink-following rules, and lexical path handling."""

from __future__ import annotations

import struct
import sys

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cowsnap.model import Operation
from cowsnap.trace import choice, paths
from cowsnap.trace.seccomp import (
    AUDIT_ARCH_X86_64,
    BPF_JEQ_K,
    BPF_JSET_K,
    BPF_LD_W_ABS,
    BPF_RET_K,
    SECCOMP_RET_ALLOW,
    SECCOMP_RET_TRACE,
    Instruction,
    build_filter,
)
from cowsnap.trace.syscalls import (
    AT_SYMLINK_FOLLOW,
    AT_SYMLINK_NOFOLLOW,
    O_CREAT,
    O_EXCL,
    O_NOFOLLOW,
    O_RDWR,
    O_TMPFILE,
    O_TRUNC,
    O_WRONLY,
    SPEC_BY_NAME,
    X86_64_NUMBERS,
    follows_last,
    open_operation,
)

AUDIT_ARCH_I386 = 0x40000003


def run_filter(
    program: list[Instruction], nr: int, args: tuple[int, ...] = (), arch: int = AUDIT_ARCH_X86_64
) -> int:
    data = struct.pack("<iIQ6Q", nr, arch, 0, *(list(args) + [0] * (6 - len(args))))
    accumulator = 0
    pc = 0
    while True:
        code, jt, jf, k = program[pc]
        pc += 1
        if code == BPF_LD_W_ABS:
            accumulator = struct.unpack_from("<I", data, k)[0]
        elif code == BPF_JEQ_K:
            pc += jt if accumulator == k else jf
        elif code == BPF_JSET_K:
            pc += jt if accumulator & k else jf
        elif code == BPF_RET_K:
            return k
        else:
            raise AssertionError(f"unexpected BPF opcode {code:#x}")


FULL = build_filter(only_writes=False, watch_closes=True)
WRITES = build_filter(only_writes=True, watch_closes=False)


@pytest.mark.parametrize("name", ["openat", "newfstatat", "unlinkat", "renameat2", "execve"])
def test_full_filter_traces_path_syscalls(name: str) -> None:
    assert run_filter(FULL, X86_64_NUMBERS[name], (0, 0, 0)) == SECCOMP_RET_TRACE


@pytest.mark.parametrize("nr", [0, 1, 9, 39, 60, 231])
def test_everything_else_runs_free(nr: int) -> None:
    assert run_filter(FULL, nr) == SECCOMP_RET_ALLOW
    assert run_filter(WRITES, nr) == SECCOMP_RET_ALLOW


def test_foreign_abis_always_stop() -> None:
    assert run_filter(FULL, 3, arch=AUDIT_ARCH_I386) == SECCOMP_RET_TRACE
    assert run_filter(WRITES, 0x40000000 | 1) == SECCOMP_RET_TRACE


def test_only_writes_reads_open_flags() -> None:
    openat = X86_64_NUMBERS["openat"]
    for flags in (0, 0o2000000 | 0o200000):
        assert run_filter(WRITES, openat, (0, 0, flags)) == SECCOMP_RET_ALLOW
    for flags in (O_WRONLY, O_RDWR, O_CREAT, O_TRUNC, O_TMPFILE):
        assert run_filter(WRITES, openat, (0, 0, flags)) == SECCOMP_RET_TRACE
    assert run_filter(WRITES, X86_64_NUMBERS["open"], (0, O_WRONLY)) == SECCOMP_RET_TRACE
    assert run_filter(WRITES, X86_64_NUMBERS["openat2"], (0, 0, 0)) == SECCOMP_RET_TRACE
    assert run_filter(WRITES, X86_64_NUMBERS["newfstatat"]) == SECCOMP_RET_ALLOW
    assert run_filter(WRITES, X86_64_NUMBERS["unlink"]) == SECCOMP_RET_TRACE


def test_fstat_through_newfstatat_runs_free() -> None:
    newfstatat = X86_64_NUMBERS["newfstatat"]
    assert run_filter(FULL, newfstatat, (3, 0, 0, 0x1000)) == SECCOMP_RET_ALLOW
    assert run_filter(FULL, newfstatat, (3, 0, 0, 0x100)) == SECCOMP_RET_TRACE
    assert run_filter(FULL, X86_64_NUMBERS["statx"], (3, 0, 0x1000)) == SECCOMP_RET_ALLOW


def test_closes_stop_only_when_watched() -> None:
    assert run_filter(FULL, X86_64_NUMBERS["close"], (3,)) == SECCOMP_RET_TRACE
    assert run_filter(WRITES, X86_64_NUMBERS["close"], (3,)) == SECCOMP_RET_ALLOW
    assert run_filter(FULL, X86_64_NUMBERS["dup2"], (3, 4)) == SECCOMP_RET_TRACE


def test_fcntl_stops_only_for_duplication() -> None:
    fcntl = X86_64_NUMBERS["fcntl"]
    assert run_filter(FULL, fcntl, (3, 0)) == SECCOMP_RET_TRACE
    assert run_filter(FULL, fcntl, (3, 1030)) == SECCOMP_RET_TRACE
    assert run_filter(FULL, fcntl, (3, 2)) == SECCOMP_RET_ALLOW


@pytest.mark.parametrize(
    ("flags", "existed", "operation"),
    [
        (0, True, Operation.READ),
        (O_WRONLY, True, Operation.WRITE),
        (O_RDWR | O_TRUNC, True, Operation.WRITE),
        (O_WRONLY | O_CREAT, True, Operation.WRITE),
        (O_WRONLY | O_CREAT, False, Operation.CREATE),
        (O_WRONLY | O_CREAT | O_EXCL, True, Operation.CREATE),
        (O_CREAT, True, Operation.READ),
    ],
)
def test_open_operation(flags: int, existed: bool, operation: Operation) -> None:
    assert open_operation(flags, existed) is operation


def test_follow_rules() -> None:
    assert follows_last(SPEC_BY_NAME["stat"], 0)
    assert not follows_last(SPEC_BY_NAME["lstat"], 0)
    assert not follows_last(SPEC_BY_NAME["newfstatat"], AT_SYMLINK_NOFOLLOW)
    assert not follows_last(SPEC_BY_NAME["openat"], O_NOFOLLOW)
    assert not follows_last(SPEC_BY_NAME["openat"], O_CREAT | O_EXCL)
    assert follows_last(SPEC_BY_NAME["openat"], O_CREAT)
    assert not follows_last(SPEC_BY_NAME["linkat"], 0)
    assert follows_last(SPEC_BY_NAME["linkat"], AT_SYMLINK_FOLLOW)
    assert not follows_last(SPEC_BY_NAME["unlink"], 0)


@pytest.mark.parametrize(
    ("path", "normal"),
    [(b"/a/./b//c/", b"/a/b/c"), (b"/a/../../b", b"/b"), (b"/", b"/"), (b"/\xff/..", b"/")],
)
def test_normalise(path: bytes, normal: bytes) -> None:
    assert paths.normalise(path) == normal


def test_split_and_join() -> None:
    assert paths.split_last(b"/a/b/") == (b"/a", b"b")
    assert paths.split_last(b"/a") == (b"/", b"a")
    assert paths.split_last(b"/") == (b"/", b"")
    assert paths.join(b"/a", b"b") == b"/a/b"
    assert paths.join(b"/", b"b") == b"/b"
    assert paths.join(b"/a", b"/abs") == b"/abs"
    assert paths.join(b"/a", b"") == b"/a"


@given(st.lists(st.sampled_from([b"x", b".", b"..", b"", b"\xfe"]), max_size=12))
def test_normalise_is_idempotent_and_absolute(parts: list[bytes]) -> None:
    normal = paths.normalise(b"/" + b"/".join(parts))
    assert normal.startswith(b"/")
    assert paths.normalise(normal) == normal
    assert b"/../" not in normal + b"/" and b"/./" not in normal + b"/"


def test_the_tracer_in_use_and_why(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(choice.VARIABLE, "python")
    assert choice.choose() == choice.TracerChoice("python", "COWSNAP_TRACER=python")
    monkeypatch.delenv(choice.VARIABLE)
    assert choice.choose() == choice.TracerChoice("native", "the native core is built")
    monkeypatch.setitem(sys.modules, "cowsnap.trace._core", None)
    chosen = choice.choose()
    assert chosen.name == "python" and chosen.reason.startswith("the native core is not built")
