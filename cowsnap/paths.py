"""Path relations on bytes paths, shared by recording, snapshots and restore."""

from __future__ import annotations


def within(path: bytes, directory: bytes) -> bool:
    """Whether `path` is `directory` or lies beneath it (lexically; both normalised)."""
    return path == directory or path.startswith(directory.rstrip(b"/") + b"/")
