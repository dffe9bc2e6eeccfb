"""What remote operations keep in the local store: scratch repositories, and where
a fetched run came from.

A fetched run is published like any other (so show, diff, cat and restore read
it) but without an origin tag (cowsnap/origin.py), so restore treats it as
untrusted, like a bundle; `fetched.json` beside its manifest says where it came
from: the remote, the commit, and the contents the pusher left out for their size.
"""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path

from cowsnap.store.atomic import write_atomic
from cowsnap.store.store import Store

FETCHED = "fetched.json"


def scratch_path(store: Store, purpose: str) -> Path:
    """A fresh path in the store's tmp/, named `<pid>.<purpose>-<random>` so that prune
    removes it should this process die."""
    return store.contents.scratch / f"{os.getpid()}.{purpose}-{secrets.token_hex(6)}"


@dataclass(frozen=True)
class Fetched:
    remote: str
    commit: str
    fetched_at: str
    not_pushed: dict[str, int] = field(default_factory=dict)


def write_fetched(run_directory: Path, fetched: Fetched) -> None:
    document = {"remote": fetched.remote, "commit": fetched.commit,
                "fetched_at": fetched.fetched_at, "not_pushed": fetched.not_pushed}
    write_atomic(run_directory / FETCHED, json.dumps(document, indent=1).encode() + b"\n")

