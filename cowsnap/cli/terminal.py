"""Writing to a terminal like git: colour only when wanted, long output through a pager.

Colour: `--color=always`, or `auto` (the default) when stdout is a terminal and
neither NO_COLOR is set nor TERM is `dumb`. Pager: on a terminal unless
`--no-pager`; `$COWSNAP_PAGER`, else `$PAGER`, else `less`, with `LESS=FRX` when
LESS is unset (quit when it fits one screen, pass colours through, leave the
text on screen). An empty pager or `cat` means none.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from collections.abc import Iterable, Iterator
from typing import IO, BinaryIO

RESET = b"\x1b[m"
STYLES = {"bold": b"\x1b[1m", "red": b"\x1b[31m", "green": b"\x1b[32m",
          "yellow": b"\x1b[33m", "cyan": b"\x1b[36m"}


def colour_wanted(choice: str, stream: BinaryIO | None = None) -> bool:
    if choice == "always":
        return True
    if choice == "never" or os.environ.get("NO_COLOR"):
        return False
    output = stream or sys.stdout.buffer
    return output.isatty() and os.environ.get("TERM") != "dumb"


def paint(line: bytes, style: str | None, colour: bool) -> bytes:
    if not colour or style is None or not line:
        return line
    return STYLES[style] + line + RESET


def _pager_command() -> str | None:
    for variable in ("COWSNAP_PAGER", "PAGER"):
        value = os.environ.get(variable)
        if value is not None:
            return None if value.strip() in ("", "cat") else value
    return "less"


@contextlib.contextmanager
def _pager(no_pager: bool) -> Iterator[IO[bytes]]:
    """Where output goes: a pager's stdin on a terminal, else stdout itself."""
    command = None if no_pager or not sys.stdout.isatty() else _pager_command()
    if command is None:
        yield sys.stdout.buffer
        return
    environment = dict(os.environ)
    environment.setdefault("LESS", "FRX")
    environment.setdefault("LV", "-c")
    try:
        process = subprocess.Popen(command, shell=True, stdin=subprocess.PIPE,
                                   env=environment)
    except OSError:
        yield sys.stdout.buffer
        return
    assert process.stdin is not None
    try:
        yield process.stdin
        process.stdin.close()
    except BrokenPipeError:
        pass  # the reader quit the pager early: not an error, as with git
    finally:
        with contextlib.suppress(BrokenPipeError):
            process.stdin.close()
        process.wait()


def emit(lines: Iterable[bytes], no_pager: bool = False, end: bytes = b"\n") -> None:
    """Write lines (each followed by `end`) through the pager when there is one."""
    with _pager(no_pager) as output:
        for line in lines:
            output.write(line + end)
        output.flush()
