"""Reading recorded runs back: log, show, cat, versions, and which run an argument names."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal

from cowsnap.api.common import (
    PathArg,
    load_run,
    open_store,
    workspace_key,
)
from cowsnap.errors import (
    EXIT_ERROR,
    ContentNotFoundError,
    CowsnapError,
    PathNotInRunError,
    RunNotFoundError,
    VersionNotFoundError,
)
from cowsnap.model import TOO_LARGE, FileEntry, Manifest, Operation, Version
from cowsnap.paths import display_path, relative_name
from cowsnap.snapshot.kept import kept_snapshots
from cowsnap.store.runs import RunSummary, summarize
from cowsnap.store.store import Store


@dataclass(frozen=True)
class Unreadable:
    """A run whose summary and manifest cannot be read, and why."""

    run_id: str
    problem: str


@dataclass(frozen=True)
class Log:
    """Runs newest first; runs that cannot be read are named in `unreadable` (their
    workspace is unknown, so they are named whichever workspace is asked for)."""

    runs: tuple[RunSummary, ...]
    unreadable: tuple[Unreadable, ...]
    workspace: str | None
    """The workspace listed; None for every workspace."""

    @property
    def exit_code(self) -> int:
        return EXIT_ERROR if self.unreadable else 0

    @property
    def error(self) -> str | None:
        count = len(self.unreadable)
        if not count:
            return None
        return (f"{count} run{' cannot' if count == 1 else 's cannot'} be read "
                f"(cowsnap check lists the damage; cowsnap forget ID removes a run)")


def _read_summary(opened: Store, run_id: str) -> RunSummary:
    """A run's summary; rebuilt from its manifest when the summary is damaged."""
    try:
        return opened.runs.summary(run_id)
    except RunNotFoundError:
        raise
    except CowsnapError as damaged:
        try:
            return summarize(opened.runs.load(run_id))
        except CowsnapError:
            raise damaged from None


def log(workspace: PathArg = None, store: PathArg = None, cwd: Path | None = None,
        session: str | None = None, *, every_workspace: bool = False,
        limit: int | None = None) -> Log:
    """The workspace's runs (every workspace's with `every_workspace`; only those of
    agent session `session` when given), newest first, at most `limit`; no runs when
    there is no store yet."""
    key = None if every_workspace else workspace_key(workspace, cwd)
    opened = open_store(store)
    if opened is None:
        return Log(runs=(), unreadable=(), workspace=key)
    runs, unreadable = [], []
    for run_id in opened.runs.ids():
        try:
            summary = _read_summary(opened, run_id)
        except RunNotFoundError:
            continue
        except CowsnapError as error:
            unreadable.append(Unreadable(run_id, str(error)))
            continue
        if (key is None or summary.workspace == key) and \
                (session is None or summary.session == session):
            runs.append(summary)
    runs.sort(key=lambda summary: (summary.started_at, summary.run_id), reverse=True)
    listed = [_with_effects(opened, summary) for summary in
              (runs[:limit] if limit is not None else runs)]
    return Log(runs=tuple(listed), unreadable=tuple(unreadable), workspace=key)


def _with_effects(opened: Store, summary: RunSummary) -> RunSummary:
    """A summary written before summaries counted effects gets them from its manifest
    (the stored summary stays as it is, so `check` still matches it)."""
    if summary.effects is not None:
        return summary
    try:
        return replace(summary, effects=summarize(opened.runs.load(summary.run_id)).effects)
    except CowsnapError:
        return summary


def show(run: str | None = None, workspace: PathArg = None, store: PathArg = None,
         cwd: Path | None = None) -> Manifest:
    """The manifest of `run` (a run reference; default the workspace's newest)."""
    return load_run(run, workspace, store, cwd)[1]


def kept_snapshot(manifest: Manifest) -> Path | None:
    """Where the snapshot `run --keep-snapshot` kept for this run is, if there is one."""
    try:
        found = kept_snapshots(Path(manifest.workspace)).get(manifest.run_id)
    except (OSError, ValueError):
        return None
    return found[1] if found else None


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
    raise PathNotInRunError(f"run {manifest.run_id} did not touch "
                            f"{_shown(manifest, absolute)}")


def _shown(manifest: Manifest, path: bytes) -> str:
    """A path as every command shows it: relative to the run's workspace, escaped."""
    return display_path(relative_name(path, manifest.workspace))


def _not_kept(entry: FileEntry, side: Literal["before", "after"]) -> str:
    """Why `entry` has no `side` content, and how to have a future run keep it when
    there is a way."""
    state = entry.before if side == "before" else entry.after
    if state.not_captured == TOO_LARGE:
        return (f"not captured: {TOO_LARGE}; to keep it next time: "
                f"cowsnap run --max-file-size SIZE (default 256M)")
    if state.not_captured is not None:
        return f"not captured: {state.not_captured}"
    if not state.exists:
        return "it did not exist"
    if state.type != "file":
        return f"it was a {state.type}"
    if Operation.READ in entry.operations and entry.before.blob == entry.after.blob:
        return ("not kept: the run only read it; to keep contents of files "
                "a run only reads: cowsnap run --capture-reads all")
    return "its content was not needed"


def cat(path: str | bytes, side: Literal["before", "after"] = "after", run: str | None = None,
        workspace: PathArg = None, store: PathArg = None,
        cwd: Path | None = None, version: int | None = None) -> Iterator[bytes]:
    """A captured content of `path` in `run`, in chunks: its before- or after-content
    (a symlink's target), or with `version`, its intermediate version of that number."""
    opened, manifest = load_run(run, workspace, store, cwd)
    entry = find_entry(manifest, path, cwd)
    if version is not None:
        return opened.stream(_blob_of(manifest, entry, pick_version(manifest, entry, version)))
    state = entry.before if side == "before" else entry.after
    if state.exists and state.type == "symlink" and state.target is not None:
        return iter((state.target,))
    if state.blob is None:
        raise ContentNotFoundError(f"no {side}-content of {_shown(manifest, entry.path)}: "
                                   f"{_not_kept(entry, side)}")
    return opened.open_content(entry, side)


@dataclass(frozen=True)
class Versions:
    """The intermediate versions of one path in one run."""

    run_id: str
    path: bytes
    globs: tuple[str, ...]
    versions: tuple[Version, ...]
    workspace: str = ""
    """The run's workspace, so the path can be shown relative to it."""


def versions(path: str | bytes, run: str | None = None, workspace: PathArg = None,
             store: PathArg = None, cwd: Path | None = None) -> Versions:
    """The versions of `path` that `run` (default: the newest) kept with `--versions`."""
    manifest = load_run(run, workspace, store, cwd)[1]
    if not manifest.version_globs:
        raise VersionNotFoundError(f"run {manifest.run_id} was not recorded with --versions")
    entry = find_entry(manifest, path, cwd)
    return Versions(run_id=manifest.run_id, path=entry.path, globs=manifest.version_globs,
                    versions=entry.versions, workspace=manifest.workspace)


def pick_version(manifest: Manifest, entry: FileEntry, number: int) -> Version:
    """Version `number` of `entry`; VersionNotFoundError saying what there is otherwise."""
    shown = _shown(manifest, entry.path)
    if not manifest.version_globs:
        raise VersionNotFoundError(f"run {manifest.run_id} was not recorded with --versions")
    if not 1 <= number <= len(entry.versions):
        count = len(entry.versions)
        have = f"versions 1 to {count}" if count > 1 else f"{count or 'no'} version"
        raise VersionNotFoundError(
            f"no version {number} of {shown} in run {manifest.run_id} (it has {have})")
    return entry.versions[number - 1]


def _blob_of(manifest: Manifest, entry: FileEntry, version: Version) -> str:
    if version.blob is None:
        raise ContentNotFoundError(f"version {version.number} of {_shown(manifest, entry.path)}: "
                                   f"not captured: {version.not_captured}")
    return version.blob
