"""Helpers for the exactness tests: show, undo and redo through the CLI."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.conftest import Cowsnap


def runs(cowsnap: Cowsnap, workspace: Path) -> list[str]:
    """Run ids, newest first."""
    return [run["run_id"] for run in json.loads(cowsnap("log", "--json", cwd=workspace).stdout)]


def manifest(cowsnap: Cowsnap, workspace: Path, run: str | None = None) -> dict[str, Any]:
    args = ("show", "--json") + ((run,) if run else ())
    return json.loads(cowsnap(*args, cwd=workspace).stdout)  # type: ignore[no-any-return]


def entry(data: dict, path: Path) -> dict[str, Any]:
    [found] = [item for item in data["files"] if item["path"] == str(path)]
    return found  # type: ignore[no-any-return]


def undo(cowsnap: Cowsnap, workspace: Path) -> None:
    cowsnap("restore", runs(cowsnap, workspace)[0], cwd=workspace)


def redo(cowsnap: Cowsnap, workspace: Path) -> None:
    """Redo the run before the newest (the newest being the undo's own run)."""
    cowsnap("restore", runs(cowsnap, workspace)[1], "--to", "after", cwd=workspace)
