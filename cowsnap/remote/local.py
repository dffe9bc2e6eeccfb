"""What remote operations keep in the local store: scratch repositories, and where
a fetched run came from.

A fetched run is published like any other (so show, diff, cat and restore read
it), with `origin.json` beside its manifest: the remote, the commit, and the
contents the pusher left out for their size. Its presence is what marks the run
as foreign, to be restored with the same refusals as a bundle.
"""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path

from cowsnap.store.atomic import write_atomic
from cowsnap.store.store import Store

ORIGIN = "origin.json"


def scratch_path(store: Store, purpose: str) -> Path:
    """A fresh path in the store's tmp/, named `<pid>.<purpose>-<random>` so that prune
    removes it should this process die."""
    return store.contents.scratch / f"{os.getpid()}.{purpose}-{secrets.token_hex(6)}"


@dataclass(frozen=True)
class Origin:
    remote: str
    commit: str
    fetched_at: str
    not_pushed: dict[str, int] = field(default_factory=dict)


def write_origin(run_directory: Path, origin: Origin) -> None:
    document = {"remote": origin.remote, "commit": origin.commit,
                "fetched_at": origin.fetched_at, "not_pushed": origin.not_pushed}
    write_atomic(run_directory / ORIGIN, json.dumps(document, indent=1).encode() + b"\n")


def read_origin(store: Store, run_id: str) -> Origin | None:
    """Where run `run_id` was fetched from; None for a run recorded here."""
    try:
        data = json.loads((store.runs.published / run_id / ORIGIN).read_bytes())
        return Origin(remote=str(data["remote"]), commit=str(data["commit"]),
                      fetched_at=str(data["fetched_at"]),
                      not_pushed={str(key): int(value)
                                  for key, value in dict(data["not_pushed"]).items()})
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError, RecursionError):
        return Origin(remote="(unreadable origin.json)", commit="", fetched_at="")
