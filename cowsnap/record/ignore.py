"""Paths a run never records: $XDG_CONFIG_HOME/cowsnap/ignore.json, a JSON list of paths.

`$HOME` and `$XDG_CONFIG_HOME` in entries are expanded. The file is created with
defaults on first use, and the caller is told so it can say so once. Paths under
an ignored prefix are left out of the manifest entirely (not merely uncaptured),
as are the store and the snapshot, which are always ignored. The ignore list
applies to paths outside the workspace only: whatever the command does inside
the workspace is always recorded.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from cowsnap.errors import IgnoreConfigError
from cowsnap.paths import within
from cowsnap.store.atomic import write_atomic
from cowsnap.store.location import config_dir

DEFAULT_IGNORES = ("/proc", "/dev", "/sys", "/run", "$HOME/.cache")
IGNORE_FILE = "ignore.json"


@dataclass(frozen=True)
class IgnoreRules:
    """Absolute path prefixes (as bytes) below which nothing is recorded."""

    prefixes: tuple[bytes, ...]

    def covers(self, path: bytes) -> bool:
        return any(within(path, prefix) for prefix in self.prefixes)

    def adding(self, paths: Iterable[os.PathLike[str] | str]) -> IgnoreRules:
        extra = tuple(os.fsencode(os.path.abspath(path)) for path in paths)
        return IgnoreRules(self.prefixes + extra)


@dataclass(frozen=True)
class LoadedIgnores:
    rules: IgnoreRules
    path: Path
    created: bool


def expand(entry: str, env: Mapping[str, str]) -> str:
    home = env.get("HOME") or os.path.expanduser("~")
    config_home = env.get("XDG_CONFIG_HOME") or os.path.join(home, ".config")
    expanded = entry.replace("$XDG_CONFIG_HOME", config_home).replace("$HOME", home)
    return os.path.normpath(os.path.expanduser(expanded) if expanded.startswith("~") else expanded)


def parse_ignores(raw: bytes, source: Path, env: Mapping[str, str]) -> IgnoreRules:
    """The rules in an ignore.json's bytes; anything but a list of absolute paths is an error."""
    try:
        entries = json.loads(raw)
    except (ValueError, UnicodeDecodeError, RecursionError) as error:
        raise IgnoreConfigError(f"{source} is not valid JSON: {error}") from None
    if not isinstance(entries, list) or not all(isinstance(item, str) for item in entries):
        raise IgnoreConfigError(f"{source} must be a JSON list of path strings")
    prefixes = []
    for entry in entries:
        path = expand(entry, env)
        if not path.startswith("/"):
            raise IgnoreConfigError(f"{source}: {entry!r} is not an absolute path")
        prefixes.append(os.fsencode(path))
    return IgnoreRules(tuple(prefixes))


def load_ignores(environ: Mapping[str, str] | None = None) -> LoadedIgnores:
    """Read the ignore configuration, creating it with the defaults if it is missing."""
    env = os.environ if environ is None else environ
    directory = config_dir(env)
    path = directory / IGNORE_FILE
    created = False
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raw = (json.dumps(list(DEFAULT_IGNORES), indent=1) + "\n").encode()
        try:
            directory.mkdir(parents=True, exist_ok=True, mode=0o700)
            write_atomic(path, raw, mode=0o644)
        except OSError as error:
            raise IgnoreConfigError(f"cannot create {path}: {error.strerror}") from None
        created = True
    except OSError as error:
        raise IgnoreConfigError(f"cannot read {path}: {error.strerror}") from None
    return LoadedIgnores(parse_ignores(raw, path, env), path, created)
