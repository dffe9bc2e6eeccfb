"""The manifest's JSON form (schema cowsnap.manifest/1) and its validation on load.

Paths are bytes in memory. In JSON a path that is valid UTF-8 is a plain string;
any other gets a readable `path` (undecodable bytes as \\xNN) plus the exact
bytes in `path_b64`, which wins on load. Symlink targets and the rename links do
the same.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator, Mapping
from dataclasses import replace
from json.encoder import encode_basestring_ascii as _encode_string
from typing import Any

from cowsnap.errors import CorruptManifestError
from cowsnap.model.entry import SCHEMA, FileEntry, GitInfo, GitRepository, Manifest, Version
from cowsnap.model.operations import Operation
from cowsnap.model.schema import (
    ENTRY_KEYS,
    GIT_KEYS,
    LINK_KEYS,
    MANIFEST_KEYS,
    MAX_SHAPES,
    REPOSITORY_KEYS,
    STATE_KEYS,
    VERSION_KEYS,
    ObjectCheck,
    check_object,
)
from cowsnap.model.state import ABSENT, FileState, Xattrs


def encode_bytes(value: bytes, key: str, out: dict[str, Any]) -> None:
    """`value` under `key` as text; plus `KEY_b64` with the exact bytes when not UTF-8."""
    try:
        out[key] = value.decode("utf-8")
    except UnicodeDecodeError:
        out[key] = value.decode("utf-8", "backslashreplace")
        out[f"{key}_b64"] = base64.b64encode(value).decode("ascii")


def _xattrs_to_json(xattrs: Xattrs) -> dict[str, str]:
    return {name: base64.b64encode(value).decode("ascii") for name, value in xattrs}


def _xattrs_from_json(data: Any) -> Xattrs | None:
    if data is None:
        return None
    if not data:
        return ()
    if not all(isinstance(value, str) for value in data.values()):
        raise ValueError("file state key 'xattrs' must map names to base64 values")
    return tuple(sorted((str(name), base64.b64decode(value, validate=True))
                        for name, value in data.items()))


def state_to_json(state: FileState) -> dict[str, Any]:
    if not state.exists:
        out: dict[str, Any] = {"exists": False}
        if state.tombstone:
            out["tombstone"] = True
        if state.not_captured is not None:
            out["not_captured"] = state.not_captured
        return out
    out = {
        "exists": True, "type": state.type, "mode": state.mode, "size": state.size,
        "mtime_ns": state.mtime_ns, "uid": state.uid, "gid": state.gid, "blob": state.blob,
        "blob_source": state.blob_source, "target": None,
    }
    if state.target is not None:
        encode_bytes(state.target, "target", out)
    if state.xattrs is not None:
        out["xattrs"] = _xattrs_to_json(state.xattrs)
    if state.links:
        out["links"] = [_link_to_json(link) for link in state.links]
    if state.not_captured is not None:
        out["not_captured"] = state.not_captured
    return out


def _entry_to_json(entry: FileEntry) -> dict[str, Any]:
    out: dict[str, Any] = {}
    encode_bytes(entry.path, "path", out)
    out["operations"] = [str(op) for op in entry.operations]
    out["in_workspace"] = entry.in_workspace
    out["before"] = state_to_json(entry.before)
    out["after"] = state_to_json(entry.after)
    out["git"] = _git_to_json(entry.git)
    for key, value in (("renamed_from", entry.renamed_from), ("renamed_to", entry.renamed_to)):
        if value is not None:
            encode_bytes(value, key, out)
    if entry.versions:
        out["versions"] = [version_to_dict(version) for version in entry.versions]
    return out


def _git_to_json(git: GitInfo) -> dict[str, Any]:
    return {"in_repo": git.in_repo, "root": git.root, "head": git.head,
            "relative_path": git.relative_path, "tracked": git.tracked,
            "dirty": git.dirty, "ignored": git.ignored}


def _link_to_json(path: bytes) -> dict[str, Any]:
    out: dict[str, Any] = {}
    encode_bytes(path, "path", out)
    return out


def version_to_dict(version: Version) -> dict[str, Any]:
    out: dict[str, Any] = {
        "number": version.number, "time": version.time, "trigger": version.trigger,
        "pid": version.pid, "exe": version.exe, "comm": version.comm,
        "size": version.size, "blob": version.blob,
    }
    if version.not_captured is not None:
        out["not_captured"] = version.not_captured
    return out


_check_version = ObjectCheck(VERSION_KEYS, "version")
_check_state = ObjectCheck(STATE_KEYS, "file state")
_check_link = ObjectCheck(LINK_KEYS, "link")
_check_entry = ObjectCheck(ENTRY_KEYS, "file entry")
_check_git = ObjectCheck(GIT_KEYS, "git context")
MAX_SHARED = 1024
"""Distinct operation lists and git contexts shared between the entries of one load."""


def _version_from_json(data: Mapping[str, Any]) -> Version:
    _check_version(data)
    return Version(number=data["number"], time=data["time"], trigger=data["trigger"],
                   pid=data["pid"], exe=data["exe"], comm=data["comm"], size=data["size"],
                   blob=data["blob"], not_captured=data.get("not_captured"))


def _versions_from_json(data: Any) -> tuple[Version, ...]:
    versions = tuple(_version_from_json(version) for version in data)
    if [version.number for version in versions] != list(range(1, len(versions) + 1)):
        raise ValueError("versions are not numbered 1, 2, ... in order")
    return versions


def manifest_to_dict(manifest: Manifest) -> dict[str, Any]:
    return {
        "schema": manifest.schema,
        "run_id": manifest.run_id,
        "tool_version": manifest.tool_version,
        "command": list(manifest.command),
        "exit_status": manifest.exit_status,
        "start_cwd": manifest.start_cwd,
        "workspace": manifest.workspace,
        "backend": manifest.backend,
        "uid": manifest.uid,
        "gid": manifest.gid,
        "started_at": manifest.started_at,
        "finished_at": manifest.finished_at,
        "capture_reads": manifest.capture_reads,
        "max_file_size": manifest.max_file_size,
        "timings": dict(manifest.timings),
        "warnings": list(manifest.warnings),
        "git_repositories": [
            {"root": r.root, "head": r.head, "dirty": r.dirty,
             "head_before": r.head_before, "dirty_before": r.dirty_before}
            for r in manifest.git_repositories
        ],
        "files": [_entry_to_json(entry) for entry in sorted(manifest.files, key=lambda e: e.path)],
        "version_globs": list(manifest.version_globs),
        **({"session": manifest.session} if manifest.session is not None else {}),
    }


def dump_manifest(manifest: Manifest) -> bytes:
    """The manifest as JSON bytes: ASCII, one file entry per line (diffable, and fast:
    `indent` would force json's pure-Python encoder, six times slower on large runs)."""
    return b"".join(manifest_chunks(manifest))


_ENTRY_ENCODER = json.JSONEncoder(separators=(", ", ": "))
_encode = _ENTRY_ENCODER.encode  # json.dumps would make an encoder per call


CHUNK_ENTRIES = 256
"""File entries per piece of `manifest_chunks`: few pieces to hash and write, each small."""


def _scalar(value: object) -> str:
    """`value` exactly as the entry encoder writes it, without its per-call set-up for
    the usual kinds (an int, None, a str)."""
    if type(value) is int:
        return int.__repr__(value)  # what json writes for an int
    if value is None:
        return "null"
    if type(value) is str:
        return _encode_string(value)
    return _encode(value)


_STATE = ('{"exists": true, "type": %s, "mode": %s, "size": %s, "mtime_ns": %s, "uid": %s, '
          '"gid": %s, "blob": %s, "blob_source": %s, "target": null%s}')
_ENTRY = '{"path": %s, "operations": %s, "in_workspace": %s, "before": %s, "after": %s, "git": %s}'


def _state_text(state: FileState) -> str:
    """`_encode(state_to_json(state))`, made directly for the usual state (one that
    exists, without target, links, extended attributes or uncaptured reason): a restore
    or a run writes one per path and side."""
    if state is ABSENT:
        return '{"exists": false}'
    xattrs = state.xattrs
    if (not state.exists or state.target is not None or state.links
            or state.not_captured is not None or (xattrs is not None and xattrs != ())):
        return _encode(state_to_json(state))
    return _STATE % (_scalar(state.type), _scalar(state.mode), _scalar(state.size),
                     _scalar(state.mtime_ns), _scalar(state.uid), _scalar(state.gid),
                     _scalar(state.blob), _scalar(state.blob_source),
                     "" if xattrs is None else ', "xattrs": {}')


_BOOLEAN = {True: "true", False: "false"}


class _EntryWriter:
    """`_encode(_entry_to_json(entry))` for the entries of one manifest, made directly for
    the usual entry (a UTF-8 path, no rename, no versions). Operation lists and git
    contexts are shared between entries, so each is encoded once (by identity: the
    manifest being written holds them)."""

    def __init__(self) -> None:
        self._operations: dict[int, tuple[tuple[Operation, ...], str]] = {}
        self._contexts: dict[int, tuple[GitInfo, str]] = {}

    def text(self, entry: FileEntry) -> str:
        in_workspace = _BOOLEAN.get(entry.in_workspace) \
            if type(entry.in_workspace) is bool else None
        if (in_workspace is None or entry.renamed_from is not None
                or entry.renamed_to is not None or entry.versions):
            return _encode(_entry_to_json(entry))
        try:
            path = entry.path.decode("utf-8")
        except UnicodeDecodeError:
            return _encode(_entry_to_json(entry))
        operations = self._operations.get(id(entry.operations))
        if operations is None or operations[0] is not entry.operations:
            operations = self._operations[id(entry.operations)] = (
                entry.operations, _encode([str(op) for op in entry.operations]))
        git = self._contexts.get(id(entry.git))
        if git is None or git[0] is not entry.git:
            git = self._contexts[id(entry.git)] = (entry.git, _encode(_git_to_json(entry.git)))
        return _ENTRY % (_encode_string(path), operations[1], in_workspace,
                         _state_text(entry.before), _state_text(entry.after), git[1])


def manifest_chunks(manifest: Manifest) -> Iterator[bytes]:
    """`dump_manifest` in pieces of CHUNK_ENTRIES file entries, so that writing the
    manifest of a large run never holds it whole (nor every entry's dict) in memory."""
    data = manifest_to_dict(replace(manifest, files=()))
    del data["files"]
    head = json.dumps(data, separators=(", ", ": "))[:-1]
    if not manifest.files:
        yield f'{head}, "files": []}}\n'.encode("ascii")
        return
    yield f'{head}, "files": [\n'.encode("ascii")
    entry_text = _EntryWriter().text
    files = sorted(manifest.files, key=lambda e: e.path)
    for start in range(0, len(files), CHUNK_ENTRIES):
        text = ",\n".join([entry_text(entry) for entry in files[start:start + CHUNK_ENTRIES]])
        yield (",\n" + text if start else text).encode("ascii")
    yield b"\n]}\n"


def _state_from_json(data: Mapping[str, Any], checked: bool = False) -> FileState:
    """`checked`: `data` is known to pass `_check_state` (its entry's shape was seen)."""
    if not checked:
        _check_state(data)
    if not data["exists"]:
        tombstone, not_captured = bool(data.get("tombstone", False)), data.get("not_captured")
        if not tombstone and not_captured is None:
            return ABSENT
        return FileState(exists=False, tombstone=tombstone, not_captured=not_captured)
    get = data.get
    links, xattrs = get("links"), get("xattrs")
    return FileState(
        exists=True, type=data["type"], mode=data["mode"], size=data["size"],
        mtime_ns=data["mtime_ns"], uid=get("uid"), gid=get("gid"),
        blob=data["blob"], blob_source=get("blob_source"),
        target=_decoded(data, "target", "target_b64"),
        xattrs=None if xattrs is None else _xattrs_from_json(xattrs),
        links=tuple(_link_from_json(link) for link in links) if links else (),
        not_captured=get("not_captured"),
    )


def _decoded(data: Mapping[str, Any], key: str, key_b64: str) -> bytes | None:
    """The bytes `key` holds: base64 in `key_b64` when they are not UTF-8, else text
    (the name of the `_b64` key is given, so that none is formatted per path)."""
    encoded = data.get(key_b64)
    if encoded is not None:
        return base64.b64decode(encoded, validate=True)
    text = data.get(key)
    return None if text is None else str(text).encode("utf-8")


def _absolute(data: Mapping[str, Any], key: str, key_b64: str) -> bytes | None:
    path = _decoded(data, key, key_b64)
    if path is not None and not path.startswith(b"/"):
        raise ValueError(f"{key} {data.get(key)!r} is not absolute")
    return path


def _link_from_json(data: Any) -> bytes:
    _check_link(data)
    path = _absolute(data, "path", "path_b64")
    assert path is not None
    return path


def _shared(cache: dict[tuple[Any, ...], Any], key: tuple[Any, ...], make: Any) -> Any:
    """`make()`, or the equal value made for `key` before (they are immutable)."""
    try:
        return cache[key]
    except KeyError:
        value = cache[key] = make()
    except TypeError:  # an unhashable value: `make` says what is wrong with it
        return make()
    if len(cache) > MAX_SHARED:
        cache.clear()
    return value


def _entry_shape(data: Any) -> tuple[object, ...] | None:
    """What decides whether an entry and its two states pass their checks: the key names
    and value types of each (in order) and the values their checks look at (`deciding`,
    from the schema; they may not be hashable). None when the entry or a state is not a
    JSON object."""
    if type(data) is not dict:
        return None
    before, after = data.get("before"), data.get("after")
    if type(before) is not dict or type(after) is not dict:
        return None
    entry, state = _check_entry.deciding, _check_state.deciding
    return (len(data), *data, *map(type, data.values()), *map(data.get, entry),
            len(before), *before, *map(type, before.values()), *map(before.get, state),
            len(after), *after, *map(type, after.values()), *map(after.get, state))


class _Shared:
    """What the entries of one load share: the shapes of entries that passed their checks
    (`_entry_shape`), and equal operation lists and git contexts, made once."""

    def __init__(self) -> None:
        self.shapes: set[tuple[object, ...]] = set()
        self.operations: dict[tuple[Any, ...], Any] = {}
        self.contexts: dict[tuple[Any, ...], GitInfo] = {}

    def git(self, data: Any) -> GitInfo:
        """The git context `data` describes, checked; one object per distinct context
        (known by its key names, value types and values, which decide its check)."""
        known = None
        if type(data) is dict:
            known = (*data, *map(type, data.values()), *data.values())
            try:
                return self.contexts[known]
            except KeyError:
                pass
            except TypeError:  # an unhashable value: `_check_git` says what is wrong
                known = None
        _check_git(data)
        context = GitInfo(**{key: data[key] for key in GIT_KEYS})
        if known is not None:
            if len(self.contexts) >= MAX_SHARED:
                self.contexts.clear()
            self.contexts[known] = context
        return context


def _entry_from_json(data: Mapping[str, Any], shared: _Shared) -> FileEntry:
    shape = _entry_shape(data)
    try:
        checked = shape in shared.shapes
    except TypeError:  # a value that cannot be hashed: the full checks say what is wrong
        shape, checked = None, False
    if not checked:
        _check_entry(data)
    git = shared.git(data["git"])
    path = _absolute(data, "path", "path_b64")
    assert path is not None
    names = data["operations"]
    versions = data.get("versions")
    entry = FileEntry(
        path=path,
        operations=_shared(shared.operations, tuple(names),
                           lambda: tuple(Operation(op) for op in names)),
        before=_state_from_json(data["before"], checked),
        after=_state_from_json(data["after"], checked),
        git=git,
        in_workspace=data["in_workspace"],
        versions=_versions_from_json(versions) if versions else (),
        renamed_from=_absolute(data, "renamed_from", "renamed_from_b64"),
        renamed_to=_absolute(data, "renamed_to", "renamed_to_b64"),
    )
    if not checked and shape is not None and len(shared.shapes) < MAX_SHAPES:
        shared.shapes.add(shape)
    return entry


def manifest_from_dict(data: Mapping[str, Any]) -> Manifest:
    """Validate and build; raises ValueError (with the reason) on any deviation."""
    if not isinstance(data, Mapping):
        raise ValueError("not a JSON object")
    if data.get("schema") != SCHEMA:
        raise ValueError(f"schema is {data.get('schema')!r}, expected {SCHEMA!r}")
    check_object(data, MANIFEST_KEYS, "manifest")
    for key in ("command", "warnings", "version_globs"):
        if not all(isinstance(item, str) for item in data.get(key, ())):
            raise ValueError(f"manifest key {key!r} must be a list of strings")
    if not all(isinstance(value, int | float) for value in data["timings"].values()):
        raise ValueError("manifest key 'timings' must map names to seconds")
    repositories = []
    for repository in data["git_repositories"]:
        check_object(repository, REPOSITORY_KEYS, "git repository")
        repositories.append(GitRepository(**{key: repository[key] for key in REPOSITORY_KEYS}))
    shared = _Shared()
    files = tuple(_entry_from_json(entry, shared) for entry in data["files"])
    if [entry.path for entry in files] != sorted(entry.path for entry in files):
        raise ValueError("files are not sorted by path")
    return Manifest(
        run_id=data["run_id"], tool_version=data["tool_version"],
        command=tuple(data["command"]), exit_status=data["exit_status"],
        start_cwd=data["start_cwd"], workspace=data["workspace"], backend=data["backend"],
        uid=data["uid"], gid=data["gid"], started_at=data["started_at"],
        finished_at=data["finished_at"], git_repositories=tuple(repositories), files=files,
        warnings=tuple(data["warnings"]), capture_reads=data["capture_reads"],
        max_file_size=data["max_file_size"], timings=dict(data["timings"]),
        version_globs=tuple(data.get("version_globs", ())),
        session=data.get("session"),
    )


def load_manifest(raw: bytes, source: str) -> Manifest:
    """Parse manifest bytes read from `source`; any defect is a CorruptManifestError."""
    try:
        return manifest_from_dict(json.loads(raw))
    except KeyError as error:
        raise CorruptManifestError(f"corrupt manifest {source}: a required key "
                                   f"{error} is missing") from None
    except (ValueError, TypeError, UnicodeDecodeError, AttributeError) as error:
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise CorruptManifestError(f"corrupt manifest {source}: {reason}") from None
