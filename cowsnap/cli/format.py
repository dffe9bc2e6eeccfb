"""How every command words things: counts with plurals, paths, times, commands, sizes.

One place, so that a path, a time or a command looks the same in `log`, `show`,
`diff`, `restore` and error messages.
"""

from __future__ import annotations

import base64
import signal
from collections.abc import Sequence
from datetime import datetime

from cowsnap.paths import display_path, relative_name
from cowsnap.units import format_size

__all__ = ["command_line", "count", "display_path", "exit_description", "format_size",
           "json_text", "local_time", "printable", "relative_name", "seconds"]

IRREGULAR = {"repository": "repositories", "git repository": "git repositories"}


def count(number: int, noun: str) -> str:
    """`1 run`, `2 runs`, `0 git repositories`."""
    if number == 1:
        return f"{number} {noun}"
    return f"{number} {IRREGULAR.get(noun, noun + 's')}"


def printable(text: str) -> str:
    """Free text from a run (a warning, a session name) safe to print on a terminal:
    control characters as \\xNN, as display_path shows them in names, so a bundle
    cannot send escape sequences to the terminal."""
    if text.isprintable():
        return text
    return "".join(char if char.isprintable() or char == " " else
                   "".join(f"\\x{byte:02x}" for byte in char.encode("utf-8", "surrogateescape"))
                   for char in text)


def command_line(command: Sequence[str]) -> str:
    """A command as one line a shell would run again (a multi-line argument stays on
    the line, its newlines written as $'\\n'). (shlex is imported here: `cowsnap run`
    prints no command line.)"""
    import shlex

    parts = []
    for argument in command:
        quoted = shlex.quote(argument)
        if any(char in argument for char in "\n\r\t") or not argument.isprintable():
            escaped = (argument.replace("\\", "\\\\").replace("'", "\\'")
                       .replace("\n", "\\n").replace("\r", "\\r").replace("\t", "\\t"))
            quoted = "$'" + "".join(char if char.isprintable() else f"\\x{ord(char):02x}"
                                    for char in escaped) + "'"
        parts.append(quoted)
    return " ".join(parts)


def local_time(moment: str) -> str:
    """An RFC 3339 UTC time as the local time with its zone, like git:
    `2026-11-30 13:02:11 +0100`."""
    try:
        parsed = datetime.fromisoformat(moment.replace("Z", "+00:00"))
    except ValueError:
        return moment
    return parsed.astimezone().strftime("%Y-%m-%d %H:%M:%S %z")


def seconds(value: float) -> str:
    return f"{value * 1000:.0f} ms" if value < 1 else f"{value:.2f} s"


def exit_description(status: int) -> str:
    """`0`, `2`, or `143 (SIGTERM)` for a command killed by a signal (128+N)."""
    if status > 128:
        try:
            return f"{status} ({signal.Signals(status - 128).name})"
        except ValueError:
            pass
    return str(status)


def json_text(key: str, value: bytes) -> dict[str, str]:
    """A byte string for --json, as manifests hold paths: `KEY` as text, and `KEY_b64`
    too when it is not valid UTF-8 (the text then has \\xNN escapes)."""
    try:
        return {key: value.decode("utf-8")}
    except UnicodeDecodeError:
        return {key: value.decode("utf-8", "backslashreplace"),
                f"{key}_b64": base64.b64encode(value).decode("ascii")}
