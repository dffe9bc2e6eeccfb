"""`[RUN] [PATH...]`: telling the run from the paths, and resolving the paths."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import pytest

from cowsnap.errors import PathNotInRunError
from cowsnap.restore.arguments import resolve_paths, split_run
from tests.restore.states import entry, file, manifest

RUNS = ["20261121T093012Z-3fa9c1", "20261121T101500Z-0000aa"]


@pytest.mark.parametrize(("arguments", "expected"), [
    ([], (None, [])),
    (["20261121T0930"], ("20261121T0930", [])),
    (["20261121T093012Z-3fa9c1", "a.txt"], ("20261121T093012Z-3fa9c1", ["a.txt"])),
    (["2026", "a"], ("2026", ["a"])),
    (["./2026", "a"], (None, ["./2026", "a"])),
    (["src", "a"], (None, ["src", "a"])),
])
def test_split_run(arguments: list[str], expected: tuple[str | None, list[str]]) -> None:
    assert split_run(arguments, RUNS) == expected


def test_paths_resolve_against_cwd_and_directories_cover_their_subtree(tmp_path: Path) -> None:
    run = manifest(entry("d/x", file(), file("b" * 40)), entry("top", file(), file("b" * 40)))
    assert resolve_paths(run, [], "/ws") is None
    assert resolve_paths(run, ["d", "/ws/top"], "/ws") == [b"/ws/d", b"/ws/top"]
    assert resolve_paths(run, ["../top"], "/ws/d") == [b"/ws/top"]
    with pytest.raises(PathNotInRunError, match="touched nothing at /ws/other"):
        resolve_paths(run, ["other"], "/ws")


def test_paths_through_a_symlinked_cwd_resolve_to_the_recorded_ones(tmp_path: Path) -> None:
    real = tmp_path / "real"
    real.mkdir()
    os.symlink(real, tmp_path / "alias")
    recorded = os.fsencode(real / "f.txt")
    changed = dataclasses.replace(entry("f.txt", file(), file("b" * 40)), path=recorded)
    run = manifest(changed)
    assert resolve_paths(run, ["f.txt"], tmp_path / "alias") == [recorded]
