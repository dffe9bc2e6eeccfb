"""Running a shell command recorded (`cowsnap agent exec`, `cowsnap sh`) exactly once,
whatever cowsnap can do.

When cowsnap cannot record (no store, no ptrace inside a sandbox, ...) and the
command has not started, it runs unrecorded and the result says why; when it
has started, its status stands even if recording failed. The traced shell
reports that it started (and where it ended) on a pipe
(cowsnap.agent.wrapper.inner_script). Apart from installing hooks
(cowsnap.api.agents): an agent pays this module's start-up on every command.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from cowsnap.agent.wrapper import REPORT_FDS, STARTED, inner_script, parent_shell
from cowsnap.api.common import PathArg
from cowsnap.api.running import RunRequest, run
from cowsnap.errors import CowsnapError


@dataclass(frozen=True)
class ShellRun:
    exit_status: int
    run_id: str | None
    """None when the command ran unrecorded."""
    final_cwd: str | None
    """The directory the shell ended in, when asked to track it and it said."""
    warning: str | None
    exit_signal: int | None = None
    """The signal that killed the shell, if one did (`exit_status` is then 128+N)."""

    @property
    def exit_code(self) -> int:
        return self.exit_status

    @property
    def fatal_signal(self) -> int | None:
        """The signal a stand-in for the shell dies of, as the shell did (`cowsnap sh`;
        `cowsnap run` exits 128+N instead)."""
        return self.exit_signal


def calling_shell() -> str:
    """The shell that started this process, when it is a known one, else /bin/sh."""
    try:
        return parent_shell(os.readlink(f"/proc/{os.getppid()}/exe"))
    except OSError:
        return parent_shell(None)


def _drain(fd: int) -> str:
    """What the shell reported so far (it has exited: no need to wait for more)."""
    os.set_blocking(fd, False)
    chunks = []
    try:
        while chunk := os.read(fd, 65536):
            chunks.append(chunk)
    except BlockingIOError:
        pass
    return b"".join(chunks).decode("utf-8", "surrogateescape")


def _report_pipe() -> tuple[int, int | None]:
    """A pipe whose write end sits on a free one-digit fd, inherited by the shell (None
    when all are taken: the shell then reports nothing)."""
    low_read, write_fd = os.pipe()
    read_fd = fcntl.fcntl(low_read, fcntl.F_DUPFD_CLOEXEC, max(REPORT_FDS) + 1)
    os.close(low_read)
    for number in REPORT_FDS:
        try:
            os.fstat(number)
        except OSError:
            os.dup2(write_fd, number, inheritable=True)
            os.close(write_fd)
            return read_fd, number
    os.close(write_fd)
    return read_fd, None


def run_shell(shell: str, command: str, arguments: Sequence[str] = (), *,
              session: str | None = None, track_cwd: bool = False, workspace: PathArg = None,
              store: PathArg = None, cwd: Path | None = None) -> ShellRun:
    """Run `shell -c command arguments...` in `cwd` (default: the current directory),
    recorded (see the module docstring)."""
    read_fd, write_fd = _report_pipe()
    script = inner_script(command, write_fd, track_cwd=track_cwd)
    request = RunRequest(command=[shell, "-c", script, *arguments],
                         recorded_command=[shell, "-c", command, *arguments], session=session,
                         workspace=workspace, store=store, cwd=cwd)
    run_id: str | None = None
    warning: str | None = None
    killed_by: int | None = None
    try:
        try:
            result = run(request)
        except CowsnapError as error:
            if write_fd is None or _drain(read_fd).startswith(STARTED):
                raise
            import subprocess  # only when recording failed before the command started

            fallback = subprocess.run([shell, "-c", script, *arguments], pass_fds=(write_fd,),
                                      cwd=cwd, check=False)
            killed_by = -fallback.returncode if fallback.returncode < 0 else None
            status = fallback.returncode if killed_by is None else 128 + killed_by
            warning = f"not recorded: {error}"
        else:
            status, run_id, killed_by = result.exit_status, result.run_id, result.exit_signal
            if result.recording_error is not None:
                run_id, warning = None, f"not recorded: {result.recording_error}"
            elif result.auto_prune_error is not None:
                warning = f"automatic pruning failed: {result.auto_prune_error}"
        if write_fd is not None:
            os.close(write_fd)
            write_fd = None
        report = _drain(read_fd)
    finally:
        os.close(read_fd)
        if write_fd is not None:
            os.close(write_fd)
    final = report[len(STARTED):] if report.startswith(STARTED) else ""
    return ShellRun(exit_status=status, run_id=run_id,
                    final_cwd=final if track_cwd and final else None, warning=warning,
                    exit_signal=killed_by)
