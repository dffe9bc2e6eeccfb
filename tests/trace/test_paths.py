"""Path resolution against a real directory tree (symlinks, missing parts, `..`)."""

from __future__ import annotations

import os
from pathlib import Path

from cowsnap.trace import paths


def found(path: bytes, follow: bool) -> tuple[bytes, bool]:
    """What paths.resolve says: the path and whether it exists."""
    located = paths.resolve(path, follow)
    return located.path, located.exists


def test_resolution_follows_the_prefix_and_optionally_the_last(tmp_path: Path) -> None:
    base = tmp_path.resolve()
    (base / "real").mkdir()
    (base / "real" / "file").write_text("x")
    (base / "alias").symlink_to("real")
    (base / "real" / "link").symlink_to("file")
    (base / "real" / "dangling").symlink_to("../nowhere/target")
    b = bytes(base)
    assert found(b + b"/alias/link", follow=False) == (b + b"/real/link", True)
    assert found(b + b"/alias/link", follow=True) == (b + b"/real/file", True)
    assert found(b + b"/alias/dangling", follow=True) == (b + b"/nowhere/target", False)
    assert found(b + b"/alias/dangling", follow=False) == (b + b"/real/dangling", True)
    assert found(b + b"/alias/../real/./file", follow=True) == (b + b"/real/file", True)
    assert found(b + b"/alias/..", follow=False) == (b, True)
    assert found(b + b"/missing/../x/y", follow=True) == (b + b"/x/y", False)
    assert found(b + b"/alias/", follow=False) == (b + b"/real", True)


def test_overlong_paths_are_normalised_lexically() -> None:
    long = b"/" + b"/".join([b"d" * 250] * 20) + b"/../f"
    expected = b"/" + b"/".join([b"d" * 250] * 19) + b"/f"
    assert found(long, follow=True) == (expected, False)


def test_cached_resolver_agrees_and_forgets_moved_directories(tmp_path: Path) -> None:
    base = tmp_path.resolve()
    (base / "a").mkdir()
    (base / "a" / "f").write_text("x")
    (base / "a" / "l").symlink_to("f")
    resolver = paths.Resolver()
    b = bytes(base)
    for path, follow in [(b"/a/f", True), (b"/a/l", True), (b"/a/l", False), (b"/a/x", True)]:
        assert resolver.resolve(b + path, follow)[:2] == found(b + path, follow)
    (base / "a").rename(base / "b")
    (base / "a").symlink_to("b")
    resolver.forget()
    assert resolver.resolve(b + b"/a/f", True)[:2] == (b + b"/b/f", True)


def test_cached_resolver_remembers_missing_directories_until_told(tmp_path: Path) -> None:
    base = tmp_path.resolve()
    b = bytes(base)
    resolver = paths.Resolver()
    assert resolver.resolve(b + b"/later/f", True)[:2] == (b + b"/later/f", False)
    (base / "real").mkdir()
    (base / "real" / "f").write_text("x")
    (base / "later").symlink_to("real")
    resolver.forget_missing()
    assert resolver.resolve(b + b"/later/f", True)[:2] == (b + b"/real/f", True)


def test_paths_deeper_than_path_max_are_resolved_by_the_kernel(tmp_path: Path) -> None:
    base = tmp_path.resolve()
    deep = base.joinpath(*["d" * 250] * 20)
    fd = os.open(base, os.O_RDONLY)
    for _ in range(20):
        os.mkdir("d" * 250, dir_fd=fd)
        following = os.open("d" * 250, os.O_RDONLY, dir_fd=fd)
        os.close(fd)
        fd = following
    try:
        os.close(os.open("f", os.O_CREAT | os.O_WRONLY, dir_fd=fd))
        os.symlink("f", "link", dir_fd=fd)
        assert paths.directory_path(fd) == bytes(deep)
    finally:
        os.close(fd)
    b = bytes(deep)
    assert len(b) > paths.PATH_MAX
    assert found(b + b"/f", follow=True) == (b + b"/f", True)
    assert found(b + b"/link", follow=True) == (b + b"/f", True)
    assert found(b + b"/link", follow=False) == (b + b"/link", True)
    assert found(b + b"/../" + b"d" * 250 + b"/g", follow=True) == (b + b"/g", False)
