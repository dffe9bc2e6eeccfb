"""A store's (or bundle's) root directory, and every file inside opened beneath it.

A store is input: a bundle comes from someone else, and root may be handed a
directory another user prepared. So the root is opened once and checked (it
belongs to the caller and no one else can write to it), its fixed directories
must be real directories of the same owner, and every file read or written
inside is opened beneath the root with no symlink on the way
(`cowsnap.beneath`), must be a regular file of the same owner, and is never
read beyond a size limit. A `large/large-<id>` symlink to /etc/shadow, or a
`large/` symlink to a root-owned directory, fails with a one-line StoreError.
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

from cowsnap.beneath import open_beneath
from cowsnap.errors import StoreDamagedError, StoreError
from cowsnap.store.atomic import storage_error

FILE_FLAGS = os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY
DIRECTORY_FLAGS = os.O_RDONLY | os.O_DIRECTORY
UNSAFE = {errno.ELOOP, errno.EXDEV, errno.ENOTDIR}


def _relative(relative: str | bytes) -> bytes:
    return os.fsencode(relative)


def trust_problem(info: os.stat_result, uid: int) -> str | None:
    """Why a store directory with this status may not be used by `uid`, if it may not."""
    if info.st_uid != uid:
        return f"belongs to uid {info.st_uid}, not to you (uid {uid})"
    if info.st_mode & 0o022:
        return f"is writable by other users (mode {stat.S_IMODE(info.st_mode):o})"
    return None


class StoreRoot:
    """The root directory of one store, checked once and pinned: every later opening
    of it must find the same directory (device and inode), so replacing the store's
    path meanwhile (by whoever owns its parent) is an error, not a redirection. No
    descriptor is held between calls, so a store never keeps its filesystem busy."""

    def __init__(self, path: Path) -> None:
        self.path = path
        fd = self._open_path()
        try:
            info = os.fstat(fd)
        finally:
            os.close(fd)
        self.owner = info.st_uid
        self._identity = (info.st_dev, info.st_ino)
        problem = trust_problem(info, os.geteuid())
        if problem:
            raise StoreError(f"refusing the store {path}: it {problem}; "
                             "copy it as yourself first (cp -r) or use it as its owner")

    def _open_path(self) -> int:
        try:
            return os.open(self.path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        except OSError as error:
            if error.errno == errno.ENOENT:
                raise StoreError(f"no cowsnap store at {self.path}") from None
            raise StoreError(f"cannot open the store {self.path}: {error.strerror}") from None

    @contextmanager
    def opened(self) -> Iterator[int]:
        """An fd of the root directory, the very one checked when the store was opened."""
        fd = self._open_path()
        try:
            info = os.fstat(fd)
            if (info.st_dev, info.st_ino) != self._identity:
                raise StoreError(f"the store {self.path} was replaced while in use")
            yield fd
        finally:
            os.close(fd)

    def open_beneath(self, relative: str | bytes, flags: int, mode: int = 0o600) -> int:
        """`cowsnap.beneath.open_beneath` from the root: no symlink, nothing outside."""
        with self.opened() as root:
            return open_beneath(root, _relative(relative), flags, mode)

    def _unsafe(self, relative: str | bytes, error: OSError) -> StoreError:
        """A tampered path (symlink, `..`, non-directory on the way) is damage."""
        where = os.fsdecode(_relative(relative))
        if error.errno in UNSAFE:
            return StoreDamagedError(f"refusing {self.path / where}: a symlink or a non-directory "
                              "is on its way (the store was tampered with)")
        return StoreError(f"cannot open {self.path / where}: {error.strerror}")

    def _checked(self, fd: int, relative: str | bytes, *, directory: bool) -> int:
        info = os.fstat(fd)
        kind_ok = stat.S_ISDIR(info.st_mode) if directory else stat.S_ISREG(info.st_mode)
        why = None
        if not kind_ok:
            why = "is not a directory" if directory else "is not a regular file"
        elif info.st_uid != self.owner:
            why = f"belongs to uid {info.st_uid}, not to the store's owner"
        if why:
            os.close(fd)
            raise StoreDamagedError(f"refusing {self.path / os.fsdecode(_relative(relative))}: "
                                    f"it {why} (the store was tampered with)")
        return fd

    def open_file(self, relative: str | bytes) -> int:
        """A read-only fd of the regular file `relative`; FileNotFoundError if it is
        missing, StoreError if it is a symlink, special file, or of another owner."""
        try:
            fd = self.open_beneath(relative, FILE_FLAGS)
        except FileNotFoundError:
            raise
        except OSError as error:
            raise self._unsafe(relative, error) from None
        return self._checked(fd, relative, directory=False)

    def open_directory(self, relative: str | bytes) -> int:
        """A read-only fd of the directory `relative` (for *at calls and fsync)."""
        try:
            fd = self.open_beneath(relative, DIRECTORY_FLAGS)
        except FileNotFoundError:
            raise
        except OSError as error:
            raise self._unsafe(relative, error) from None
        return self._checked(fd, relative, directory=True)

    def move_into(self, source_dir: int, name: str, directory: str | bytes,
                  new_name: str) -> None:
        """Rename `name` (in the open `source_dir`) to `directory/new_name` beneath the
        root, durably: the target directory is synced after the rename."""
        target = self.open_directory(directory)
        try:
            os.rename(name, new_name, src_dir_fd=source_dir, dst_dir_fd=target)
            os.fsync(target)
        finally:
            os.close(target)

    def exists(self, relative: str | bytes) -> bool:
        """Whether the regular file `relative` is there (StoreError if it is unsafe)."""
        try:
            os.close(self.open_file(relative))
        except FileNotFoundError:
            return False
        return True

    def read_bytes(self, relative: str | bytes, limit: int) -> bytes:
        """The whole file `relative`; StoreError if it is larger than `limit` bytes."""
        fd = self.open_file(relative)
        try:
            if os.fstat(fd).st_size > limit:
                raise StoreDamagedError(f"{self.path / os.fsdecode(_relative(relative))} is larger "
                                 f"than {limit} bytes: damaged or tampered with")
            with os.fdopen(os.dup(fd), "rb") as handle:
                data = handle.read(limit + 1)
        finally:
            os.close(fd)
        if len(data) > limit:
            raise StoreError(f"{self.path / os.fsdecode(_relative(relative))} grew past "
                             f"{limit} bytes while it was read")
        return data

    def make_directories(self, relative: str | bytes) -> None:
        """mkdir -p `relative` (0700), never through a symlink."""
        current = b""
        for part in _relative(relative).split(b"/"):
            if not part:
                continue
            parent = self.open_directory(current)
            try:
                os.mkdir(part, 0o700, dir_fd=parent)
            except FileExistsError:
                pass
            finally:
                os.close(parent)
            current = current + b"/" + part if current else part
        os.close(self.open_directory(current))

    @contextmanager
    def atomic_writer(self, relative: str | bytes, *, durable: bool = True) -> Iterator[BinaryIO]:
        """Like `atomic.atomic_writer`, with the directory opened beneath the root."""
        directory, name = os.path.split(_relative(relative))
        parent = self.open_directory(directory)
        temp = b".%s.tmp-%d-%s" % (name, os.getpid(), os.urandom(4).hex().encode())
        try:
            fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC
                         | os.O_NOFOLLOW, 0o600, dir_fd=parent)
            try:
                with os.fdopen(fd, "wb") as handle:
                    yield handle
                    handle.flush()
                    if durable:
                        os.fsync(handle.fileno())
                os.rename(temp, name, src_dir_fd=parent, dst_dir_fd=parent)
            except BaseException:
                os.unlink(temp, dir_fd=parent)
                raise
            if durable:
                os.fsync(parent)
        finally:
            os.close(parent)

    def write_atomic(self, relative: str | bytes, chunks: bytes | Iterable[bytes],
                     *, action: str) -> None:
        """Replace `relative` with `chunks`, durably; a StoreError naming `action`."""
        try:
            with self.atomic_writer(relative) as handle:
                for chunk in (chunks,) if isinstance(chunks, bytes) else chunks:
                    handle.write(chunk)
        except OSError as error:
            raise storage_error(error, action) from None
