"""Reading recorded runs back: log, show, cat, versions."""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from cowsnap.api.common import PathArg, load_run, open_store, workspace_key
from cowsnap.errors import (
    ContentNotFoundError,
    PathNotInRunError,
    VersionNotFoundError,
)
from cowsnap.model import FileEntry, Manifest, Version
from cowsnap.restore.arguments import split_run
from cowsnap.store.runs import RunSummary


def log(workspace: PathArg = None, store: PathArg = None, cwd: Path | None = None,
        session: str | None = None) -> list[RunSummary]:
    """The workspace's runs (only those of `session` when given), newest first (none
    when there is no store yet)."""
    opened = open_store(store)
    found = opened.runs.summaries(workspace_key(workspace, cwd)) if opened else []
    return [summary for summary in found if session is None or summary.session == session]


def show(run: str | None = None, workspace: PathArg = None, store: PathArg = None,
         cwd: Path | None = None) -> Manifest:
    """The manifest of `run` (an id or unique prefix; default the workspace's newest)."""
    return load_run(run, workspace, store, cwd)[1]


def find_entry(manifest: Manifest, path: str | bytes, cwd: Path | None = None) -> FileEntry:
    """The manifest entry for `path` (absolute, or relative to `cwd`)."""
    raw = os.fsencode(path)
    base = os.fsencode(cwd or Path.cwd())
    absolute = os.path.normpath(os.path.join(base, raw))
    parent, name = os.path.split(absolute)
    candidates = [absolute, os.path.join(os.path.realpath(parent), name)]
    by_path = {entry.path: entry for entry in manifest.files}
    for candidate in candidates:
        if candidate in by_path:
            return by_path[candidate]
    shown = os.fsdecode(absolute)
    raise PathNotInRunError(f"run {manifest.run_id} did not touch {shown}")


def cat(path: str | bytes, side: Literal["before", "after"] = "after", run: str | None = None,
        workspace: PathArg = None, store: PathArg = None,
        cwd: Path | None = None, version: int | None = None) -> Iterator[bytes]:
    """A captured content of `path` in `run`, in chunks: its before- or after-content,
    or with `version`, its intermediate version of that number."""
    opened, manifest = load_run(run, workspace, store, cwd)
    entry = find_entry(manifest, path, cwd)
    if version is None:
        return opened.open_content(entry, side)
    return opened.stream(_blob_of(entry, pick_version(manifest, entry, version)))


@dataclass(frozen=True)
class Versions:
    """The intermediate versions of one path in one run."""

    run_id: str
    path: bytes
    globs: tuple[str, ...]
    versions: tuple[Version, ...]


def versions(path: str | bytes, run: str | None = None, workspace: PathArg = None,
             store: PathArg = None, cwd: Path | None = None) -> Versions:
    """The versions of `path` that `run` (default: the newest) kept with `--versions`."""
    manifest = load_run(run, workspace, store, cwd)[1]
    if not manifest.version_globs:
        raise VersionNotFoundError(f"run {manifest.run_id} was not recorded with --versions")
    entry = find_entry(manifest, path, cwd)
    return Versions(run_id=manifest.run_id, path=entry.path, globs=manifest.version_globs,
                    versions=entry.versions)


def pick_version(manifest: Manifest, entry: FileEntry, number: int) -> Version:
    """Version `number` of `entry`; VersionNotFoundError saying what there is otherwise."""
    shown = entry.path.decode("utf-8", "backslashreplace")
    if not manifest.version_globs:
        raise VersionNotFoundError(f"run {manifest.run_id} was not recorded with --versions")
    if not 1 <= number <= len(entry.versions):
        count = len(entry.versions)
        have = f"versions 1 to {count}" if count > 1 else f"{count or 'no'} version"
        raise VersionNotFoundError(
            f"no version {number} of {shown} in run {manifest.run_id} (it has {have})")
    return entry.versions[number - 1]


def _blob_of(entry: FileEntry, version: Version) -> str:
    if version.blob is None:
        shown = entry.path.decode("utf-8", "backslashreplace")
        raise ContentNotFoundError(
            f"version {version.number} of {shown}: not captured: {version.not_captured}")
    return version.blob


def split_run_argument(arguments: Sequence[str],
                       store: PathArg = None) -> tuple[str | None, list[str]]:
    """`[RUN] [PATH...]`: the run reference (None: the newest) and the paths."""
    opened = open_store(store)
    return split_run(arguments, opened.runs.ids() if opened else [])
