"""Checksums of large contents stored under a random `large-...` id.

Those contents are cloned, not hashed, when they are stored (hashing costs ten
warm reads, docs/store.md), so nothing records what their bytes should be. The
first `cowsnap check` that reads one seals it: `seals/<id>` receives the git blob
id of its bytes, and every later check compares against that, so a flipped byte
after the first check is caught. Contents named by their git blob id need no seal.
"""

from __future__ import annotations

from pathlib import Path

from cowsnap.store.atomic import write_atomic
from cowsnap.store.store import Store

SEALS = "seals"


def seals_dir(store: Store) -> Path:
    return store.root / SEALS


def seal_path(store: Store, blob: str) -> Path:
    return seals_dir(store) / blob


def read_seal(store: Store, blob: str) -> str | None:
    try:
        return seal_path(store, blob).read_text().strip()
    except FileNotFoundError:
        return None


def write_seal(store: Store, blob: str, digest: str) -> None:
    seals_dir(store).mkdir(mode=0o700, exist_ok=True)
    write_atomic(seal_path(store, blob), digest.encode() + b"\n")
