"""What the api modules share: the path arguments, opening the store, loading a run."""

from __future__ import annotations

import os
from pathlib import Path

from cowsnap.model import Manifest
from cowsnap.store.location import resolve_store_dir
from cowsnap.store.store import Store
from cowsnap.workspace import detect_workspace

PathArg = str | os.PathLike[str] | None


def open_store(store: PathArg) -> Store | None:
    root = resolve_store_dir(store)
    if not root.exists():
        return None
    return Store.open(root, create=False)


def as_path(value: PathArg) -> Path | None:
    return Path(value) if value is not None else None


def workspace_key(workspace: PathArg, cwd: Path | None) -> str:
    return str(detect_workspace(as_path(workspace), cwd))


def load_run(run: str | None, workspace: PathArg, store: PathArg,
          cwd: Path | None) -> tuple[Store, Manifest]:
    opened = Store.open(resolve_store_dir(store), create=False)
    key = workspace_key(workspace, cwd) if run is None else None
    return opened, opened.runs.load(opened.runs.resolve(run, key))
