"""How a run is laid out on a git remote (docs/remotes.md).

One ref per run, `refs/cowsnap/runs/<last 2 hex digits of the id>/<run id>`, so
concurrent pushers never update the same ref. It points at a small commit whose
tree holds only `summary.json` (what `log --remote` reads after a depth-1 fetch);
its one parent is the run commit, whose tree holds `manifest.json`,
`summary.json`, every content the manifest references (`contents/<2>/<38>` by
git blob id, `large/<large-id>` for cloned large contents) and, when some
contents were too large to push, `not-pushed.json`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import fields
from datetime import datetime
from typing import Any

from cowsnap.errors import RemoteError
from cowsnap.store.runs import RunSummary

RUNS_PREFIX = "refs/cowsnap/runs/"
MANIFEST = "manifest.json"
SUMMARY = "summary.json"
NOT_PUSHED = "not-pushed.json"
_RUN_ID = re.compile(r"[0-9]{8}T[0-9]{6}Z-[0-9a-f]{6}")


def run_ref(run_id: str) -> str:
    return f"{RUNS_PREFIX}{run_id[-2:]}/{run_id}"


def run_id_of(ref: str) -> str | None:
    """The run id a ref names, or None for anything else (other refs, odd names)."""
    if not ref.startswith(RUNS_PREFIX):
        return None
    shard, _, run_id = ref[len(RUNS_PREFIX):].partition("/")
    if not _RUN_ID.fullmatch(run_id) or shard != run_id[-2:]:
        return None
    return run_id


def runs_in(heads: Mapping[str, str]) -> dict[str, str]:
    """Run id -> commit id, from a remote's advertised refs."""
    found: dict[str, str] = {}
    for ref, oid in heads.items():
        run_id = run_id_of(ref)
        if run_id is not None:
            found[run_id] = oid
    return found


CONTENT_DIRECTORIES = {"contents": 2, "large": 1}
"""Where a run commit's tree keeps contents, and how many levels deep."""


def content_path(blob: str) -> str:
    """Where content `blob` sits in a run commit's tree."""
    if blob.startswith("large-"):
        return f"large/{blob}"
    return f"contents/{blob[:2]}/{blob[2:]}"


def commit_time(started_at: str) -> int:
    """The run's start as seconds since the epoch (0 when unreadable)."""
    try:
        return int(datetime.fromisoformat(started_at.replace("Z", "+00:00")).timestamp())
    except ValueError:
        return 0


_SUMMARY_TYPES: dict[str, Any] = {
    "run_id": str, "workspace": str, "command": list, "exit_status": int, "backend": str,
    "started_at": str, "finished_at": str, "files": int, "written": int, "deleted": int,
    "read": int,
}
"""Fields every summary has; the others (added later, with defaults) are strings or null,
except `effects`: null or counts by name (EFFECTS)."""
EFFECTS = {"created", "modified", "deleted", "read"}


def parse_summary(raw: bytes, run_id: str) -> RunSummary:
    """A remote run's summary.json, checked field by field (a remote is untrusted)."""
    where = f"run {run_id} on the remote: summary.json"
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError):
        raise RemoteError(f"{where} is not JSON") from None
    names = {item.name for item in fields(RunSummary)}
    if not isinstance(data, dict) or not set(_SUMMARY_TYPES) <= set(data) <= names:
        raise RemoteError(f"{where} has the wrong fields")
    for name, value in data.items():
        kind = _SUMMARY_TYPES.get(name)
        if name == "effects":
            valid = value is None or (isinstance(value, dict) and set(value) == EFFECTS and all(
                isinstance(number, int) and not isinstance(number, bool)
                for number in value.values()))
        else:
            valid = (isinstance(value, kind) and not isinstance(value, bool) if kind
                     else value is None or isinstance(value, str))
        if not valid:
            raise RemoteError(f"{where}: {name} is malformed")
    if not all(isinstance(word, str) for word in data["command"]):
        raise RemoteError(f"{where}: command is malformed")
    if data["run_id"] != run_id:
        raise RemoteError(f"{where} is of run {data['run_id']}")
    return RunSummary(**data)


def parse_not_pushed(raw: bytes, run_id: str) -> dict[str, int]:
    """Content id -> size, of the contents a push left out for their size."""
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError):
        data = None
    if not isinstance(data, dict) or not all(
            isinstance(key, str) and isinstance(value, int) and not isinstance(value, bool)
            for key, value in data.items()):
        raise RemoteError(f"run {run_id} on the remote: {NOT_PUSHED} is malformed")
    return dict(data)
