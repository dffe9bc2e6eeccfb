"""Running a shell command recorded, for `cowsnap sh` and `cowsnap agent exec`.

The command must run exactly once, whatever happens to cowsnap: when cowsnap
cannot record (no store, no ptrace inside a sandbox, ...) and the command has
not started, it runs unrecorded, with a warning on stderr; when it has started,
its status stands even if recording failed. The traced shell reports that it
started (and where it ended) on a pipe (cowsnap.agent.wrapper.inner_script).
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass

from cowsnap import api
from cowsnap.agent.wrapper import STARTED, inner_script
from cowsnap.errors import CowsnapError


@dataclass(frozen=True)
class Outcome:
    exit_status: int
    run_id: str | None
    """None when the command ran unrecorded."""
    final_cwd: str | None
    """The directory the shell ended in, when asked to track it and it said."""
    warning: str | None


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


def _status(returncode: int) -> int:
    return 128 - returncode if returncode < 0 else returncode


def run_shell(shell: str, command: str, arguments: Sequence[str] = (), *,
              session: str | None = None, track_cwd: bool = False) -> Outcome:
    """Run `shell -c command arguments...` recorded (see the module docstring)."""
    read_fd, write_fd = os.pipe()
    os.set_inheritable(write_fd, True)
    script = inner_script(command, write_fd, track_cwd=track_cwd)
    request = api.RunRequest(command=[shell, "-c", script, *arguments],
                             recorded_command=[shell, "-c", command, *arguments],
                             session=session)
    run_id: str | None = None
    warning: str | None = None
    try:
        try:
            result = api.run(request)
        except CowsnapError as error:
            if _drain(read_fd).startswith(STARTED):
                raise
            fallback = subprocess.run([shell, "-c", script, *arguments], pass_fds=(write_fd,),
                                      check=False)
            status, warning = _status(fallback.returncode), f"not recorded: {error}"
        else:
            status, run_id = result.exit_status, result.run_id
            if result.recording_error is not None:
                run_id, warning = None, f"not recorded: {result.recording_error}"
            elif result.auto_prune_error is not None:
                warning = f"automatic pruning failed: {result.auto_prune_error}"
        os.close(write_fd)
        write_fd = -1
        report = _drain(read_fd)
    finally:
        os.close(read_fd)
        if write_fd >= 0:
            os.close(write_fd)
    final = report[len(STARTED):] if report.startswith(STARTED) else ""
    return Outcome(exit_status=status, run_id=run_id,
                   final_cwd=final if track_cwd and final else None, warning=warning)
