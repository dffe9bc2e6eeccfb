"""The contents a restore writes, checked against their ids before anything is written.

A content id is the git blob id (SHA-1) of the content, so a content damaged in
the store or tampered with in a bundle is caught before the first write. Large
contents cloned into the store carry a random `large-` id instead; for those
the size is checked, and the seal `cowsnap check` wrote, if there is one. Small
contents are kept in memory between the check and the write, so they are read once;
large ones kept as files stay open from the check to the write (the inode checked
is the one copied), and are cloned or copied with their holes (`sparse`).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from types import TracebackType

from cowsnap.errors import ContentNotFoundError, StoreError, UntrustedRunError
from cowsnap.model import FileEntry, FileState, is_hash_id
from cowsnap.restore.plan import Action, Step
from cowsnap.restore.sparse import copy_content
from cowsnap.store.batch import read_packed
from cowsnap.store.store import Store

MEMORY_BUDGET = 256 * 1024 * 1024
KEEP_BELOW = 4 * 1024 * 1024


class Contents:
    def __init__(self, store: Store) -> None:
        self._store = store
        self._kept: dict[str, bytes] = {}
        self._kept_size = 0
        self._checked: dict[str, int] = {}
        """Each content checked against its id, with its size in bytes."""
        self._large: dict[str, int] = {}

    def __enter__(self) -> Contents:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 traceback: TracebackType | None) -> None:
        for fd in self._large.values():
            os.close(fd)
        self._large.clear()

    def _stream(self, entry: FileEntry, state: FileState) -> Iterator[bytes]:
        assert state.blob is not None
        if state.blob_source == "git":
            return self._store.stream(state.blob, entry.git.root)
        return self._store.contents.stream(state.blob)

    def _mismatch(self, entry: FileEntry, blob: str) -> UntrustedRunError:
        return UntrustedRunError(
            f"the content {blob} of {os.fsdecode(entry.path)} does not match its id "
            f"and size: the store or bundle is damaged or was tampered with")

    def _open_large(self, entry: FileEntry, state: FileState) -> int | None:
        """The file holding a large content, opened once beneath the store (never
        through a symlink, a regular file of the store's owner)."""
        if state.blob is None or state.blob_source == "git":
            return None
        try:
            return self._store.contents.open_large_file(state.blob)
        except StoreError as error:
            raise UntrustedRunError(f"cannot read the content of {os.fsdecode(entry.path)}: "
                                    f"{error}") from None

    def _check_large(self, entry: FileEntry, state: FileState, fd: int) -> None:
        """Checked against its id or seal (`ContentStore.verify_large`) and its size."""
        blob = state.blob
        assert blob is not None
        try:
            self._store.contents.verify_large(blob, fd, state.size)
        except StoreError:
            os.close(fd)
            raise self._mismatch(entry, blob) from None
        except OSError as error:
            os.close(fd)
            raise UntrustedRunError(f"cannot read the content of {os.fsdecode(entry.path)}: "
                                    f"{error.strerror}") from None
        size = os.fstat(fd).st_size
        if size != state.size:  # no recorded size (trust.check_manifest refuses that first)
            os.close(fd)
            raise self._mismatch(entry, blob)
        self._large[blob] = fd
        self._checked[blob] = size

    def _keep(self, blob: str, data: bytes) -> None:
        if len(data) < KEEP_BELOW and self._kept_size + len(data) <= MEMORY_BUDGET:
            self._kept[blob] = data
            self._kept_size += len(data)

    def _check(self, entry: FileEntry, state: FileState) -> None:
        """Read the content once: the store verifies it against its id (or seal) before
        handing out its first byte, and here its size is checked against the manifest."""
        blob = state.blob
        assert blob is not None
        large = self._open_large(entry, state)
        if large is not None:
            self._check_large(entry, state, large)
            return
        chunks = []
        total = 0
        try:
            for chunk in self._stream(entry, state):
                total += len(chunk)
                if total <= KEEP_BELOW:
                    chunks.append(chunk)
        except ContentNotFoundError:
            raise
        except StoreError as error:
            raise UntrustedRunError(f"cannot read the content of {os.fsdecode(entry.path)}: "
                                    f"{error}") from None
        if total != state.size:
            raise self._mismatch(entry, blob)
        self._checked[blob] = total
        if total < KEEP_BELOW:
            self._keep(blob, b"".join(chunks))

    def _check_packed(self, wanted: dict[str, int | None], writes: list[Step]) -> None:
        """Read and verify, in one pass over each pack, the wanted contents (id to
        recorded size) held in packs."""
        checked, keep = self._checked, self._keep
        try:
            for blob, data in read_packed(self._store.contents, wanted):
                if len(data) != wanted[blob]:
                    entry = next(step.target.entry for step in writes
                                 if step.target.want.blob == blob)
                    raise self._mismatch(entry, blob)
                checked[blob] = len(data)
                keep(blob, data)
        except StoreError as error:
            raise UntrustedRunError(f"cannot read a content to restore: {error}") from None

    def verify(self, steps: Iterable[Step]) -> dict[bytes, str]:
        """Read and check every content the steps write, against its id and each path's
        recorded size; UntrustedRunError on the first mismatch. A content that is simply
        not there (a git blob pruned since) fails only its path: returned, path to why,
        for the restore to list and skip."""
        writes = [step for step in steps if step.action == Action.WRITE]
        wanted: dict[str, int | None] = {}
        checked = self._checked
        for step in writes:
            state = step.target.want
            blob = state.blob
            if blob is not None and blob not in checked and blob not in wanted \
                    and state.blob_source != "git" and is_hash_id(blob):
                wanted[blob] = state.size
        self._check_packed(wanted, writes)
        missing: dict[bytes, str] = {}
        for step in writes:
            state = step.target.want
            blob = state.blob
            if blob is not None and blob in checked:
                if state.size != checked[blob]:
                    raise self._mismatch(step.target.entry, blob)  # checked for another path
                continue
            try:
                self._check(step.target.entry, state)
            except ContentNotFoundError as error:
                missing[step.path] = f"content not available: {error}"
        return missing

    def write(self, entry: FileEntry, state: FileState, fd: int) -> None:
        """Write the checked content into the empty file `fd`: as many bytes as were
        checked."""
        assert state.blob is not None
        large = self._large.get(state.blob)
        if large is not None:
            copy_content(large, fd, self._checked[state.blob])
            return
        kept = self._kept.get(state.blob)
        for chunk in (kept,) if kept is not None else self._stream(entry, state):
            written = os.write(fd, chunk) if chunk else 0
            if written < len(chunk):  # a short write: the rest, piece by piece
                view = memoryview(chunk)[written:]
                while view:
                    view = view[os.write(fd, view):]
