"""Checks on a run before anything is restored from it.

A bundle written by `--output` may come from another machine: its manifest
decides which paths get written, so every path must be absolute and
normalised, lie inside the recorded workspace exactly when it says so, and
every state must be coherent, before a single byte is written. Contents are
checked against their ids separately (see `contents`).
"""

from __future__ import annotations

import os
import stat

from cowsnap.errors import StoreError, UntrustedRunError
from cowsnap.model import FileState, Manifest
from cowsnap.paths import within
from cowsnap.store.content import check_blob_id

FORMATS = {"file": stat.S_IFREG, "directory": stat.S_IFDIR, "symlink": stat.S_IFLNK,
           "fifo": stat.S_IFIFO}
KINDS = (*FORMATS, "other")


def path_problem(path: bytes) -> str | None:
    """Why `path` is not an absolute, normalised path, or None."""
    if not path.startswith(b"/") or path.startswith(b"//"):
        return "is not absolute"
    if b"\x00" in path:
        return "holds a NUL byte"
    if os.path.normpath(path) != path:
        return "is not normalised"
    return None


def state_problem(state: FileState) -> str | None:
    """Why `state` cannot describe a real file, or None."""
    if not state.exists:
        return None
    if state.type not in KINDS:
        return f"has an unknown type {state.type!r}"
    if state.mode is not None:
        expected = FORMATS.get(state.type)
        if expected is not None and stat.S_IFMT(state.mode) not in (0, expected):
            return f"has a mode that is not a {state.type}'s"
    if state.type == "symlink" and (not state.target or b"\x00" in state.target):
        return "is a symlink without a valid target"
    if state.blob_source not in (None, "store", "git"):
        return f"has an unknown content source {state.blob_source!r}"
    if state.blob is not None:
        try:
            check_blob_id(state.blob)
        except StoreError:
            return f"refers to a malformed content id {state.blob!r}"
    return None


def check_manifest(manifest: Manifest) -> None:
    """Raise UntrustedRunError naming the first thing wrong with the manifest."""
    workspace = os.fsencode(manifest.workspace)
    problem = path_problem(workspace)
    if problem is not None:
        raise UntrustedRunError(f"run {manifest.run_id}: its workspace {problem}")
    for entry in manifest.files:
        shown = os.fsdecode(entry.path)
        problem = path_problem(entry.path)
        if problem is None and entry.in_workspace != within(entry.path, workspace):
            problem = ("is outside the workspace but recorded inside it" if entry.in_workspace
                       else "is inside the workspace but recorded outside it")
        for side, state in (("before", entry.before), ("after", entry.after)):
            if problem is None and (why := state_problem(state)) is not None:
                problem = f"{side}-state {why}"
        if problem is not None:
            raise UntrustedRunError(f"run {manifest.run_id}: path {shown!r} {problem}")
