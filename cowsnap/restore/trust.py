"""Checks on a run before anything is restored from it, and what an untrusted run may do.

A bundle written by `--output` may come from another machine: its manifest
decides which paths get written, so every path must be absolute and
normalised, lie inside the recorded workspace exactly when it says so, appear
once, and every state must be coherent with values the system can hold,
before a single byte is written. Contents are checked against their ids
separately (see `contents`).

A run this user did not record on this machine (a bundle, a fetched run,
another user's store: its origin tag does not verify, cowsnap/origin.py) is
then confined (`confine`): its paths are remapped from its recorded workspace
into the workspace restored into, paths it recorded outside its workspace are
left alone unless asked for, and a workspace that is `/`, holds the store, this
user's origin key (cowsnap/origin.py: a run that could replace it could make the
next one pass as recorded here) or a system directory, or lies inside one, is
refused. Set-id bits and owners
come back only from the restoring user's own runs, or when asked for.
"""

from __future__ import annotations

import dataclasses
import os
import stat
from collections.abc import Callable
from dataclasses import dataclass
from operator import attrgetter
from typing import Any

from cowsnap.errors import StoreError, UntrustedRunError
from cowsnap.model import NOT_IN_REPO, FileEntry, FileState, Manifest, Version
from cowsnap.paths import within
from cowsnap.store.content import check_blob_id

FORMATS = {"file": stat.S_IFREG, "directory": stat.S_IFDIR, "symlink": stat.S_IFLNK,
           "fifo": stat.S_IFIFO}
KINDS = (*FORMATS, "other")
INT64 = 2**63
UID_LIMIT = 2**32 - 1
"""uid_t is 32 bits and (uid_t)-1 means "leave unchanged" to chown."""
MODE_LIMIT = 0o200000
SET_ID = stat.S_ISUID | stat.S_ISGID
SYSTEM_TREES = tuple(os.fsencode(path) for path in (
    "/bin", "/boot", "/dev", "/etc", "/lib", "/lib32", "/lib64", "/libx32", "/proc", "/sbin",
    "/sys", "/usr"))
"""No untrusted run is restored into or beneath these."""
SYSTEM_DIRECTORIES = (*SYSTEM_TREES, *(os.fsencode(path) for path in (
    "/root", "/run", "/var/lib", "/var/log", "/var/spool", "/var/cache", "/home")))
"""Nor into any directory holding one of these."""
OUTSIDE = "recorded outside its workspace: restored only with --outside"


def path_problem(path: bytes) -> str | None:
    """Why `path` is not an absolute, normalised path, or None."""
    if not path.startswith(b"/") or path.startswith(b"//"):
        return "is not absolute"
    if b"\x00" in path:
        return "holds a NUL byte"
    # Without an empty name (`//`, a trailing `/`) or one beginning with a dot (`/.`: `.`
    # and `..` among them) a path is normalised: normpath is asked only otherwise.
    if (b"//" in path or b"/." in path or path.endswith(b"/")) \
            and os.path.normpath(path) != path:
        return "is not normalised"
    return None


def _value_problem(state: FileState) -> str | None:
    """Why a number in `state` cannot be a real file's (it would overflow a syscall)."""
    mode, size, mtime_ns, uid, gid = state.mode, state.size, state.mtime_ns, state.uid, state.gid
    if mode is not None and (type(mode) is not int or not 0 <= mode < MODE_LIMIT):
        return f"has an impossible mode {mode!r}"
    if size is not None and (type(size) is not int or not 0 <= size < INT64):
        return f"has an impossible size {size!r}"
    if mtime_ns is not None and (type(mtime_ns) is not int or not -INT64 <= mtime_ns < INT64):
        return f"has an impossible mtime_ns {mtime_ns!r}"
    if uid is not None and (type(uid) is not int or not 0 <= uid < UID_LIMIT):
        return f"has an impossible uid {uid!r}"
    if gid is not None and (type(gid) is not int or not 0 <= gid < UID_LIMIT):
        return f"has an impossible gid {gid!r}"
    return None


def state_problem(state: FileState) -> str | None:
    """Why `state` cannot describe a real file, or None."""
    if not state.exists:
        return None
    if (why := _value_problem(state)) is not None:
        return why
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
    return _content_problem(state.blob, state.size)


def _version_problem(version: Version) -> str | None:
    """Why an intermediate version cannot be a real content's, or None."""
    if version.size is not None and (type(version.size) is not int
                                     or not 0 <= version.size < INT64):
        return f"has an impossible size {version.size!r}"
    return _content_problem(version.blob, version.size)


def _content_problem(blob: str | None, size: int | None) -> str | None:
    """Why `blob` cannot be a content id, or None (None: no content). A content always
    comes with the size it was kept at: restore checks it against what it reads, and
    writes that many bytes."""
    if blob is not None:
        try:
            check_blob_id(blob)
        except StoreError:
            return f"refers to a malformed content id {blob!r}"
        if size is None:
            return "names a content but records no size"
    return None


def check_manifest(manifest: Manifest) -> None:
    """Raise UntrustedRunError naming the first thing wrong with the manifest."""
    workspace = os.fsencode(manifest.workspace)
    problem = path_problem(workspace)
    if problem is not None:
        raise UntrustedRunError(f"run {manifest.run_id}: its workspace {problem}")
    for name, value in (("uid", manifest.uid), ("gid", manifest.gid)):
        if type(value) is not int or not 0 <= value < UID_LIMIT:
            raise UntrustedRunError(f"run {manifest.run_id}: impossible {name} {value!r}")
    inside = workspace.rstrip(b"/") + b"/"  # within(path, workspace), made once
    seen: set[bytes] = set()
    outside = {entry.path for entry in manifest.files if not entry.in_workspace}
    for entry in manifest.files:
        path = entry.path
        problem = path_problem(path)
        if problem is None and path in seen:
            problem = "appears twice"
        seen.add(path)
        if problem is None and entry.in_workspace != (path == workspace
                                                      or path.startswith(inside)):
            problem = ("is outside the workspace but recorded inside it" if entry.in_workspace
                       else "is inside the workspace but recorded outside it")
        for side, state in (("before", entry.before), ("after", entry.after)):
            if problem is None and (why := state_problem(state)) is not None:
                problem = f"{side}-state {why}"
            if problem is None and state.links and any(path_problem(link) or not (
                    within(link, workspace) or link in outside) for link in state.links):
                problem = (f"{side}-state links to a name that is neither a workspace path "
                           f"nor one the run recorded outside it")
        for version in entry.versions:
            if problem is None and (why := _version_problem(version)) is not None:
                problem = f"version {version.number} {why}"
        if problem is not None:
            raise UntrustedRunError(f"run {manifest.run_id}: path {os.fsdecode(path)!r} "
                                    f"{problem}")


def workspace_problem(workspace: bytes, store_root: bytes, key_dir: bytes = b"") -> str | None:
    """Why an untrusted run may not be restored into (or recorded in) `workspace`."""
    if workspace == b"/":
        return "is /"
    for system in SYSTEM_TREES:
        if within(workspace, system):
            return f"is or lies inside the system directory {os.fsdecode(system)}"
    if within(store_root, workspace):
        return f"holds the store {os.fsdecode(store_root)}"
    if key_dir and within(key_dir, workspace):
        return f"holds cowsnap's origin key directory {os.fsdecode(key_dir)}"
    for system in SYSTEM_DIRECTORIES:
        if within(system, workspace):
            return f"holds the system directory {os.fsdecode(system)}"
    return None


def _replacer(cls: Any) -> Callable[..., Any]:
    """`dataclasses.replace` for the dataclass `cls`, made for the thousands of entries and
    states of a run: the fields read in one call, the changed ones set, all passed by
    position (each of them is an `__init__` argument, in the order of `fields`)."""
    fields = dataclasses.fields(cls)
    if not all(field.init for field in fields):
        raise TypeError(f"{cls.__name__} has a field __init__ does not take")
    position = {field.name: index for index, field in enumerate(fields)}
    values_of = attrgetter(*position)

    def replace(instance: Any, **changes: Any) -> Any:
        values = list(values_of(instance))
        for name, value in changes.items():
            values[position[name]] = value
        return cls(*values)

    return replace


_state_with: Callable[..., FileState] = _replacer(FileState)
_entry_with: Callable[..., FileEntry] = _replacer(FileEntry)


def _unprivileged(state: FileState) -> FileState:
    """`state` without set-id bits, an owner or group, or extended attributes (file
    capabilities among them) to restore."""
    if not state.exists:
        return state
    mode = None if state.mode is None else state.mode & ~SET_ID
    return _state_with(state, mode=mode, uid=None, gid=None, xattrs=None)


def _moved(entry: FileEntry, recorded: bytes, workspace: bytes, outside: bool) -> FileEntry:
    """`entry` with its path under `workspace` instead of `recorded`; content only from
    the run's own store (a git repository named by the run is not asked). Its links to
    names recorded outside the workspace are kept only when those are restored too."""
    def moved(path: bytes) -> bytes:
        return workspace.rstrip(b"/") + path[len(recorded.rstrip(b"/")):]

    def links(state: FileState) -> FileState:
        if not state.links:
            return state
        return _state_with(state, links=tuple(
            moved(link) if within(link, recorded) else link for link in state.links
            if outside or within(link, recorded)))

    path = moved(entry.path) if entry.in_workspace else entry.path
    return _entry_with(entry, path=path, git=NOT_IN_REPO, before=links(entry.before),
                       after=links(entry.after))


@dataclass(frozen=True)
class Confined:
    """A run as restore may use it."""

    manifest: Manifest
    skipped: tuple[tuple[bytes, str], ...]
    """Paths left alone, with why (recorded outside the workspace, without --outside)."""
    owners: bool
    """Whether recorded owners may be restored (chown): the user's own run, or asked."""
    recorded_here: bool
    """Whether this user recorded the run on this machine: only then are its recorded
    sizes and times trusted to stand for contents (the stat rule, restore/observe.py)."""


@dataclass(frozen=True)
class TrustOptions:
    recorded_here: bool
    """The run's origin tag verified: this user recorded it on this machine."""
    workspace: bytes | None = None
    """Where an untrusted run is restored into (absolute, resolved)."""
    store_root: bytes = b""
    key_dir: bytes = b""
    """Where this user's origin key lives (resolved): never written by such a run."""
    outside: bool = False
    """Restore an untrusted run's paths recorded outside its workspace too."""
    same_owner: bool = False
    """Restore recorded owners and set-id bits even from an untrusted or another user's run."""


def _confined_workspace(manifest: Manifest, options: TrustOptions) -> bytes:
    recorded = os.fsencode(manifest.workspace)
    if options.workspace is None:
        raise UntrustedRunError(f"run {manifest.run_id} was not recorded here by this user: "
                                f"name the workspace to restore it into")
    for role, workspace in (("recorded", recorded), ("target", options.workspace)):
        why = workspace_problem(workspace, options.store_root, options.key_dir)
        if why is not None:
            shown = os.fsdecode(workspace)
            raise UntrustedRunError(
                f"run {manifest.run_id} was not recorded here by this user, and its "
                f"{role} workspace {shown} {why}: refused")
    return options.workspace


def confine(manifest: Manifest, options: TrustOptions) -> Confined:
    """Check `manifest`, and make it what restore may do with it (module docstring): one
    function for every run not recorded here by this user (bundles, fetched runs)."""
    check_manifest(manifest)
    own = options.recorded_here and manifest.uid == os.geteuid()
    privileged = own or options.same_owner
    skipped: list[tuple[bytes, str]] = []
    if options.recorded_here:
        entries = list(manifest.files)
        workspace = os.fsencode(manifest.workspace)
    else:
        workspace = _confined_workspace(manifest, options)
        recorded = os.fsencode(manifest.workspace)
        entries = []
        for entry in manifest.files:
            if not entry.in_workspace and not options.outside:
                skipped.append((entry.path, OUTSIDE))
                continue
            moved = _moved(entry, recorded, workspace, options.outside)
            if options.store_root and within(moved.path, options.store_root):
                skipped.append((moved.path, "lies inside the store: never restored"))
                continue
            if options.key_dir and within(moved.path, options.key_dir):
                skipped.append((moved.path, "lies inside cowsnap's origin key directory: "
                                            "never restored"))
                continue
            entries.append(moved)
    if not privileged:
        entries = [_entry_with(entry, before=_unprivileged(entry.before),
                               after=_unprivileged(entry.after))
                   for entry in entries]
    confined = dataclasses.replace(manifest, workspace=os.fsdecode(workspace),
                                   files=tuple(sorted(entries, key=lambda entry: entry.path)))
    if (confined.workspace, confined.files) != (manifest.workspace, manifest.files):
        check_manifest(confined)  # what was checked above is what restore uses otherwise
    return Confined(confined, tuple(skipped), owners=privileged,
                    recorded_here=options.recorded_here)
