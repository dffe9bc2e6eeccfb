"""A run's diff as text: unified diffs with git's headers, and JSON (cowsnap.cli.diffstat
renders --stat and --name-status).

Each line of a unified diff comes with its kind, so the CLI can colour it
without parsing it again.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from enum import StrEnum
from typing import Any

from cowsnap.diff.model import FileDiff, RunDiff
from cowsnap.model import Aspect, FileState
from cowsnap.paths import display_path


class Kind(StrEnum):
    HEADER = "header"
    META = "meta"
    HUNK = "hunk"
    ADDED = "added"
    REMOVED = "removed"
    CONTEXT = "context"


_ORIGINS = {"+": Kind.ADDED, "-": Kind.REMOVED, " ": Kind.CONTEXT}


_TYPE_BITS, _PERMISSION_BITS = 0o170000, 0o7777
"""`stat.S_IFMT` and `S_IMODE` as masks: those refuse a mode beyond C's (a bundle's
manifest, which diff reads unchecked, may hold any integer)."""


def _mode(state: FileState) -> str:
    mode = state.mode or 0
    if state.type == "symlink":
        return "120000"
    if state.type == "directory":
        return f"040{mode & _PERMISSION_BITS:03o}"
    return f"{(mode & _TYPE_BITS) >> 12:02o}{mode & _PERMISSION_BITS:04o}"


def _side(name: bytes, prefix: bytes) -> bytes:
    """`a/NAME` (an absolute name as it is), quoted with C escapes when it needs to
    be, as git quotes it and every command shows a path (cowsnap.paths.display_path)."""
    return _quoted(name if name.startswith(b"/") else prefix + name)


def _quoted(name: bytes) -> bytes:
    return display_path(name).encode()


def _sides(diff: FileDiff) -> tuple[bytes, bytes]:
    return _side(diff.old_name or diff.name, b"a/"), _side(diff.name, b"b/")


def _mode_lines(diff: FileDiff) -> Iterator[bytes]:
    old, new = diff.old, diff.new
    what = "directory" if (new if new.exists else old).type == "directory" else "file"
    if not old.exists:
        yield f"new {what} mode {_mode(new)}".encode()
    elif not new.exists:
        yield f"deleted {what} mode {_mode(old)}".encode()
    elif _mode(old) != _mode(new):
        yield f"old mode {_mode(old)}".encode()
        yield f"new mode {_mode(new)}".encode()


def unified(diff: FileDiff) -> Iterator[tuple[Kind, bytes]]:
    """The lines (without newlines) of one path's diff."""
    old_name, new_name = _sides(diff)
    yield Kind.HEADER, b"diff --git " + old_name + b" " + new_name
    if diff.old_name is not None:
        yield Kind.META, b"rename from " + _quoted(diff.old_name)
        yield Kind.META, b"rename to " + _quoted(diff.name)
    for line in _mode_lines(diff):
        yield Kind.META, line
    shown = {Aspect.OWNER, Aspect.GROUP, Aspect.XATTRS}
    if diff.status[1] == "m":  # times count when nothing but metadata changed
        shown.add(Aspect.TIMES)
    other = sorted(diff.change & shown)
    if other:
        yield Kind.META, b"metadata changed: " + ", ".join(other).encode()
    if diff.unavailable is not None:
        yield Kind.META, b"content not shown: " + diff.unavailable.encode("utf-8", "replace")
        return
    if diff.binary:
        yield Kind.META, b"Binary files " + old_name + b" and " + new_name + b" differ"
        return
    yield from patch_lines(diff)


def patch_lines(diff: FileDiff) -> Iterator[tuple[Kind, bytes]]:
    """The `---` / `+++` lines and the hunks; nothing when no line changed."""
    if not diff.hunks:
        return
    old_name, new_name = _sides(diff)
    yield Kind.HEADER, b"--- " + (old_name if diff.old.exists else b"/dev/null")
    yield Kind.HEADER, b"+++ " + (new_name if diff.new.exists else b"/dev/null")
    for hunk in diff.hunks:
        yield Kind.HUNK, hunk.header.rstrip(b"\n")
        for origin, content in hunk.lines:
            if origin in _ORIGINS:
                yield _ORIGINS[origin], origin.encode() + content.rstrip(b"\n")
            else:
                yield Kind.META, content.strip(b"\n")


def _text(value: bytes, key: str, out: dict[str, Any]) -> None:
    """A byte string as JSON: text when valid UTF-8, else readable text plus `KEY_b64`."""
    try:
        out[key] = value.decode("utf-8")
    except UnicodeDecodeError:
        out[key] = value.decode("utf-8", "backslashreplace")
        out[f"{key}_b64"] = base64.b64encode(value).decode("ascii")


def _state_json(state: FileState) -> dict[str, Any] | None:
    if not state.exists:
        return None
    out: dict[str, Any] = {"type": state.type, "mode": state.mode, "size": state.size,
                           "blob": state.blob, "target": None}
    if state.target is not None:
        _text(state.target, "target", out)
    return out


def diff_json(run: RunDiff) -> dict[str, Any]:
    """The documented, stable `--json` form (docs/cli-json.md)."""
    files = []
    for diff in run.files:
        out: dict[str, Any] = {}
        _text(diff.path, "path", out)
        _text(diff.name, "name", out)
        out["old_name"] = None
        if diff.old_name is not None:
            _text(diff.old_name, "old_name", out)
        out.update(status=diff.status, old=_state_json(diff.old), new=_state_json(diff.new),
                   binary=diff.binary, additions=diff.additions, deletions=diff.deletions,
                   unavailable=diff.unavailable)
        patch = b"".join(line + b"\n" for _kind, line in patch_lines(diff))
        if patch:
            _text(patch, "patch", out)
        else:
            out["patch"] = None
        files.append(out)
    return {"schema": "cowsnap.diff/1", "run_id": run.run_id, "workspace": run.workspace,
            "files": files}
