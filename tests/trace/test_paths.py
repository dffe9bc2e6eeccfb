"""Path resolution against a real directory tree (symlinks, missing parts, `..`)."""

from __future__ import annotations

from pathlib import Path

from cowsnap.trace import paths


def test_resolution_follows_the_prefix_and_optionally_the_last(tmp_path: Path) -> None:
    base = tmp_path.resolve()
    (base / "real").mkdir()
    (base / "real" / "file").write_text("x")
    (base / "alias").symlink_to("real")
    (base / "real" / "link").symlink_to("file")
    (base / "real" / "dangling").symlink_to("../nowhere/target")
    b = bytes(base)
    assert paths.resolve(b + b"/alias/link", follow=False) == (b + b"/real/link", True)
    assert paths.resolve(b + b"/alias/link", follow=True) == (b + b"/real/file", True)
    assert paths.resolve(b + b"/alias/dangling", follow=True) == (b + b"/nowhere/target", False)
    assert paths.resolve(b + b"/alias/dangling", follow=False) == (b + b"/real/dangling", True)
    assert paths.resolve(b + b"/alias/../real/./file", follow=True) == (b + b"/real/file", True)
    assert paths.resolve(b + b"/alias/..", follow=False) == (b, True)
    assert paths.resolve(b + b"/missing/../x/y", follow=True) == (b + b"/x/y", False)
    assert paths.resolve(b + b"/alias/", follow=False) == (b + b"/real", True)


def test_overlong_paths_are_normalised_lexically() -> None:
    long = b"/" + b"/".join([b"d" * 250] * 20) + b"/../f"
    expected = b"/" + b"/".join([b"d" * 250] * 19) + b"/f"
    assert paths.resolve(long, follow=True) == (expected, False)


def test_cached_resolver_agrees_and_forgets_moved_directories(tmp_path: Path) -> None:
    base = tmp_path.resolve()
    (base / "a").mkdir()
    (base / "a" / "f").write_text("x")
    (base / "a" / "l").symlink_to("f")
    resolver = paths.Resolver()
    b = bytes(base)
    for path, follow in [(b"/a/f", True), (b"/a/l", True), (b"/a/l", False), (b"/a/x", True)]:
        assert resolver.resolve(b + path, follow) == paths.resolve(b + path, follow)
    (base / "a").rename(base / "b")
    (base / "a").symlink_to("b")
    resolver.forget()
    assert resolver.resolve(b + b"/a/f", True) == (b + b"/b/f", True)


def test_cached_resolver_remembers_missing_directories_until_told(tmp_path: Path) -> None:
    base = tmp_path.resolve()
    b = bytes(base)
    resolver = paths.Resolver()
    assert resolver.resolve(b + b"/later/f", True) == (b + b"/later/f", False)
    (base / "real").mkdir()
    (base / "real" / "f").write_text("x")
    (base / "later").symlink_to("real")
    resolver.forget_missing()
    assert resolver.resolve(b + b"/later/f", True) == (b + b"/real/f", True)
