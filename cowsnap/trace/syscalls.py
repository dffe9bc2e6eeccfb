"""Which syscalls the tracer stops on, where their paths and fds are, and what they mean.

Pure data and decisions: the seccomp filter is generated from this table and the
tracer dispatches on it, so adding a syscall is one line here.
"""

from __future__ import annotations

from enum import Enum
from typing import NamedTuple

from cowsnap.model import MUTATING_OPERATIONS, Operation

AT_FDCWD = -100
AT_SYMLINK_NOFOLLOW = 0x100
AT_SYMLINK_FOLLOW = 0x400
AT_EMPTY_PATH = 0x1000

O_ACCMODE = 0o3
O_WRONLY = 0o1
O_RDWR = 0o2
O_CREAT = 0o100
O_EXCL = 0o200
O_TRUNC = 0o1000
O_NOFOLLOW = 0o400000
O_TMPFILE = 0o20000000 | 0o200000
O_TMPFILE_BIT = 0o20000000
WRITE_OPEN_FLAGS = O_WRONLY | O_RDWR | O_CREAT | O_TRUNC | O_TMPFILE_BIT
"""The open flags that make an open worth stopping for in only-writes mode."""

F_DUPFD = 0
F_DUPFD_CLOEXEC = 1030

CLONE_VM = 0x100
CLONE_FS = 0x200
CLONE_FILES = 0x400
CLONE_VFORK = 0x4000
CLONE_THREAD = 0x10000

RENAME_EXCHANGE = 2

FORK_CALLS: dict[int, str] = {56: "register", 435: "struct", 120: "i386_register",
                              58: "vfork", 190: "vfork"}
"""The fork-family syscalls (x86_64 clone, clone3, vfork; i386 clone, vfork), by number,
and where each keeps its clone flags, read at its fork event from the registers
(orig_rax names the call): "register" the first argument, "i386_register" ebx,
"struct" the first field of clone3's struct clone_args, "vfork" none (CLONE_VM |
CLONE_VFORK); fork and others share nothing. They are not stopped at (the fork events
report them): no filter rule, but one table for both tracers all the same."""

AF_UNIX = 1


class Kind(Enum):
    """How the tracer decodes a syscall's arguments."""

    PATH = "path"
    FD = "fd"
    OPEN = "open"
    EXEC = "exec"
    RENAME = "rename"
    LINK = "link"
    SYMLINK = "symlink"
    CLOSE = "close"
    CLOSE_RANGE = "close_range"
    DUP = "dup"
    DUP2 = "dup2"
    FCNTL = "fcntl"
    BIND = "bind"
    UNSEEN = "unseen"
    UNSHARE = "unshare"


class Spec(NamedTuple):
    """One syscall's decoding: argument indices (None: absent) and its operation.

    `follow` is whether the last path component is followed by default; `flags`
    is the index of an AT_* flags argument that can change that (or, for opens,
    of the open flags). `writes` marks syscalls still traced in only-writes mode.
    `sets_cwd` asks for the syscall's exit so a cached cwd/root can be dropped.
    `unstopped_with` are flag bits with which the seccomp filter lets the call run
    unstopped: AT_EMPTY_PATH makes newfstatat and statx an fstat, glibc's usual
    fstat, which names no path (the rare non-empty path with that flag is missed).
    `warning` is what an UNSEEN syscall's process is told: files it reaches have no
    path the tracer can see.
    """

    name: str
    kind: Kind
    operation: Operation | None = None
    path: int | None = None
    dirfd: int | None = None
    fd: int | None = None
    follow: bool = True
    flags: int | None = None
    writes: bool = False
    sets_cwd: bool = False
    unstopped_with: int = 0
    warning: str | None = None


def _path(
    name: str,
    operation: Operation,
    path: int = 0,
    *,
    dirfd: int | None = None,
    follow: bool = True,
    flags: int | None = None,
    sets_cwd: bool = False,
) -> Spec:
    return Spec(
        name,
        Kind.PATH,
        operation,
        path=path,
        dirfd=dirfd,
        follow=follow,
        flags=flags,
        writes=operation in MUTATING_OPERATIONS or sets_cwd,
        sets_cwd=sets_cwd,
    )


def _fd(name: str, operation: Operation, fd: int = 0, *, sets_cwd: bool = False) -> Spec:
    return Spec(
        name,
        Kind.FD,
        operation,
        fd=fd,
        writes=operation in MUTATING_OPERATIONS or sets_cwd,
        sets_cwd=sets_cwd,
    )


W = Operation.WRITE
C = Operation.CREATE
D = Operation.DELETE
M = Operation.METADATA
E = Operation.EXISTENCE

SPECS: tuple[Spec, ...] = (
    Spec("open", Kind.OPEN, path=0, flags=1, writes=True),
    Spec("openat", Kind.OPEN, path=1, dirfd=0, flags=2, writes=True),
    Spec("openat2", Kind.OPEN, path=1, dirfd=0, writes=True),
    Spec("creat", Kind.OPEN, path=0, writes=True),
    _path("stat", E),
    _path("lstat", E, follow=False),
    Spec("newfstatat", Kind.PATH, E, 1, 0, flags=3, unstopped_with=AT_EMPTY_PATH),
    Spec("statx", Kind.PATH, E, 1, 0, flags=2, unstopped_with=AT_EMPTY_PATH),
    _path("access", E),
    _path("faccessat", E, 1, dirfd=0),
    _path("faccessat2", E, 1, dirfd=0, flags=3),
    _path("readlink", E, follow=False),
    _path("readlinkat", E, 1, dirfd=0, follow=False),
    Spec("execve", Kind.EXEC, Operation.EXEC, path=0, writes=True),
    Spec("execveat", Kind.EXEC, Operation.EXEC, path=1, dirfd=0, flags=4, writes=True),
    _path("truncate", W),
    _fd("ftruncate", W),
    _fd("fallocate", W),
    _path("chdir", E, sets_cwd=True),
    _fd("fchdir", E, sets_cwd=True),
    _path("chroot", E, sets_cwd=True),
    Spec("rename", Kind.RENAME, Operation.RENAME, writes=True),
    Spec("renameat", Kind.RENAME, Operation.RENAME, writes=True),
    Spec("renameat2", Kind.RENAME, Operation.RENAME, flags=4, writes=True),
    Spec("link", Kind.LINK, C, writes=True),
    Spec("linkat", Kind.LINK, C, flags=4, writes=True),
    Spec("symlink", Kind.SYMLINK, C, path=1, writes=True),
    Spec("symlinkat", Kind.SYMLINK, C, path=2, dirfd=1, writes=True),
    _path("unlink", D, follow=False),
    _path("unlinkat", D, 1, dirfd=0, follow=False),
    _path("mkdir", Operation.MKDIR, follow=False),
    _path("mkdirat", Operation.MKDIR, 1, dirfd=0, follow=False),
    _path("rmdir", D, follow=False),
    _path("mknod", C, follow=False),
    _path("mknodat", C, 1, dirfd=0, follow=False),
    _path("chmod", M),
    _fd("fchmod", M),
    _path("fchmodat", M, 1, dirfd=0),
    _path("fchmodat2", M, 1, dirfd=0, flags=3),
    _path("chown", M),
    _fd("fchown", M),
    _path("lchown", M, follow=False),
    _path("fchownat", M, 1, dirfd=0, flags=4),
    _path("utime", M),
    _path("utimes", M),
    _path("futimesat", M, 1, dirfd=0),
    _path("utimensat", M, 1, dirfd=0, flags=3),
    _path("setxattr", M),
    _path("lsetxattr", M, follow=False),
    _fd("fsetxattr", M),
    _path("removexattr", M),
    _path("lremovexattr", M, follow=False),
    _fd("fremovexattr", M),
    _path("getxattr", E),
    _path("lgetxattr", E, follow=False),
    _fd("fgetxattr", E),
    _path("listxattr", E),
    _path("llistxattr", E, follow=False),
    _fd("flistxattr", E),
    _fd("getdents64", Operation.DIRECTORY),
    _fd("getdents", Operation.DIRECTORY),
    _fd("copy_file_range", W, 2),
    _fd("sendfile", W, 0),
    _fd("splice", W, 2),
    Spec("bind", Kind.BIND, C, fd=0, writes=True),
    Spec(
        "io_uring_setup",
        Kind.UNSEEN,
        writes=True,
        warning="io_uring_setup: file operations submitted through io_uring are invisible to "
        "ptrace; paths they touch are not recorded",
    ),
    Spec(
        "open_by_handle_at",
        Kind.UNSEEN,
        writes=True,
        warning="open_by_handle_at: the file it opens has no path the tracer can see; writes "
        "through it are not recorded",
    ),
    Spec("unshare", Kind.UNSHARE, writes=True),
    Spec("close", Kind.CLOSE, fd=0, writes=True),
    Spec("close_range", Kind.CLOSE_RANGE, writes=True),
    Spec("dup", Kind.DUP, fd=0, writes=True),
    Spec("dup2", Kind.DUP2, fd=0, writes=True),
    Spec("dup3", Kind.DUP2, fd=0, writes=True),
    Spec("fcntl", Kind.FCNTL, fd=0, writes=True),
)

SPEC_BY_NAME = {spec.name: spec for spec in SPECS}

X86_64_NUMBERS = {
    "open": 2, "openat": 257, "openat2": 437, "creat": 85,
    "stat": 4, "lstat": 6, "newfstatat": 262, "statx": 332,
    "access": 21, "faccessat": 269, "faccessat2": 439, "readlink": 89, "readlinkat": 267,
    "execve": 59, "execveat": 322, "truncate": 76, "ftruncate": 77, "fallocate": 285,
    "chdir": 80, "fchdir": 81, "chroot": 161,
    "rename": 82, "renameat": 264, "renameat2": 316, "link": 86, "linkat": 265,
    "symlink": 88, "symlinkat": 266, "unlink": 87, "unlinkat": 263,
    "mkdir": 83, "mkdirat": 258, "rmdir": 84, "mknod": 133, "mknodat": 259,
    "chmod": 90, "fchmod": 91, "fchmodat": 268, "fchmodat2": 452,
    "chown": 92, "fchown": 93, "lchown": 94, "fchownat": 260,
    "utime": 132, "utimes": 235, "futimesat": 261, "utimensat": 280,
    "setxattr": 188, "lsetxattr": 189, "fsetxattr": 190, "getxattr": 191, "lgetxattr": 192,
    "fgetxattr": 193, "listxattr": 194, "llistxattr": 195, "flistxattr": 196,
    "removexattr": 197, "lremovexattr": 198, "fremovexattr": 199,
    "getdents64": 217, "getdents": 78, "copy_file_range": 326, "sendfile": 40, "splice": 275,
    "bind": 49, "io_uring_setup": 425, "open_by_handle_at": 304, "unshare": 272,
    "close": 3, "close_range": 436, "dup": 32, "dup2": 33, "dup3": 292, "fcntl": 72,
}  # fmt: skip

I386_NUMBERS = {
    "open": 5, "openat": 295, "openat2": 437, "creat": 8,
    "stat": 106, "lstat": 107, "stat64": 195, "lstat64": 196, "fstatat64": 300, "statx": 383,
    "access": 33, "faccessat": 307, "faccessat2": 439, "readlink": 85, "readlinkat": 305,
    "execve": 11, "execveat": 358, "truncate": 92, "truncate64": 193,
    "ftruncate": 93, "ftruncate64": 194, "fallocate": 324,
    "chdir": 12, "fchdir": 133, "chroot": 61,
    "rename": 38, "renameat": 302, "renameat2": 353, "link": 9, "linkat": 303,
    "symlink": 83, "symlinkat": 304, "unlink": 10, "unlinkat": 301,
    "mkdir": 39, "mkdirat": 296, "rmdir": 40, "mknod": 14, "mknodat": 297,
    "chmod": 15, "fchmod": 94, "fchmodat": 306, "fchmodat2": 452,
    "chown": 182, "chown32": 212, "fchown": 95, "fchown32": 207, "lchown": 16, "lchown32": 198,
    "fchownat": 298, "utime": 30, "utimes": 271, "futimesat": 299, "utimensat": 320,
    "setxattr": 226, "lsetxattr": 227, "fsetxattr": 228, "getxattr": 229, "lgetxattr": 230,
    "fgetxattr": 231, "listxattr": 232, "llistxattr": 233, "flistxattr": 234,
    "removexattr": 235, "lremovexattr": 236, "fremovexattr": 237,
    "getdents64": 220, "getdents": 141, "copy_file_range": 377, "sendfile": 187, "splice": 313,
    "bind": 361, "io_uring_setup": 425, "open_by_handle_at": 342, "unshare": 310,
    "close": 6, "close_range": 436, "dup": 41, "dup2": 63, "dup3": 330,
    "fcntl": 55, "fcntl64": 221,
}  # fmt: skip
"""i386 (int 0x80) numbers; their arguments sit in the same slots of PTRACE_GET_SYSCALL_INFO."""

_I386_ALIASES = {
    "stat64": "stat",
    "lstat64": "lstat",
    "fstatat64": "newfstatat",
    "truncate64": "truncate",
    "ftruncate64": "ftruncate",
    "chown32": "chown",
    "fchown32": "fchown",
    "lchown32": "lchown",
    "fcntl64": "fcntl",
}

X86_64_TABLE: dict[int, Spec] = {X86_64_NUMBERS[s.name]: s for s in SPECS}
I386_TABLE: dict[int, Spec] = {
    number: SPEC_BY_NAME[_I386_ALIASES.get(name, name)] for name, number in I386_NUMBERS.items()
}

X32_SYSCALL_BIT = 0x40000000
X32_TABLE: dict[int, Spec] = {
    **X86_64_TABLE,
    520: SPEC_BY_NAME["execve"],
    545: SPEC_BY_NAME["execveat"],
}
"""x32 (numbers | X32_SYSCALL_BIT) shares x86_64's numbers but for its own compat
range, where execve and execveat sit."""


def signed(value: int) -> int:
    """A 32-bit int argument (fd, flags) as the C int it is, for either ABI."""
    value &= 0xFFFFFFFF
    return value - 0x100000000 if value & 0x80000000 else value


def open_operation(flags: int, existed: bool) -> Operation:
    """What a successful open did to its path, from its flags and prior existence."""
    if flags & O_CREAT and (flags & O_EXCL or not existed):
        return Operation.CREATE
    if flags & O_ACCMODE or flags & O_TRUNC:
        return Operation.WRITE
    return Operation.READ


def opens_for_writing(flags: int) -> bool:
    return bool(flags & O_ACCMODE or flags & (O_TRUNC | O_TMPFILE_BIT))


def open_may_mutate(flags: int) -> bool:
    """Whether the tracer must capture the path's before-state (before_mutation)."""
    return bool(flags & (O_ACCMODE | O_CREAT | O_TRUNC))


def follows_last(spec: Spec, flags: int) -> bool:
    """Whether the syscall follows a symlink in the last path component."""
    if spec.kind is Kind.OPEN:
        return not (flags & O_NOFOLLOW or (flags & O_CREAT and flags & O_EXCL))
    if spec.kind is Kind.LINK:
        return bool(flags & AT_SYMLINK_FOLLOW)
    if flags & AT_SYMLINK_NOFOLLOW:
        return False
    return spec.follow
