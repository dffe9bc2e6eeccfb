"""Which of a run's paths a `diff` or `restore` is about (cowsnap.api.reading's
split_run_argument tells the run from the paths first).

Paths are absolute or relative to the current directory; a directory stands for
everything under it.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

from cowsnap.errors import PathNotInRunError
from cowsnap.model import Manifest
from cowsnap.paths import display_path, relative_name, within


def _candidates(argument: str | bytes, cwd: bytes) -> list[bytes]:
    absolute = os.path.normpath(os.path.join(cwd, os.fsencode(argument)))
    parent, name = os.path.split(absolute)
    return [absolute, os.path.realpath(absolute),
            os.path.join(os.path.realpath(parent), name)]


def resolve_paths(manifest: Manifest, arguments: Sequence[str | bytes],
                  cwd: str | os.PathLike[str]) -> list[bytes] | None:
    """Absolute paths for `arguments` as the run recorded them; None (everything) when
    there are none. PathNotInRunError for one under which the run touched nothing."""
    if not arguments:
        return None
    base = os.fsencode(cwd)
    resolved = []
    for argument in arguments:
        candidates = _candidates(argument, base)
        found = next((candidate for candidate in candidates
                      if any(within(entry.path, candidate) for entry in manifest.files)), None)
        if found is None:
            shown = display_path(relative_name(candidates[0], manifest.workspace))
            raise PathNotInRunError(f"run {manifest.run_id} touched nothing at {shown}")
        resolved.append(found)
    return resolved
