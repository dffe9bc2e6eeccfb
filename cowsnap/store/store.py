"""The store: one directory serving every workspace (layout in docs/store.md).

Opening checks the format version (a newer one is refused rather than damaged)
and removes runs left incomplete by dead processes.
"""

from __future__ import annotations

import fcntl
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Literal

from cowsnap.errors import ContentNotFoundError, StoreError
from cowsnap.gitlib.objects import read_git_blob
from cowsnap.model import FileEntry
from cowsnap.store.atomic import storage_error, write_atomic
from cowsnap.store.content import ContentStore
from cowsnap.store.runs import RunIndex

STORE_FORMAT = "cowsnap.store"
STORE_VERSION = 1
VERSION_FILE = "cowsnap-store.json"
LAYOUT = {"lock", "retention.lock", "objects.git", "large", "tmp", "runs", "incomplete"}
"""What may already be in a store without a version file: one whose creation was cut short."""


@contextmanager
def file_lock(path: Path, *, exclusive: bool, wait: bool = True) -> Iterator[None]:
    """flock `path` (created 0600 if missing) for the duration of the block; without
    `wait`, BlockingIOError when another process holds a conflicting lock."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        flags = fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH
        fcntl.flock(fd, flags if wait else flags | fcntl.LOCK_NB)
        yield
    finally:
        os.close(fd)


def _check_version(path: Path) -> None:
    try:
        info = json.loads(path.read_bytes())
        store_format, version = info["format"], int(info["version"])
    except (OSError, ValueError, KeyError, TypeError):
        raise StoreError(f"{path.parent} is not a cowsnap store (bad {path.name})") from None
    if store_format != STORE_FORMAT:
        raise StoreError(f"{path.parent} is not a cowsnap store (format {store_format!r})")
    if version > STORE_VERSION:
        raise StoreError(
            f"store {path.parent} has format version {version}; this cowsnap reads "
            f"version {STORE_VERSION} at most: upgrade cowsnap"
        )


class Store:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.contents = ContentStore(root)
        self.runs = RunIndex(root, flush=self.contents.flush)

    @classmethod
    def open(cls, root: Path, *, create: bool = True) -> Store:
        """Open the store at `root`; with `create`, make it if missing and tidy it up.

        Without `create` the store is only read: it must exist, nothing is written.
        """
        store = cls(root)
        version_file = root / VERSION_FILE
        if not create:
            if not version_file.exists():
                raise StoreError(f"no cowsnap store at {root}")
            _check_version(version_file)
            return store
        try:
            root.mkdir(mode=0o700, parents=True, exist_ok=True)
            with file_lock(root / "lock", exclusive=True):
                if version_file.exists():
                    _check_version(version_file)
                else:
                    if not set(os.listdir(root)) <= LAYOUT:
                        raise StoreError(f"{root} is not empty and not a cowsnap store")
                    os.chmod(root, 0o700)
                    store.contents.initialise()
                    store.runs.initialise()
                    info = {"format": STORE_FORMAT, "version": STORE_VERSION}
                    write_atomic(version_file, json.dumps(info).encode() + b"\n")
                store.runs.remove_abandoned()
        except OSError as error:
            raise storage_error(error, f"open the store {root}") from None
        return store

    @contextmanager
    def retention_lock(self, *, exclusive: bool, wait: bool = True) -> Iterator[None]:
        """Shared while a run writes contents not yet referenced by a published
        manifest; exclusive for anything that deletes unreferenced contents (prune).
        Without `wait`, BlockingIOError when it is not free (automatic pruning skips)."""
        with file_lock(self.root / "retention.lock", exclusive=exclusive, wait=wait):
            yield

    def stream(self, blob: str, repository_root: str | None = None) -> Iterator[bytes]:
        """A content from the store, else (for clean tracked files referenced by id)
        from the git repository at `repository_root`."""
        if self.contents.has(blob):
            yield from self.contents.stream(blob)
            return
        data = read_git_blob(repository_root, blob) if repository_root else None
        if data is None:
            where = f" nor in the repository {repository_root}" if repository_root else ""
            raise ContentNotFoundError(f"content {blob} is not in the store{where}")
        yield data

    def read(self, blob: str, repository_root: str | None = None) -> bytes:
        return b"".join(self.stream(blob, repository_root))

    def open_content(self, entry: FileEntry, side: Literal["before", "after"]) -> Iterator[bytes]:
        """The before- or after-content of a manifest entry, in chunks; a
        ContentNotFoundError saying why when there is none."""
        state = entry.before if side == "before" else entry.after
        if state.blob is None:
            if state.not_captured:
                why = f"not captured: {state.not_captured}"
            elif not state.exists:
                why = "it did not exist"
            elif state.type != "file":
                why = f"it was a {state.type}"
            else:
                why = "its content was not needed"
            path = entry.path.decode("utf-8", "backslashreplace")
            raise ContentNotFoundError(f"no {side}-content of {path}: {why}")
        repository_root = entry.git.root if state.blob_source == "git" else None
        return self.stream(state.blob, repository_root)
