"""The PATH arguments of diff and restore, resolved to the paths a run recorded."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import pytest

from cowsnap.errors import PathNotInRunError
from cowsnap.restore.arguments import resolve_paths
from tests.restore.states import entry, file, manifest


def test_paths_resolve_against_cwd_and_directories_cover_their_subtree(tmp_path: Path) -> None:
    run = manifest(entry("d/x", file(), file("b" * 40)), entry("top", file(), file("b" * 40)))
    assert resolve_paths(run, [], "/ws") is None
    assert resolve_paths(run, ["d", "/ws/top"], "/ws") == [b"/ws/d", b"/ws/top"]
    assert resolve_paths(run, ["../top"], "/ws/d") == [b"/ws/top"]
    with pytest.raises(PathNotInRunError, match=r"touched nothing at other$"):
        resolve_paths(run, ["other"], "/ws")
    with pytest.raises(PathNotInRunError, match=r'touched nothing at "d/caf\\xe9"$'):
        resolve_paths(run, [b"d/caf\xe9"], "/ws")
    with pytest.raises(PathNotInRunError, match=r"touched nothing at /elsewhere$"):
        resolve_paths(run, ["/elsewhere"], "/ws")


def test_paths_through_a_symlinked_cwd_resolve_to_the_recorded_ones(tmp_path: Path) -> None:
    real = tmp_path / "real"
    real.mkdir()
    os.symlink(real, tmp_path / "alias")
    recorded = os.fsencode(real / "f.txt")
    changed = dataclasses.replace(entry("f.txt", file(), file("b" * 40)), path=recorded)
    run = manifest(changed)
    assert resolve_paths(run, ["f.txt"], tmp_path / "alias") == [recorded]
