"""Taking the versions of watched paths from the tracer's callbacks, while the writer
is stopped, and numbering each path's versions from 1 in capture order.

The writer waits while a version is taken, so taking one must be quick: small
contents are kept (from the descriptor opened here, never by re-opening the
path) straight away; from CLONE_FROM bytes on, a content is cloned into the
store where the filesystem can (no data copied), and elsewhere copied aside in
the kernel and kept (hashed, compressed) only in `finish`, in the run's pool,
after the command has exited.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

from cowsnap.errors import StoreError, UnreadableFileError
from cowsnap.model import TOO_LARGE, UNREADABLE, Trigger, Version
from cowsnap.record.versions import VersionGlobs, rename_target
from cowsnap.store.content import clone_or_copy, hash_fd
from cowsnap.store.keeping import ContentWriter
from cowsnap.trace.events import Event, PathEvent

CLONE_FROM = 1024 * 1024
"""From this size a version is cloned or set aside rather than compressed on the spot
(4 MiB: a clone ~1 ms, a copy aside ~5 ms, compressing ~180 ms)."""
NOT_STORED = "not stored: "


@dataclass(frozen=True, slots=True)
class Kept:
    size: int | None
    blob: str | None
    not_captured: str | None = None


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def _process(pid: int) -> tuple[str | None, str | None]:
    """The writer's executable and command name (it is stopped, so still there)."""
    try:
        exe: str | None = os.readlink(b"/proc/%d/exe" % pid).decode("utf-8", "backslashreplace")
    except OSError:
        exe = None
    try:
        with open(b"/proc/%d/comm" % pid, "rb") as handle:
            comm: str | None = handle.read().rstrip(b"\n").decode("utf-8", "backslashreplace")
    except OSError:
        comm = None
    return exe, comm


class VersionKeeper:
    def __init__(self, globs: VersionGlobs, writer: ContentWriter,
                 max_file_size: int | None, wanted: Callable[[bytes], bool]) -> None:
        self.globs = globs
        self._writer = writer
        self._max_file_size = max_file_size
        self._wanted = wanted
        self._versions: dict[bytes, list[Version]] = {}
        self._aside: dict[str, Path] = {}

    def on_written_close(self, pid: int, path: bytes) -> None:
        """`trace(on_written_close=...)`: the closing thread is stopped at close(), or
        the last thread of an exiting process (fds still open) at its exit."""
        self._take(pid, path, "close")

    def on_event(self, event: Event) -> None:
        """Renames onto a watched path are delivered at the rename's exit, the renaming
        thread still stopped: the content is the one just moved into place."""
        if isinstance(event, PathEvent) and rename_target(event):
            self._take(event.pid, event.path, "rename")

    def versions(self, path: bytes) -> tuple[Version, ...]:
        return tuple(self._versions.get(path, ()))

    def finish(self) -> None:
        """Store the contents set aside during the run; they are gone afterwards, stored
        or not (a failure raises: the run cannot be recorded without them). The store
        may name one differently (a large content it clones gets a random id)."""
        aside, self._aside = self._aside, {}
        if not aside:
            return
        try:
            kept = self._writer.map(self._writer.keep_path,
                                    [os.fsencode(path) for path in aside.values()])
            stored = {blob: new for blob, new in zip(aside, kept, strict=True) if new}
        finally:
            for path in aside.values():
                path.unlink(missing_ok=True)
        for versions in self._versions.values():
            versions[:] = [replace(version, blob=stored[version.blob])
                           if version.blob in stored else version for version in versions]

    def _take(self, pid: int, path: bytes, trigger: Trigger) -> None:
        """Add a version unless the same process gives again the content of the latest
        one (the shell's duplicated fds, an fd opened read-write only to lock it)."""
        if not (self.globs.matches(path) and self._wanted(path)):
            return
        taken = _now()
        kept = self._keep(path)
        if kept is None:
            return
        versions = self._versions.setdefault(path, [])
        latest = versions[-1] if versions else None
        if kept.blob is not None and latest is not None and (
                (latest.pid, latest.blob) == (pid, kept.blob)):
            return
        exe, comm = _process(pid)
        versions.append(Version(number=len(versions) + 1, time=taken, trigger=trigger,
                                pid=pid, exe=exe, comm=comm, size=kept.size, blob=kept.blob,
                                not_captured=kept.not_captured))

    def _keep(self, path: bytes) -> Kept | None:
        """The regular file at `path`, kept; None when there is no regular file there
        (removed, or never one). Never raises: the traced command must go on."""
        try:
            fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
        except FileNotFoundError:
            return None
        except OSError:
            return self._unreadable(path)
        size: int | None = None
        try:
            info = os.fstat(fd)
            if not stat.S_ISREG(info.st_mode):
                return None
            size = info.st_size
            fits = self._max_file_size is None or size <= self._max_file_size
            if fits and size < CLONE_FROM:
                kept = self._writer.keep(fd, size)
                return Kept(kept.size, kept.blob)
            cloned = self._writer.keep(fd, size, clone_only=True)
            if cloned.blob is not None:
                return Kept(cloned.size, cloned.blob)
            blob = self._set_aside(fd, size) if fits else None
            return Kept(size, blob, None if blob is not None else TOO_LARGE)
        except UnreadableFileError:
            return Kept(size, None, UNREADABLE)
        except (StoreError, OSError) as error:
            return Kept(size, None, NOT_STORED + str(error))
        finally:
            os.close(fd)

    def _set_aside(self, fd: int, size: int) -> str:
        """Copy the content aside (in the kernel) and name it by the copy's id; it is
        stored in `finish`."""
        copy = self._writer.scratch / f"{os.getpid()}.{os.urandom(8).hex()}"
        out = os.open(copy, os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
        try:
            clone_or_copy(fd, out, size)
            blob = hash_fd(out, size)
        except BaseException:
            copy.unlink(missing_ok=True)
            raise
        finally:
            os.close(out)
        if blob in self._aside or self._writer.has(blob):
            copy.unlink()
        else:
            self._aside[blob] = copy
        return blob

    @staticmethod
    def _unreadable(path: bytes) -> Kept | None:
        try:
            info = os.lstat(path)
        except OSError:
            return None
        return Kept(info.st_size, None, UNREADABLE) if stat.S_ISREG(info.st_mode) else None
