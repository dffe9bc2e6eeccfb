"""Set-id programs lose their privileges under the tracer: say so in the run's warnings.

The kernel ignores a program's set-user-ID and set-group-ID bits when a tracer
without CAP_SYS_PTRACE follows its exec (execve(2)), so under a non-root cowsnap
`sudo`, `passwd` or `ping` run as the user who started them, and fail or behave
differently than outside cowsnap. Nothing in the trace says so; the executed
file's mode does.
"""

from __future__ import annotations

import os
import stat


def lost_privileges(path: bytes, uid: int, gid: int) -> str | None:
    """The warning for an exec of `path` by a tracer running as `uid`/`gid`, when the
    file has a set-id bit that would have changed who the program runs as."""
    if uid == 0:
        return None
    try:
        info = os.stat(path)
    except OSError:
        return None
    lost = []
    if info.st_mode & stat.S_ISUID and info.st_uid != uid:
        lost.append(f"set-user-ID (uid {info.st_uid})")
    if info.st_mode & stat.S_ISGID and info.st_mode & stat.S_IXGRP and info.st_gid != gid:
        lost.append(f"set-group-ID (gid {info.st_gid})")
    if not lost:
        return None
    return (f"{os.fsdecode(path)} is {' and '.join(lost)}, but ran without those privileges: "
            "the kernel ignores set-id bits under a tracer that is not root")
