"""Which run and which of its paths a `diff` or `restore` is about.

`[RUN] [PATH...]`: the first argument names the run when it is a run id or the
prefix of one (and holds no `/`); write `./NAME` for a path that looks like a
run id. Paths are absolute or relative to the current directory; a directory
stands for everything under it.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence

from cowsnap.errors import PathNotInRunError
from cowsnap.model import Manifest
from cowsnap.paths import within


def split_run(arguments: Sequence[str], run_ids: Iterable[str]) -> tuple[str | None, list[str]]:
    """(the run reference or None, the path arguments)."""
    if not arguments or "/" in arguments[0]:
        return None, list(arguments)
    first = arguments[0]
    if any(run_id.startswith(first) for run_id in run_ids):
        return first, list(arguments[1:])
    return None, list(arguments)


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
            shown = os.fsdecode(candidates[0])
            raise PathNotInRunError(f"run {manifest.run_id} touched nothing at {shown}")
        resolved.append(found)
    return resolved
