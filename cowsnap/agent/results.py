"""The compact, stable results of the MCP tools (documented in docs/agents.md).

An agent reads every byte of a tool result into its context, so results carry
what it needs to decide and no more: paths relative to the workspace, one
status code per changed path, the tail of the output, and counts of what was
left out.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

from cowsnap.model import Manifest, entry_change, status_code
from cowsnap.restore.session import RestoreResult
from cowsnap.store.runs import RunSummary

MAX_CHANGES = 50
OUTPUT_TAIL_LINES = 40
OUTPUT_TAIL_BYTES = 4000


def relative(path: bytes, workspace: str) -> str:
    """`path` relative to the workspace when inside it, else absolute; \\xNN escapes."""
    root = os.fsencode(workspace)
    shown = os.path.relpath(path, root) if path == root or path.startswith(root + b"/") else path
    return shown.decode("utf-8", "backslashreplace")


def changes(manifest: Manifest, limit: int = MAX_CHANGES) -> tuple[list[dict[str, str]], int]:
    """The paths `manifest`'s run left changed (`status` as in `cowsnap show`), at most
    `limit` of them, and how many more there were."""
    found = [{"status": status_code(entry), "path": relative(entry.path, manifest.workspace)}
             for entry in manifest.files if entry_change(entry)]
    return found[:limit], max(0, len(found) - limit)


def tail(output: bytes, lines: int = OUTPUT_TAIL_LINES,
         size: int = OUTPUT_TAIL_BYTES) -> tuple[str, bool]:
    """The last `lines` lines of `output`, at most `size` bytes; whether any was cut."""
    kept = b"\n".join(output.splitlines()[-lines:])[-size:]
    cut = len(kept) < len(output.rstrip(b"\n"))
    return kept.decode("utf-8", "replace"), cut


def run_result(manifest: Manifest | None, run_id: str | None, exit_status: int, output: bytes,
               warning: str | None, output_cut: bool = False) -> dict[str, Any]:
    """What the `run` tool answers; `output_cut`: `output` is already only the end."""
    shown, cut = tail(output)
    cut = cut or output_cut
    listed, more = changes(manifest) if manifest is not None else ([], 0)
    return {"run_id": run_id, "exit_status": exit_status, "output_tail": shown,
            "output_truncated": cut, "changes": listed, "more_changes": more,
            "warning": warning}


def summary_result(summary: RunSummary) -> dict[str, Any]:
    """One run in the `log` tool's answer."""
    return {"run_id": summary.run_id, "started_at": summary.started_at,
            "command": " ".join(summary.command), "exit_status": summary.exit_status,
            "written": summary.written, "deleted": summary.deleted,
            "session": summary.session}


def show_result(manifest: Manifest) -> dict[str, Any]:
    """What the `show` tool answers."""
    listed, more = changes(manifest)
    return {"run_id": manifest.run_id, "command": " ".join(manifest.command),
            "exit_status": manifest.exit_status, "workspace": manifest.workspace,
            "started_at": manifest.started_at, "finished_at": manifest.finished_at,
            "session": manifest.session, "changes": listed, "more_changes": more,
            "warnings": list(manifest.warnings)}


def restore_result(result: RestoreResult, workspace: str,
                   runs: Sequence[str] = ()) -> dict[str, Any]:
    """What the `restore` and `rewind` tools answer when the restore went ahead."""
    failed = {path for path, _why in result.failures}
    restored = [relative(target.path, workspace) for target in result.plan.touched()
                if target.path not in failed]
    document: dict[str, Any] = {
        "done": not result.dry_run, "dry_run": result.dry_run, "undo_run": result.undo_run,
        "restored": restored[:MAX_CHANGES], "more_restored": max(0, len(restored) - MAX_CHANGES),
        "conflicts": [],
        "failures": [{"path": relative(path, workspace), "why": why}
                     for path, why in result.failures],
    }
    if runs:
        document["runs"] = list(runs)
    return document


def conflict_result(conflicts: Sequence[tuple[bytes, str]], workspace: str) -> dict[str, Any]:
    """What `restore` and `rewind` answer when paths changed since: nothing was done."""
    return {"done": False, "dry_run": False, "undo_run": None, "restored": [],
            "more_restored": 0,
            "conflicts": [{"path": relative(path, workspace), "why": why}
                          for path, why in conflicts],
            "failures": []}
