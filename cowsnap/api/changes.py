"""What a run changed: diff (undoing or redoing it is cowsnap.api.restoring).

`diff` compares a run's before- and after-state; `diff_runs` the state after one
run with the state after another; `diff_now` a run's after-state with the
workspace as it is now (git's `diff COMMIT`).
"""

from __future__ import annotations

import fnmatch
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from cowsnap.api.common import PathArg, load_run
from cowsnap.api.reading import find_entry, pick_version
from cowsnap.diff.model import RunDiff, file_diff, run_diff
from cowsnap.model import Aspect, FileEntry, FileState, Manifest
from cowsnap.paths import within
from cowsnap.record.state import read_state
from cowsnap.restore.arguments import resolve_paths
from cowsnap.restore.plan import seen_entries
from cowsnap.store.store import Store

Source = tuple[FileEntry, str]
"""Where one side of a compared path comes from: a run's entry and its side."""


def _reader(opened: Store) -> Callable[[FileEntry, str], bytes]:
    def read(entry: FileEntry, side: str) -> bytes:
        return b"".join(opened.open_content(entry, "before" if side == "before" else "after"))
    return read


@dataclass(frozen=True)
class Changes(RunDiff):
    """A run's diff, with the renames its manifest recorded."""

    renames: Mapping[bytes, bytes] = field(default_factory=dict)
    """Each path a rename created, and the path it was renamed from (absolute)."""


def _is_glob(path: str | bytes) -> bool:
    return any(char in os.fsencode(path) for char in b"*?[")


def diff(run: str | None = None, paths: Sequence[str | bytes] = (), workspace: PathArg = None,
         store: PathArg = None, cwd: Path | None = None) -> Changes:
    """What `run` changed under `paths` (everything when empty), one FileDiff per path.
    A path with `*`, `?` or `[` is a glob over names relative to the workspace, as
    git's pathspecs (`*` crosses `/`: '*.txt' matches at any depth)."""
    here = (cwd or Path.cwd()).absolute()
    opened, manifest = load_run(run, workspace, store, here)
    globs = [os.fsencode(path) for path in paths if _is_glob(path)]
    plain = [path for path in paths if not _is_glob(path)]
    chosen = resolve_paths(manifest, plain, here)
    if globs and chosen is None:
        chosen = []
    found = run_diff(manifest, _reader(opened), chosen if not globs else None)
    files = found.files if not globs else tuple(
        item for item in found.files
        if any(fnmatch.fnmatchcase(item.name, glob) for glob in globs)
        or any(within(item.path, path) for path in chosen or ()))
    return Changes(run_id=found.run_id, workspace=found.workspace, files=files,
                   renames={entry.path: entry.renamed_from for entry in manifest.files
                            if entry.renamed_from is not None})


def _state(entry: FileEntry, side: str) -> FileState:
    """The state a source stands for ("now": the entry's after-state, read from disk)."""
    return entry.before if side == "before" else entry.after


def _compare(manifest: Manifest, pairs: dict[bytes, tuple[Source, Source]],
             opened: Store, label: str) -> RunDiff:
    """One FileDiff per path whose two sources differ, in more than their times (as
    git's diff between trees, which have none)."""
    def read(entry: FileEntry, side: str) -> bytes:
        source, source_side = pairs[entry.path][0 if side == "before" else 1]
        if source_side == "now":
            with open(source.path, "rb") as handle:
                return handle.read()
        return _reader(opened)(source, source_side)

    workspace = os.fsencode(manifest.workspace)
    files = []
    for path in sorted(pairs):
        (old, old_side), (new, new_side) = pairs[path]
        entry = replace(new, before=_state(old, old_side), after=_state(new, new_side))
        changed = file_diff(entry, workspace, read)
        if changed.change - {Aspect.TIMES}:
            files.append(changed)
    return RunDiff(run_id=label, workspace=manifest.workspace, files=tuple(files))


def _selected(entries: Sequence[FileEntry], paths: list[bytes] | None) -> list[FileEntry]:
    return [entry for entry in entries
            if paths is None or any(within(entry.path, path) for path in paths)]


def diff_runs(old_run: str, new_run: str, paths: Sequence[str | bytes] = (),
              workspace: PathArg = None, store: PathArg = None,
              cwd: Path | None = None) -> RunDiff:
    """From the state after `old_run` to the state after `new_run`, over every path
    either touched: a path only one run touched is taken to be as that run found or
    left it on the other side."""
    here = (cwd or Path.cwd()).absolute()
    opened, old = load_run(old_run, workspace, store, here)
    new = load_run(new_run, workspace, store, here)[1]
    olds = {entry.path: entry for entry in seen_entries(old)}
    news = {entry.path: entry for entry in seen_entries(new)}
    chosen = resolve_paths(new if news else old, paths, here) if paths else None
    pairs: dict[bytes, tuple[Source, Source]] = {}
    for path in {*olds, *news}:
        before = (olds[path], "after") if path in olds else (news[path], "before")
        after = (news[path], "after") if path in news else (olds[path], "after")
        pairs[path] = (before, after)
    kept = {entry.path for entry in _selected([*olds.values(), *news.values()], chosen)}
    return _compare(new, {path: pair for path, pair in pairs.items() if path in kept},
                    opened, f"{old.run_id}..{new.run_id}")


def _now_state(entry: FileEntry, opened: Store) -> FileState:
    """The path as it is now; its content id is the run's when the bytes are the same."""
    state = read_state(entry.path, xattrs=True)
    now = FileState(exists=state.exists, type=state.type, mode=state.mode, size=state.size,
                    mtime_ns=state.mtime_ns, uid=state.uid, gid=state.gid,
                    target=state.target, xattrs=state.xattrs)
    after = entry.after
    if (now.type == "file" and after.type == "file" and after.blob is not None
            and after.size == now.size):
        try:
            with open(entry.path, "rb") as handle:
                same = handle.read() == b"".join(opened.open_content(entry, "after"))
        except OSError:
            same = False
        if same:
            now = replace(now, blob=after.blob, blob_source=after.blob_source)
    return now


def diff_now(run: str | None = None, paths: Sequence[str | bytes] = (),
             workspace: PathArg = None, store: PathArg = None,
             cwd: Path | None = None) -> RunDiff:
    """From the state `run` left to the workspace as it is now, over the paths of the
    workspace the run touched."""
    here = (cwd or Path.cwd()).absolute()
    opened, manifest = load_run(run, workspace, store, here)
    chosen = resolve_paths(manifest, paths, here)
    pairs: dict[bytes, tuple[Source, Source]] = {}
    for entry in _selected(seen_entries(manifest), chosen):
        if not entry.in_workspace:
            continue
        now = replace(entry, after=_now_state(entry, opened))
        pairs[entry.path] = ((entry, "after"), (now, "now"))
    return _compare(manifest, pairs, opened, f"{manifest.run_id}..now")


def version_diff(path: str | bytes, number: int, run: str | None = None,
                 workspace: PathArg = None, store: PathArg = None,
                 cwd: Path | None = None) -> RunDiff:
    """What version `number` of `path` changed: from version N-1, or for version 1
    from the before-state (one FileDiff, rendered like `diff`)."""
    here = (cwd or Path.cwd()).absolute()
    opened, manifest = load_run(run, workspace, store, here)
    entry = find_entry(manifest, path, here)
    mode = entry.before.mode if entry.before.exists else entry.after.mode
    new = replace(pick_version(manifest, entry, number).state(), mode=mode)
    old = entry.before if number == 1 else replace(entry.versions[number - 2].state(),
                                                   mode=mode)
    pair = replace(entry, before=old, after=new)
    changed = file_diff(pair, os.fsencode(manifest.workspace), _reader(opened))
    return RunDiff(run_id=manifest.run_id, workspace=manifest.workspace, files=(changed,))
