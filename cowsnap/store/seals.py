"""Checksums of large contents stored under a random `large-...` id.

Those contents are cloned, not copied, when they are stored, so their name says
nothing of their bytes. The store that clones one writes `seals/<id>` =
`unhashed`: produced here, not yet hashed. The writer that cloned it hashes the
clone when it closes (before its run is published) and replaces that with the git
blob id of its bytes; every reader compares against it, so a flipped byte is
caught from then on. An `unhashed` seal left by an older store is sealed by its
first reader (`cowsnap check`, or a restore, `cat`, `diff`, an export). A
`large-` content with no seal at all (a bundle's, with its seal lost) cannot be
verified: it is an error, and nothing ever seals it as good. A bundle carries a
hashed seal for each of its large contents. Contents named by their git blob id
need no seal.
"""

from __future__ import annotations

import re

from cowsnap.errors import StoreDamagedError
from cowsnap.store.rooted import StoreRoot

SEALS = "seals"
UNHASHED = "unhashed"
_SEAL = re.compile(rb"(?:[0-9a-f]{40}|unhashed)\n?")


def seal_name(blob: str) -> str:
    return f"{SEALS}/{blob}"


def read_seal_record(root: StoreRoot, blob: str) -> str | None:
    """`seals/<blob>`: a git blob id, UNHASHED, or None when there is none; StoreError
    when it is damaged."""
    try:
        raw = root.read_bytes(seal_name(blob), limit=64)
    except FileNotFoundError:
        return None
    if not _SEAL.fullmatch(raw):
        raise StoreDamagedError(f"the seal of content {blob} is damaged (see cowsnap check)")
    return raw.decode().strip()


def read_seal(root: StoreRoot, blob: str) -> str | None:
    """The git blob id `blob`'s bytes were sealed with, None if not hashed yet."""
    record = read_seal_record(root, blob)
    return None if record == UNHASHED else record


def write_seal(root: StoreRoot, blob: str, digest: str) -> None:
    root.make_directories(SEALS)
    root.write_atomic(seal_name(blob), digest.encode() + b"\n", action=f"seal content {blob}")
