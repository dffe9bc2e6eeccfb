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

from cowsnap.errors import ContentNotFoundError, StoreDamagedError, StoreError
from cowsnap.gitlib.objects import read_git_blob
from cowsnap.model import FileEntry
from cowsnap.store.atomic import storage_error
from cowsnap.store.content import ContentStore, blob_id
from cowsnap.store.rooted import StoreRoot
from cowsnap.store.runs import RunIndex
from cowsnap.store.seals import SEALS

STORE_FORMAT = "cowsnap.store"
STORE_VERSION = 1
VERSION_FILE = "cowsnap-store.json"
LAYOUT = {"lock", "retention.lock", "objects.git", "large", "tmp", "runs", "incomplete"}
"""What may already be in a store without a version file: one whose creation was cut short."""
LAYOUT_DIRECTORIES = ("objects.git", "objects.git/objects", "large", "tmp", "runs",
                      "incomplete", SEALS)


@contextmanager
def file_lock(root: StoreRoot, name: str, *, exclusive: bool,
              wait: bool = True) -> Iterator[None]:
    """flock `name` in the store (created 0600 if missing) for the duration of the block;
    without `wait`, BlockingIOError when another process holds a conflicting lock."""
    try:
        fd = root.open_beneath(name, os.O_RDWR | os.O_CREAT, 0o600)
    except OSError as error:
        raise storage_error(error, f"lock the store {root.path}") from None
    try:
        flags = fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH
        fcntl.flock(fd, flags if wait else flags | fcntl.LOCK_NB)
        yield
    finally:
        os.close(fd)


def _check_version(root: StoreRoot) -> None:
    path = root.path / VERSION_FILE
    try:
        info = json.loads(root.read_bytes(VERSION_FILE, limit=4096))
        store_format, version = info["format"], int(info["version"])
    except FileNotFoundError:
        raise StoreError(f"no cowsnap store at {root.path}") from None
    except (OSError, ValueError, KeyError, TypeError, RecursionError):
        raise StoreError(f"{path.parent} is not a cowsnap store (bad {path.name})") from None
    if store_format != STORE_FORMAT:
        raise StoreError(f"{path.parent} is not a cowsnap store (format {store_format!r})")
    if version > STORE_VERSION:
        raise StoreError(
            f"store {path.parent} has format version {version}; this cowsnap reads "
            f"version {STORE_VERSION} at most: upgrade cowsnap"
        )


def _check_layout(root: StoreRoot) -> None:
    """Every fixed directory of the store is a real directory of the store's owner (a
    symlink, e.g. `large` -> a root-owned directory, is refused before any use)."""
    for directory in LAYOUT_DIRECTORIES:
        try:
            os.close(root.open_directory(directory))
        except FileNotFoundError:
            continue


class Store:
    def __init__(self, root: StoreRoot) -> None:
        self.directory = root
        self.root = root.path
        self.contents = ContentStore(root)
        self.runs = RunIndex(root, flush=self.contents.flush)

    @classmethod
    def open(cls, root: Path, *, create: bool = True) -> Store:
        """Open the store at `root`; with `create`, make it if missing and tidy it up.

        Without `create` the store is only read: it must exist, nothing is written.
        """
        if not create:
            store = cls(StoreRoot(root))
            _check_version(store.directory)
            _check_layout(store.directory)
            return store
        try:
            root.mkdir(mode=0o700, parents=True, exist_ok=True)
            store = cls(StoreRoot(root))
        except OSError as error:
            raise storage_error(error, f"open the store {root}") from None
        try:
            store._create_or_tidy()
        except OSError as error:
            raise storage_error(error, f"open the store {root}") from None
        return store

    def _create_or_tidy(self) -> None:
        with file_lock(self.directory, "lock", exclusive=True):
            if self.directory.exists(VERSION_FILE):
                _check_version(self.directory)
                _check_layout(self.directory)
            else:
                with self.directory.opened() as root:
                    if not set(os.listdir(root)) <= LAYOUT:
                        raise StoreError(f"{self.root} is not empty and not a cowsnap store")
                    os.fchmod(root, 0o700)
                self.contents.initialise()
                self.runs.initialise()
                info = {"format": STORE_FORMAT, "version": STORE_VERSION}
                self.directory.write_atomic(VERSION_FILE, json.dumps(info).encode() + b"\n",
                                            action=f"create the store {self.root}")
            self.runs.remove_abandoned()

    @contextmanager
    def retention_lock(self, *, exclusive: bool, wait: bool = True) -> Iterator[None]:
        """Shared while a run writes contents not yet referenced by a published
        manifest; exclusive for anything that deletes unreferenced contents (prune).
        Without `wait`, BlockingIOError when it is not free (automatic pruning skips)."""
        with file_lock(self.directory, "retention.lock", exclusive=exclusive, wait=wait):
            yield

    def stream(self, blob: str, repository_root: str | None = None,
               size: int | None = None) -> Iterator[bytes]:
        """A content from the store, else (for clean tracked files referenced by id)
        from the git repository at `repository_root`; verified against its id (or seal)
        and `size` before the first chunk (StoreError if it does not match)."""
        if self.contents.has(blob):
            yield from self.contents.stream(blob, size)
            return
        data = read_git_blob(repository_root, blob) if repository_root else None
        if data is None:
            where = f" nor in the repository {repository_root}" if repository_root else ""
            raise ContentNotFoundError(f"content {blob} is not in the store{where}")
        if blob_id(data) != blob or size not in (None, len(data)):
            raise StoreDamagedError(f"content {blob} is damaged in the repository "
                                    f"{repository_root}")
        yield data

    def read(self, blob: str, repository_root: str | None = None,
             size: int | None = None) -> bytes:
        return b"".join(self.stream(blob, repository_root, size))

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
