"""Workspace detection: --workspace, else btrfs subvolume, else git root, else cwd."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import sh

from cowsnap.errors import WorkspaceError
from cowsnap.workspace import Finder, detect_workspace, explicit_workspace, first_found


def test_the_first_finder_that_answers_wins_and_later_ones_are_not_asked() -> None:
    asked: list[str] = []

    def finder(name: str, answer: Path | None) -> Finder:
        def find(start: Path) -> Path | None:
            asked.append(name)
            return answer
        return find

    start = Path("/work/project/src")
    found = first_found(start, [finder("none", None), finder("root", Path("/work")),
                                finder("never", Path("/"))])
    assert found == Path("/work")
    assert asked == ["none", "root"]
    assert first_found(start, [finder("none", None)]) == start


@pytest.fixture
def subvolume(btrfs_dir: Path, root_required: None) -> Iterator[Path]:
    created = btrfs_dir / "subvolume"
    sh.btrfs("subvolume", "create", str(created), _timeout=30)
    try:
        yield created
    finally:
        sh.btrfs("subvolume", "delete", str(created), _timeout=30)


def test_a_directory_deep_inside_a_subvolume(subvolume: Path) -> None:
    deep = subvolume / "a" / "b" / "c"
    deep.mkdir(parents=True)
    sh.git("init", "-q", str(subvolume / "a"), _timeout=30)
    assert detect_workspace(cwd=deep) == subvolume


def test_a_git_repository_on_ext4(ext4_dir: Path) -> None:
    repository = ext4_dir / "repo"
    deep = repository / "src" / "pkg"
    deep.mkdir(parents=True)
    sh.git("init", "-q", str(repository), _timeout=30)
    assert detect_workspace(cwd=deep) == repository


def test_a_plain_directory_is_its_own_workspace(ext4_dir: Path) -> None:
    plain = ext4_dir / "plain" / "dir"
    plain.mkdir(parents=True)
    assert detect_workspace(cwd=plain) == plain


def test_an_explicit_workspace_wins(ext4_dir: Path) -> None:
    sh.git("init", "-q", str(ext4_dir), _timeout=30)
    (ext4_dir / "sub").mkdir()
    assert detect_workspace(ext4_dir / "sub" / ".." / "sub", cwd=ext4_dir) == ext4_dir / "sub"


def test_a_missing_workspace_is_one_clear_error(tmp_path: Path) -> None:
    with pytest.raises(WorkspaceError) as raised:
        explicit_workspace(tmp_path / "missing")
    assert str(raised.value) == f"workspace {tmp_path / 'missing'} does not exist"


def test_a_file_is_not_a_workspace(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    with pytest.raises(WorkspaceError, match="is not a directory"):
        detect_workspace(tmp_path / "file")
