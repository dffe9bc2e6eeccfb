"""Opening directories beneath a root without following symlinks, on a real filesystem,
both with openat2 and with the O_NOFOLLOW walk used where openat2 is missing."""

from __future__ import annotations

import errno
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from cowsnap import beneath
from cowsnap.beneath import open_directory
from cowsnap.restore.beneath import Roots


@pytest.fixture(params=["openat2", "walk"])
def resolver(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    monkeypatch.setattr(beneath, "_use_openat2", request.param == "openat2")
    yield request.param


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    (tmp_path / "ws" / "a" / "b").mkdir(parents=True)
    (tmp_path / "outside").mkdir()
    os.symlink(tmp_path / "outside", tmp_path / "ws" / "link")
    os.symlink("a", tmp_path / "ws" / "relative-link")
    (tmp_path / "ws" / "file").write_text("x")
    return tmp_path


def _errno(root: Path, relative: bytes) -> int:
    fd = os.open(root, os.O_PATH | os.O_DIRECTORY)
    try:
        with pytest.raises(OSError) as raised:
            os.close(open_directory(fd, relative))
        return raised.value.errno or 0
    finally:
        os.close(fd)


def test_opens_a_real_directory(tree: Path, resolver: str) -> None:
    fd = os.open(tree / "ws", os.O_PATH | os.O_DIRECTORY)
    try:
        opened = open_directory(fd, b"a/b")
        assert os.path.samestat(os.fstat(opened), os.stat(tree / "ws" / "a" / "b"))
        os.close(opened)
    finally:
        os.close(fd)


@pytest.mark.parametrize("relative", [b"link", b"link/x", b"relative-link", b"relative-link/b"])
def test_never_follows_a_symlink(tree: Path, resolver: str, relative: bytes) -> None:
    assert _errno(tree / "ws", relative) in (errno.ELOOP, errno.ENOTDIR)


def test_refuses_a_file_and_an_escape(tree: Path, resolver: str) -> None:
    assert _errno(tree / "ws", b"file/x") == errno.ENOTDIR
    assert _errno(tree / "ws", b"../outside") == errno.EXDEV


def test_roots_split_workspace_and_outside_paths(tree: Path) -> None:
    workspace = os.fsencode(tree / "ws")
    with Roots(workspace) as roots:
        assert roots.split(workspace + b"/a/b/c") == (roots.workspace_fd, b"a/b", b"c")
        assert roots.split(workspace + b"/top") == (roots.workspace_fd, b"", b"top")
        assert roots.split(b"/etc/passwd") == (roots.system_fd, b"etc", b"passwd")
        with pytest.raises(OSError), roots.parent(workspace + b"/link/x"):
            pass


def test_a_workspace_reached_through_a_symlink_is_refused(tree: Path) -> None:
    with pytest.raises(OSError) as raised:
        Roots(os.fsencode(tree / "ws" / "link"))
    assert raised.value.errno in (errno.ELOOP, errno.ENOTDIR)
