"""What the api modules share: the path arguments, opening the store, finding a run.

A run reference is what a user types to name a run: its whole id, any part of it
(4 characters at least) that only one run's id contains (`c6aff2`,
`20261130T1201`), `@` for the
workspace's newest run or `@~N` for the Nth before it, as git's `HEAD~N`.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from pathlib import Path

from cowsnap.errors import AmbiguousRunError, CowsnapError, RunNotFoundError
from cowsnap.model import Manifest
from cowsnap.paths import within
from cowsnap.store.location import resolve_store_dir
from cowsnap.store.runs import RunSummary
from cowsnap.store.store import Store
from cowsnap.workspace import detect_workspace

PathArg = str | os.PathLike[str] | None

NEWEST = "@"
MIN_PART = 4
"""Characters a part of an id needs to name a run (git's shortest abbreviation)."""
_RELATIVE = re.compile(r"@(?:~(\d*))?")
_RUN_ID_TEXT = re.compile(r"[0-9A-Za-z-]+")

_opened: dict[Path, Store] = {}


def open_store(store: PathArg) -> Store | None:
    """The store, opened read-only once per process (a command asks several times);
    None when there is none yet."""
    root = resolve_store_dir(store)
    if root in _opened:
        return _opened[root]
    if not root.exists():
        return None
    opened = Store.open(root, create=False)
    _opened[root] = opened
    return opened


def require_store(store: PathArg) -> Store:
    """The store, read-only; RunNotFoundError when there is none yet."""
    opened = open_store(store)
    if opened is None:
        raise RunNotFoundError(f"no runs recorded yet (no store at {resolve_store_dir(store)}); "
                               f"record one with: cowsnap run -- COMMAND")
    return opened


def as_path(value: PathArg) -> Path | None:
    return Path(value) if value is not None else None


def workspace_key(workspace: PathArg, cwd: Path | None) -> str:
    return str(detect_workspace(as_path(workspace), cwd))


def looks_like_run(argument: str) -> bool:
    """Whether `argument` could be meant as a run reference (and not as a path): every
    argument starting with `@` is one (./@name names a path)."""
    return argument.startswith(NEWEST) or bool(_RUN_ID_TEXT.fullmatch(argument))


def newest_runs(opened: Store, workspace: str) -> list[RunSummary]:
    """The workspace's runs, newest first, skipping those whose summary is damaged."""
    found = []
    for run_id in opened.runs.ids():
        try:
            summary = opened.runs.summary(run_id)
        except CowsnapError:
            continue  # pruned meanwhile, or damaged: `log` names it, finding runs goes on
        if summary.workspace == workspace:
            found.append(summary)
    found.sort(key=lambda summary: (summary.started_at, summary.run_id), reverse=True)
    return found


def resolve_run(opened: Store, reference: str | None, workspace: str) -> str:
    """The run id `reference` names (None: the workspace's newest run)."""
    if reference == "":
        raise RunNotFoundError("an empty run reference names no run")
    relative = _RELATIVE.fullmatch(reference or NEWEST)
    if reference is not None and reference.startswith(NEWEST) and relative is None:
        raise RunNotFoundError(f"no run {reference}: write @ for the workspace's newest run, "
                               f"@~N for the Nth before it")
    if relative is not None:
        back = int(relative.group(1) or 1) if reference and "~" in reference else 0
        runs = newest_runs(opened, workspace)
        if not runs:
            raise RunNotFoundError(f"no runs recorded for workspace {workspace}")
        if back >= len(runs):
            raise RunNotFoundError(f"no run {reference}: the workspace has only "
                                   f"{len(runs)} run{'' if len(runs) == 1 else 's'}")
        return runs[back].run_id
    assert reference is not None
    ids = opened.runs.ids()
    if reference in ids:
        return reference
    matches = [run_id for run_id in ids if reference in run_id]
    if len(reference) < MIN_PART:
        raise RunNotFoundError(f"no run matches {reference}: give a whole id or at least "
                               f"{MIN_PART} characters of one")
    if not matches:
        raise RunNotFoundError(f"no run matches {reference}")
    if len(matches) > 1:
        shown = ", ".join(matches[:3]) + (", ..." if len(matches) > 3 else "")
        raise AmbiguousRunError(
            f"run {reference} is ambiguous: {len(matches)} runs match ({shown})")
    return matches[0]


def load_run(run: str | None, workspace: PathArg, store: PathArg,
             cwd: Path | None) -> tuple[Store, Manifest]:
    """The store and the manifest of the run `run` names (None: the newest)."""
    opened = require_store(store)
    key = workspace_key(workspace, cwd) if run is None or run.startswith(NEWEST) else ""
    return opened, opened.runs.load(resolve_run(opened, run, key))


def _is_in_run(manifest: Manifest, argument: str, cwd: Path) -> bool:
    absolute = os.path.normpath(os.path.join(os.fsencode(cwd), os.fsencode(argument)))
    return any(within(entry.path, absolute) for entry in manifest.files)


def split_run_argument(arguments: Sequence[str], store: PathArg = None,
                       workspace: PathArg = None,
                       cwd: Path | None = None) -> tuple[str | None, list[str]]:
    """`[RUN] [PATH...]` as a run id (None: the newest) and the paths.

    The first argument is a run when it names one (see looks_like_run) and is not
    a file here (a whole run id always names the run); else it is a path, unless it
    only looks like a run reference and is neither a file here nor a path the newest
    run touched: then RunNotFoundError, as git says "unknown revision" rather than
    guessing.
    """
    if not arguments:
        return None, []
    first = arguments[0]
    if not looks_like_run(first):
        return None, list(arguments)
    here = (cwd or Path.cwd()).absolute()
    opened = require_store(store)
    key = workspace_key(workspace, here)
    if first not in opened.runs.ids() and os.path.lexists(here / first):
        return None, list(arguments)
    try:
        return resolve_run(opened, first, key), list(arguments[1:])
    except RunNotFoundError as error:
        if first.startswith("@"):
            raise error from None
        try:
            newest = opened.runs.load(resolve_run(opened, None, key))
        except RunNotFoundError:
            newest = None
        if newest is not None and _is_in_run(newest, first, here):
            return None, list(arguments)
        raise RunNotFoundError(f"no run matches {first}, and no path {first} is here "
                               f"or in the newest run (write ./{first} for a path)") from None
