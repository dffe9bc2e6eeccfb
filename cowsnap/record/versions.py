"""Intermediate versions (`cowsnap run --versions GLOB`): which paths are watched, and
the numbered versions taken while a writer is stopped at its close or rename.

Matching is a pure function of path, workspace and globs (docs/versions.md gives
the syntax). Each capture stores the content at once, in the tracer's callback:
the writer may overwrite it as soon as it is resumed.
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

from cowsnap.errors import UnreadableFileError, UsageError
from cowsnap.record.manifest import Trigger, Version
from cowsnap.record.policy import TOO_LARGE, UNREADABLE
from cowsnap.store.content import ContentStore
from cowsnap.trace.events import Event, Operation, PathEvent
from cowsnap.trace.syscalls import RENAME_EXCHANGE

CLONE_FROM = 1024 * 1024
"""Versions this large are cloned into the store where the filesystem can (the writer
waits while a version is taken: a clone costs ~1 ms, compressing 4 MiB ~100 ms)."""
_RENAMES = frozenset({"rename", "renameat", "renameat2"})


def _component_regex(component: str) -> str:
    """One path component of a glob: `*` and `?` never match `/`; `[...]` as fnmatch."""
    out: list[str] = []
    index = 0
    while index < len(component):
        char = component[index]
        index += 1
        if char == "*":
            out.append("[^/]*")
        elif char == "?":
            out.append("[^/]")
        elif char == "[":
            end = index + (1 if component[index:index + 1] == "!" else 0)
            end = component.find("]", end + (1 if component[end:end + 1] == "]" else 0))
            if end < 0:
                out.append(re.escape(char))
                continue
            body = re.sub(r"([&~|\[\\])", r"\\\1", component[index:end])
            if body.startswith("!"):
                body = "^/" + body[1:]
            elif body.startswith("^"):
                body = "\\" + body
            out.append(f"[{body}]")
            index = end + 1
        else:
            out.append(re.escape(char))
    return "".join(out)


def glob_regex(glob: str) -> str:
    """The regular expression (over a whole path) of one glob; `**` as a whole
    component matches any number of directories, none included."""
    components = glob.split("/")
    pieces: list[str] = []
    for index, component in enumerate(components):
        last = index == len(components) - 1
        if component == "**":
            pieces.append(".*" if last else "(?:[^/]+/)*")
        else:
            pieces.append(_component_regex(component) + ("" if last else "/"))
    return "".join(pieces)


def _normalised(glob: str) -> str:
    if not glob or glob.strip("/") == "":
        raise UsageError(f"--versions {glob!r}: a glob must name files")
    absolute = glob.startswith("/")
    components = [part for part in glob.split("/") if part not in ("", ".")]
    if ".." in components:
        raise UsageError(f"--versions {glob!r}: '..' is not allowed; "
                         "use an absolute glob for paths outside the workspace")
    if not components:
        raise UsageError(f"--versions {glob!r}: a glob must name files")
    return ("/" if absolute else "") + "/".join(components)


class VersionGlobs:
    """The `--versions` globs of a run: relative ones match paths inside the workspace
    (relative to it), absolute ones match any physical absolute path."""

    def __init__(self, globs: Sequence[str], workspace: bytes) -> None:
        self.globs = tuple(globs)
        normalised = [_normalised(glob) for glob in globs]
        self._workspace = os.fsdecode(workspace).rstrip("/") + "/"
        self._absolute = _compiled([glob[1:] for glob in normalised if glob.startswith("/")])
        self._relative = _compiled([glob for glob in normalised if not glob.startswith("/")])

    def __bool__(self) -> bool:
        return bool(self.globs)

    def matches(self, path: bytes) -> bool:
        text = os.fsdecode(path)
        if self._absolute is not None and self._absolute.fullmatch(text[1:]):
            return True
        if self._relative is None or not text.startswith(self._workspace):
            return False
        relative = text[len(self._workspace):]
        return bool(relative) and self._relative.fullmatch(relative) is not None


def _compiled(globs: Sequence[str]) -> re.Pattern[str] | None:
    if not globs:
        return None
    return re.compile("|".join(f"(?:{glob_regex(glob)})" for glob in globs), re.DOTALL)


def rename_target(event: PathEvent) -> bool:
    """Whether `event` is a path that a completed rename just gave new content."""
    if event.syscall not in _RENAMES or not event.succeeded:
        return False
    exchanged = event.operation is Operation.RENAME and event.flags & RENAME_EXCHANGE
    return event.operation is Operation.CREATE or bool(exchanged)


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
    """Takes the versions of watched paths from the tracer's callbacks, numbering
    each path's versions from 1 in capture order."""

    def __init__(self, globs: VersionGlobs, contents: ContentStore,
                 max_file_size: int | None, wanted: Callable[[bytes], bool]) -> None:
        self.globs = globs
        self._contents = contents
        self._max_file_size = max_file_size
        self._wanted = wanted
        self._versions: dict[bytes, list[Version]] = {}

    def on_written_close(self, pid: int, path: bytes) -> None:
        """`trace(on_written_close=...)`: the closing thread is stopped at close()."""
        self._take(pid, path, "close")

    def on_event(self, event: Event) -> None:
        """Renames onto a watched path are delivered at the rename's exit, the renaming
        thread still stopped: the content is the one just moved into place."""
        if isinstance(event, PathEvent) and rename_target(event):
            self._take(event.pid, event.path, "rename")

    def versions(self, path: bytes) -> tuple[Version, ...]:
        return tuple(self._versions.get(path, ()))

    def _watched(self, path: bytes) -> bool:
        return self.globs.matches(path) and self._wanted(path)

    def _take(self, pid: int, path: bytes, trigger: Trigger) -> None:
        """Add a version unless the same process gives again the content of the latest
        one (the shell's duplicated fds, an fd opened read-write only to lock it)."""
        if not self._watched(path):
            return
        taken = _now()
        kept = self._keep(path)
        if kept is None:
            return
        size, blob, reason = kept
        versions = self._versions.setdefault(path, [])
        latest = versions[-1] if versions else None
        if latest is not None and blob is not None and (latest.pid, latest.blob) == (pid, blob):
            return
        exe, comm = _process(pid)
        versions.append(Version(number=len(versions) + 1, time=taken, trigger=trigger,
                                pid=pid, exe=exe, comm=comm, size=size, blob=blob,
                                not_captured=reason))

    def _keep(self, path: bytes) -> tuple[int | None, str | None, str | None] | None:
        """(size, blob, why not kept) of the regular file at `path`; None when there is
        no regular file there (removed, or never one)."""
        try:
            fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
        except FileNotFoundError:
            return None
        except OSError:
            return self._unreadable(path)
        with os.fdopen(fd, "rb") as handle:
            info = os.fstat(fd)
            if not stat.S_ISREG(info.st_mode):
                return None
            size = info.st_size
            fits = self._max_file_size is None or size <= self._max_file_size
            if fits and size < CLONE_FROM:
                data = handle.read()
                return len(data), self._contents.put_bytes(data), None
        try:
            blob = self._contents.clone_file(path)
            if blob is None and fits:
                blob = self._contents.put_file(path)
        except UnreadableFileError:
            return size, None, UNREADABLE
        return size, blob, None if blob is not None else TOO_LARGE

    @staticmethod
    def _unreadable(path: bytes) -> tuple[int | None, str | None, str | None] | None:
        try:
            info = os.lstat(path)
        except OSError:
            return None
        return (info.st_size, None, UNREADABLE) if stat.S_ISREG(info.st_mode) else None
