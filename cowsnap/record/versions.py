"""Intermediate versions (`cowsnap run --versions GLOB`): which paths are watched and
which events give a version. Pure functions of paths, globs and events; the
capturing itself is in version_capture.py. docs/versions.md gives the syntax.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence

from cowsnap.errors import UsageError
from cowsnap.model import Operation
from cowsnap.trace.events import PathEvent
from cowsnap.trace.syscalls import RENAME_EXCHANGE

_RENAMES = frozenset({"rename", "renameat", "renameat2"})


def _component_regex(component: str) -> str:
    """One path component of a glob: `*` and `?` never match `/`; `[...]` as fnmatch."""
    out: list[str] = []
    index = 0
    while index < len(component):
        char = component[index]
        index += 1
        if char == "*":
            out.append("[^/]*")
        elif char == "?":
            out.append("[^/]")
        elif char == "[":
            end = index + (1 if component[index:index + 1] == "!" else 0)
            end = component.find("]", end + (1 if component[end:end + 1] == "]" else 0))
            if end < 0:
                out.append(re.escape(char))
                continue
            body = re.sub(r"([&~|\[\\])", r"\\\1", component[index:end])
            if body.startswith("!"):
                body = "^/" + body[1:]
            elif body.startswith("^"):
                body = "\\" + body
            out.append(f"[{body}]")
            index = end + 1
        else:
            out.append(re.escape(char))
    return "".join(out)


def glob_regex(glob: str) -> str:
    """The regular expression (over a whole path) of one glob; `**` as a whole
    component matches any number of directories, none included."""
    components = glob.split("/")
    pieces: list[str] = []
    for index, component in enumerate(components):
        last = index == len(components) - 1
        if component == "**":
            pieces.append(".*" if last else "(?:[^/]+/)*")
        else:
            pieces.append(_component_regex(component) + ("" if last else "/"))
    return "".join(pieces)


def _normalised(glob: str) -> str:
    if not glob or glob.strip("/") == "":
        raise UsageError(f"--versions {glob!r}: a glob must name files")
    absolute = glob.startswith("/")
    components = [part for part in glob.split("/") if part not in ("", ".")]
    if ".." in components:
        raise UsageError(f"--versions {glob!r}: '..' is not allowed; "
                         "use an absolute glob for paths outside the workspace")
    if not components:
        raise UsageError(f"--versions {glob!r}: a glob must name files")
    return ("/" if absolute else "") + "/".join(components)


class VersionGlobs:
    """The `--versions` globs of a run: relative ones match paths inside the workspace
    (relative to it), absolute ones match any physical absolute path."""

    def __init__(self, globs: Sequence[str], workspace: bytes) -> None:
        self.globs = tuple(globs)
        normalised = [_normalised(glob) for glob in globs]
        self._workspace = os.fsdecode(workspace).rstrip("/") + "/"
        self._absolute = _compiled([glob[1:] for glob in normalised if glob.startswith("/")])
        self._relative = _compiled([glob for glob in normalised if not glob.startswith("/")])

    def __bool__(self) -> bool:
        return bool(self.globs)

    def matches(self, path: bytes) -> bool:
        text = os.fsdecode(path)
        if self._absolute is not None and self._absolute.fullmatch(text[1:]):
            return True
        if self._relative is None or not text.startswith(self._workspace):
            return False
        relative = text[len(self._workspace):]
        return bool(relative) and self._relative.fullmatch(relative) is not None


def _compiled(globs: Sequence[str]) -> re.Pattern[str] | None:
    if not globs:
        return None
    return re.compile("|".join(f"(?:{glob_regex(glob)})" for glob in globs), re.DOTALL)


def rename_target(event: PathEvent) -> bool:
    """Whether `event` is a path that a completed rename just gave new content."""
    if event.syscall not in _RENAMES or not event.succeeded:
        return False
    exchanged = event.operation is Operation.RENAME and event.flags & RENAME_EXCHANGE
    return event.operation is Operation.CREATE or bool(exchanged)
