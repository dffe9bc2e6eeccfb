"""Several runs of one workspace as one: what a rewind restores in a single plan.

Undoing runs one by one, newest first, would check each against a workspace
the previous undo just changed, and leave one undo run per step. Instead the
runs are folded into one manifest: for each path some run changed, its
before-state is the one recorded by the oldest run that changed it, and its
after-state the one recorded by the newest. The restore planner then checks
every path once against that newest state (one conflict check across all the
runs), writes the oldest state, and records one undo run. Pure: manifests in,
manifest out.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from cowsnap.model import MUTATING_OPERATIONS, FileEntry, Manifest, Operation, sort_operations


def combine(manifests: Sequence[Manifest]) -> Manifest:
    """One manifest standing for `manifests` (oldest first, one workspace) run in turn."""
    if not manifests:
        raise ValueError("no runs to combine")
    workspaces = {manifest.workspace for manifest in manifests}
    if len(workspaces) > 1:
        raise ValueError(f"runs of several workspaces: {', '.join(sorted(workspaces))}")
    oldest: dict[bytes, FileEntry] = {}
    newest: dict[bytes, FileEntry] = {}
    operations: dict[bytes, set[Operation]] = {}
    for manifest in manifests:
        for entry in manifest.files:
            if not set(entry.operations) & MUTATING_OPERATIONS:
                continue
            oldest.setdefault(entry.path, entry)
            newest[entry.path] = entry
            operations.setdefault(entry.path, set()).update(entry.operations)
    files = tuple(
        replace(oldest[path], after=newest[path].after, versions=(),
                operations=sort_operations(operations[path]))
        for path in sorted(oldest))
    first, last = manifests[0], manifests[-1]
    return replace(first, files=files, finished_at=last.finished_at, git_repositories=(),
                   warnings=(), version_globs=())
