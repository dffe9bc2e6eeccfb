"""The shell text of a command rewritten to run recorded, and how to recognise one.

The agent runs the rewritten text in its own shell, as it would have run the
original. That shell runs `cowsnap agent exec`, which traces a child shell of
the same kind running the original command, then moves to the directory the
command ended in (Claude Code keeps a `cd` between Bash calls), and exits with
the command's own status. Everything is quoted with POSIX rules, which bash,
zsh, dash and ksh all read the same way.
"""

from __future__ import annotations

import os
import shlex
import sys
from collections.abc import Sequence

MARKER = "__cowsnap_cwd="
"""How every rewritten command starts: a command starting so is never wrapped again."""


def self_invocation() -> list[str]:
    """How to start this cowsnap again from a shell: its script by absolute path, or
    `python -m cowsnap` with this interpreter when it was started that way."""
    script = sys.argv[0] if sys.argv else ""
    if os.path.basename(script) == "cowsnap" and os.path.exists(script):
        return [os.path.abspath(script)]
    return [sys.executable, "-m", "cowsnap"]


def wrap(command: str, cowsnap: Sequence[str], session: str | None) -> str:
    """`command` rewritten to run under `cowsnap agent exec` (see the module docstring)."""
    words = [*cowsnap, "agent", "exec"]
    if session:
        words += ["--session", session]
    invocation = " ".join(shlex.quote(word) for word in words)
    return (
        f'{MARKER}$(mktemp 2>/dev/null) || __cowsnap_cwd=; '
        f'{invocation} --cwd-file "$__cowsnap_cwd" -- {shlex.quote(command)}; '
        '__cowsnap_status=$?; '
        'if [ -s "$__cowsnap_cwd" ]; then cd -- "$(cat -- "$__cowsnap_cwd")" 2>/dev/null || :; fi; '
        'if [ -n "$__cowsnap_cwd" ]; then rm -f -- "$__cowsnap_cwd"; fi; '
        '(exit "$__cowsnap_status")'
    )


def is_wrapped(command: str) -> bool:
    """Whether `command` is already a rewritten one, or runs cowsnap itself (a `cowsnap
    rewind` run under cowsnap would record the rewind as a command)."""
    stripped = command.lstrip()
    if stripped.startswith(MARKER):
        return True
    try:
        words = shlex.split(stripped)
    except ValueError:
        return False
    return bool(words) and os.path.basename(words[0]) in ("cowsnap", "cowsnap-sh")


STARTED = "S"
REPORT_FDS = range(9, 2, -1)
"""Where the report pipe goes in the shell: dash reads only one-digit fds in `>&N`."""


def inner_script(command: str, report_fd: int | None, *, track_cwd: bool) -> str:
    """What the traced shell runs: `command`, after reporting on `report_fd` (a pipe to
    cowsnap, never a file the run would record) that it started, and with `track_cwd`
    a trap reporting the directory it ends in. Knowing it started, cowsnap never runs
    a command twice when recording fails. Without a report fd: `command` alone."""
    if report_fd is None:
        return command
    lines = [f"printf {STARTED} >&{report_fd}"]
    if track_cwd:
        lines.append(f"trap 'printf \"%s\" \"$PWD\" >&{report_fd}' EXIT")
    return "\n".join([*lines, command])


SHELLS = ("bash", "zsh", "sh", "dash", "ksh", "mksh", "ash")


def parent_shell(parent_exe: str | None) -> str:
    """The shell to run the command in: the agent's own shell (the parent of `cowsnap
    agent exec`) when it is a known one, else /bin/sh."""
    if parent_exe and os.path.basename(parent_exe) in SHELLS:
        return parent_exe
    return "/bin/sh"
