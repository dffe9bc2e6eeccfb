"""Files the command inherits open for writing: writes through them never pass a
syscall naming a path, so the tracer cannot see them (`cowsnap run -- make >
build.log` with the log in the workspace, `3>>f`). cowsnap knows every fd it
hands the command, so it records those files itself: before-state at launch,
after-state at the end."""

from __future__ import annotations

import fcntl
import os
import stat


def inherited_written_files() -> list[bytes]:
    """The paths of the regular files this process passes to the children it forks
    (fds without close-on-exec) open for writing; each once, fds that no longer name
    their file (deleted, replaced) left out."""
    found: dict[bytes, None] = {}
    for name in sorted(os.listdir("/proc/self/fd"), key=int):
        fd = int(name)
        try:
            if fcntl.fcntl(fd, fcntl.F_GETFD) & fcntl.FD_CLOEXEC:
                continue
            if fcntl.fcntl(fd, fcntl.F_GETFL) & os.O_ACCMODE == os.O_RDONLY:
                continue
            opened = os.fstat(fd)
            if not stat.S_ISREG(opened.st_mode) or opened.st_nlink == 0:
                continue
            path = os.readlink(b"/proc/self/fd/%d" % fd)
            named = os.lstat(path)
        except OSError:
            continue
        if (named.st_dev, named.st_ino) == (opened.st_dev, opened.st_ino):
            found[path] = None
    return list(found)
