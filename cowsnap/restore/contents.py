"""The contents a restore writes, checked against their ids before anything is written.

A content id is the git blob id (SHA-1) of the content, so a content damaged in
the store or tampered with in a bundle is caught before the first write. Large
contents cloned into the store carry a random `large-` id instead; for those
the size is checked, and the seal `cowsnap check` wrote, if there is one. Small
contents are kept in memory between the check and the write, so they are read once.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable, Iterator

from cowsnap.errors import StoreError, UntrustedRunError
from cowsnap.model import FileEntry, FileState, is_hash_id
from cowsnap.restore.plan import Action, Step
from cowsnap.store.content import blob_header
from cowsnap.store.seals import read_seal
from cowsnap.store.store import Store

MEMORY_BUDGET = 256 * 1024 * 1024
KEEP_BELOW = 4 * 1024 * 1024


class Contents:
    def __init__(self, store: Store) -> None:
        self._store = store
        self._kept: dict[str, bytes] = {}
        self._kept_size = 0
        self._checked: set[str] = set()

    def _stream(self, entry: FileEntry, state: FileState) -> Iterator[bytes]:
        assert state.blob is not None
        if state.blob_source == "git":
            return self._store.stream(state.blob, entry.git.root)
        return self._store.contents.stream(state.blob)

    def _check(self, entry: FileEntry, state: FileState) -> None:
        blob = state.blob
        assert blob is not None
        size = state.size or 0
        digest = hashlib.sha1(blob_header(size), usedforsecurity=False)
        keep = size < KEEP_BELOW and self._kept_size + size <= MEMORY_BUDGET
        chunks = []
        total = 0
        try:
            for chunk in self._stream(entry, state):
                digest.update(chunk)
                total += len(chunk)
                if keep:
                    chunks.append(chunk)
        except StoreError as error:
            raise UntrustedRunError(f"cannot read the content of {os.fsdecode(entry.path)}: "
                                    f"{error}") from None
        expected = blob if is_hash_id(blob) else read_seal(self._store, blob)
        if total != size or expected not in (None, digest.hexdigest()):
            raise UntrustedRunError(
                f"the content {blob} of {os.fsdecode(entry.path)} does not match its id "
                f"and size: the store or bundle is damaged or was tampered with")
        self._checked.add(blob)
        if keep:
            self._kept[blob] = b"".join(chunks)
            self._kept_size += size

    def verify(self, steps: Iterable[Step]) -> None:
        """Read and check every content the steps write; UntrustedRunError on the first
        mismatch."""
        for step in steps:
            state = step.target.want
            if step.action == Action.WRITE and state.blob not in self._checked:
                self._check(step.target.entry, state)

    def chunks(self, entry: FileEntry, state: FileState) -> Iterable[bytes]:
        assert state.blob is not None
        kept = self._kept.get(state.blob)
        return (kept,) if kept is not None else self._stream(entry, state)
