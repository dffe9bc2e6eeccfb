"""The keys of manifest objects and their JSON types: one table that both validates
loaded manifests and is checked against docs/manifest.md by a test."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

MAX_SHAPES = 1024
"""Shapes an `ObjectCheck` remembers: a manifest has a handful; a hostile one, no more."""


@dataclass(frozen=True)
class Key:
    types: tuple[type, ...]
    required: bool = True
    choices: tuple[object, ...] = ()


_STR = (str,)
_INT = (int,)
_BOOL = (bool,)
_OPT_STR = (str, type(None))
_OPT_INT = (int, type(None))
_OPT_BOOL = (bool, type(None))

MANIFEST_KEYS: dict[str, Key] = {
    "schema": Key(_STR),
    "run_id": Key(_STR),
    "tool_version": Key(_STR),
    "command": Key((list,)),
    "exit_status": Key(_INT),
    "start_cwd": Key(_STR),
    "workspace": Key(_STR),
    "backend": Key(_STR),
    "uid": Key(_INT),
    "gid": Key(_INT),
    "started_at": Key(_STR),
    "finished_at": Key(_STR),
    "capture_reads": Key(_STR, choices=("uncommitted", "all", "none")),
    "max_file_size": Key(_OPT_INT),
    "timings": Key((dict,)),
    "warnings": Key((list,)),
    "git_repositories": Key((list,)),
    "files": Key((list,)),
    "version_globs": Key((list,), required=False),
    "session": Key(_STR, required=False),
}

REPOSITORY_KEYS: dict[str, Key] = {
    "root": Key(_STR),
    "head": Key(_OPT_STR),
    "dirty": Key(_BOOL),
    "head_before": Key(_OPT_STR),
    "dirty_before": Key(_OPT_BOOL),
}

ENTRY_KEYS: dict[str, Key] = {
    "path": Key(_STR),
    "path_b64": Key(_STR, required=False),
    "operations": Key((list,)),
    "in_workspace": Key(_BOOL),
    "before": Key((dict,)),
    "after": Key((dict,)),
    "git": Key((dict,)),
    "versions": Key((list,), required=False),
    "renamed_from": Key(_STR, required=False),
    "renamed_from_b64": Key(_STR, required=False),
    "renamed_to": Key(_STR, required=False),
    "renamed_to_b64": Key(_STR, required=False),
}

LINK_KEYS: dict[str, Key] = {
    "path": Key(_STR),
    "path_b64": Key(_STR, required=False),
}

STATE_KEYS: dict[str, Key] = {
    "exists": Key(_BOOL),
    "type": Key(_STR, required=False, choices=("file", "directory", "symlink", "fifo", "other")),
    "mode": Key(_OPT_INT, required=False),
    "size": Key(_OPT_INT, required=False),
    "mtime_ns": Key(_OPT_INT, required=False),
    "uid": Key(_OPT_INT, required=False),
    "gid": Key(_OPT_INT, required=False),
    "blob": Key(_OPT_STR, required=False),
    "blob_source": Key(_OPT_STR, required=False, choices=("store", "git", None)),
    "target": Key(_OPT_STR, required=False),
    "target_b64": Key(_STR, required=False),
    "xattrs": Key((dict,), required=False),
    "links": Key((list,), required=False),
    "tombstone": Key(_BOOL, required=False),
    "not_captured": Key(_STR, required=False),
}

GIT_KEYS: dict[str, Key] = {
    "in_repo": Key(_BOOL),
    "root": Key(_OPT_STR),
    "head": Key(_OPT_STR),
    "relative_path": Key(_OPT_STR),
    "tracked": Key(_BOOL),
    "dirty": Key(_BOOL),
    "ignored": Key(_BOOL),
}

VERSION_KEYS: dict[str, Key] = {
    "number": Key(_INT),
    "time": Key(_STR),
    "trigger": Key(_STR, choices=("close", "rename")),
    "pid": Key(_INT),
    "exe": Key(_OPT_STR),
    "comm": Key(_OPT_STR),
    "size": Key(_OPT_INT),
    "blob": Key(_OPT_STR),
    "not_captured": Key(_STR, required=False),
}

ALL_OBJECTS: dict[str, dict[str, Key]] = {
    "manifest": MANIFEST_KEYS,
    "git repository": REPOSITORY_KEYS,
    "file entry": ENTRY_KEYS,
    "file state": STATE_KEYS,
    "git context": GIT_KEYS,
    "version": VERSION_KEYS,
    "link": LINK_KEYS,
}


def check_object(data: Any, keys: Mapping[str, Key], what: str) -> None:
    """Raise ValueError naming the first key that is missing or of the wrong type.

    Unknown keys are allowed: the schema lets later versions add keys.
    """
    if not isinstance(data, Mapping):
        raise ValueError(f"{what} is not a JSON object")
    for name, key in keys.items():
        if name not in data:
            if key.required:
                raise ValueError(f"{what} lacks key {name!r}")
            continue
        value = data[name]
        wrong_bool = isinstance(value, bool) and bool not in key.types
        if wrong_bool or not isinstance(value, key.types):
            raise ValueError(f"{what} key {name!r} has the wrong type")
        if key.choices and value not in key.choices:
            raise ValueError(f"{what} key {name!r} has unknown value {value!r}")
    _type_when_exists(data, keys, what)


def _type_when_exists(data: Mapping[str, Any], keys: Mapping[str, Key], what: str) -> None:
    if keys is STATE_KEYS and data["exists"] and "type" not in data:
        raise ValueError(f"{what} exists but has no 'type'")


class ObjectCheck:
    """`check_object` for one kind of object, fast for the thousands of one manifest: the
    shapes (key names and value types, in order) it accepted are remembered, so another
    object of a known shape needs only its values with choices checked."""

    def __init__(self, keys: Mapping[str, Key], what: str) -> None:
        self._keys = keys
        self._what = what
        self._choices = tuple((name, key.choices) for name, key in keys.items() if key.choices)
        self._shapes: set[tuple[str | type, ...]] = set()
        self._typed = keys is STATE_KEYS
        self.deciding = (*(name for name, _choices in self._choices),
                         *(("exists",) if self._typed else ()))
        """The keys whose values, besides every key's name and type, decide whether an
        object passes: a cache of checked objects must tell them apart by these too."""

    def __call__(self, data: Any) -> None:
        """Raise ValueError as `check_object` does."""
        if type(data) is not dict:
            check_object(data, self._keys, self._what)
            return
        shape = (*data, *map(type, data.values()))  # the names, then their values' types
        if shape not in self._shapes:
            check_object(data, self._keys, self._what)
            if len(self._shapes) < MAX_SHAPES:
                self._shapes.add(shape)
            return
        for name, choices in self._choices:
            if name in data and data[name] not in choices:
                raise ValueError(f"{self._what} key {name!r} has unknown value {data[name]!r}")
        if self._typed and data["exists"] and "type" not in data:
            _type_when_exists(data, self._keys, self._what)
