"""Line diffs of two contents, computed by libgit2.

Only the diff itself is here; headers, statistics and rendering are plain
Python in `cowsnap.diff`.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Hunk:
    header: bytes
    """`@@ -a,b +c,d @@ ...` with its newline."""
    lines: tuple[tuple[str, bytes], ...]
    """(origin, raw line): origin ' ', '+' or '-', or '=', '>' and '<' for git's
    no-newline-at-end-of-file markers."""


@dataclass(frozen=True, slots=True)
class ContentPatch:
    binary: bool
    hunks: tuple[Hunk, ...]
    additions: int
    deletions: int


def content_patch(old: bytes | None, new: bytes | None, context_lines: int = 3) -> ContentPatch:
    """The unified diff of `old` to `new` (None: no such content), as git would make it."""
    import pygit2

    patch = pygit2.Patch.create_from(old, new, context_lines=context_lines)
    if patch.delta.is_binary:
        return ContentPatch(binary=True, hunks=(), additions=0, deletions=0)
    hunks = tuple(
        Hunk(header=hunk.header.encode("utf-8", "surrogateescape"),
             lines=tuple((line.origin, line.raw_content) for line in hunk.lines))
        for hunk in patch.hunks
    )
    _context, additions, deletions = patch.line_stats
    return ContentPatch(binary=False, hunks=hunks, additions=additions, deletions=deletions)
