"""Where a workspace's snapshots live: private, owner-marked, outside the user's tree.

Candidates, first usable wins:
1. `$XDG_CACHE_HOME/cowsnap/snapshots` (default `~/.cache/...`), per user and
   out of sight, unless it lies inside the workspace or (for btrfs and reflink,
   which cannot cross filesystems) on another filesystem;
2. `.cowsnap-snapshots/<uid>` at the top of the workspace's mount, beside the
   workspace rather than in it, like snapper's `/.snapshots`;
3. `.cowsnap-snapshots/<uid>` inside the workspace itself.
A `.cowsnap-snapshots` directory ignores itself (`.gitignore` of `*`), so it
never shows in `git status` even when it lands inside a repository.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable, Iterator, Mapping
from contextlib import suppress
from pathlib import Path

from cowsnap.snapshot.mounts import mount_of
from cowsnap.snapshot.owner import is_alive, owner_of

HIDDEN_NAME = ".cowsnap-snapshots"
PRIVATE = 0o700
SHARED_STICKY = 0o1777


def cache_dir(environ: Mapping[str, str] | None = None) -> Path:
    env = os.environ if environ is None else environ
    cache_home = env.get("XDG_CACHE_HOME") or str(Path(env.get("HOME", "~")) / ".cache")
    return (Path(cache_home).expanduser() / "cowsnap" / "snapshots").absolute()


def _is_within(path: Path, directory: Path) -> bool:
    return path == directory or directory in path.parents


def candidates(workspace: Path, *, same_filesystem: bool,
               environ: Mapping[str, str] | None = None) -> Iterator[Path]:
    """Staging directories to try for `workspace`, best first."""
    workspace = workspace.resolve()
    workspace_mount = mount_of(workspace)
    cache = cache_dir(environ)
    if not _is_within(cache.resolve(), workspace) and (
        not same_filesystem or mount_of(cache).device == workspace_mount.device
    ):
        yield cache
    uid_dir = str(os.geteuid())
    yield workspace_mount.path / HIDDEN_NAME / uid_dir
    yield workspace / HIDDEN_NAME / uid_dir


def _open_directory(name: str | Path, dir_fd: int | None = None) -> int:
    """A directory fd of `name`, never through a final symlink (ELOOP if it is one)."""
    return os.open(name, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC,
                   dir_fd=dir_fd)


def _trusted_hidden_root(fd: int, path: Path) -> None:
    """A `.cowsnap-snapshots` someone else could write to must be root's or ours and
    sticky, or they could rename our directory in it and plant another."""
    info = os.fstat(fd)
    if info.st_uid not in (0, os.geteuid()):
        raise PermissionError(f"{path} belongs to uid {info.st_uid}")
    if info.st_mode & 0o022 and not info.st_mode & stat.S_ISVTX:
        raise PermissionError(f"{path} is writable by others and not sticky")


def _hidden_root(parent: Path) -> int:
    """An fd of the shared `parent/.cowsnap-snapshots`, made if missing: sticky like /tmp,
    so users keep to their own. Never through a symlink, never chmod-ing one."""
    parent_fd = os.open(parent, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        try:
            os.mkdir(HIDDEN_NAME, SHARED_STICKY, dir_fd=parent_fd)
            created = True
        except FileExistsError:
            created = False
        fd = _open_directory(HIDDEN_NAME, parent_fd)
    finally:
        os.close(parent_fd)
    try:
        if created and os.fstat(fd).st_uid == os.geteuid():
            os.fchmod(fd, SHARED_STICKY)
            ignore = os.open(".gitignore", os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW
                             | os.O_CLOEXEC, 0o644, dir_fd=fd)
            with os.fdopen(ignore, "wb") as handle:
                handle.write(b"*\n")
        _trusted_hidden_root(fd, parent / HIDDEN_NAME)
    except BaseException:
        os.close(fd)
        raise
    return fd


def _ensure(directory: Path) -> None:
    """Create `directory` (0700, ours) if missing and check it: opened without following
    a symlink, then fstat and fchmod on that very directory. A symlink planted there by
    another user makes this candidate unusable; its target is never touched."""
    if directory.parent.name == HIDDEN_NAME:
        parent_fd = _hidden_root(directory.parent.parent)
    else:
        directory.parent.mkdir(parents=True, exist_ok=True)
        parent_fd = os.open(directory.parent, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        with suppress(FileExistsError):
            os.mkdir(directory.name, PRIVATE, dir_fd=parent_fd)
        fd = _open_directory(directory.name, parent_fd)
    finally:
        os.close(parent_fd)
    try:
        if os.fstat(fd).st_uid != os.geteuid():
            raise PermissionError(f"{directory} belongs to another user")
        os.fchmod(fd, PRIVATE)
    finally:
        os.close(fd)


def staging_dir(workspace: Path, *, same_filesystem: bool,
                environ: Mapping[str, str] | None = None) -> Path | None:
    """The first usable staging directory for `workspace` (created, 0700), or None."""
    for candidate in candidates(workspace, same_filesystem=same_filesystem, environ=environ):
        try:
            _ensure(candidate)
        except OSError:
            continue
        return candidate
    return None


def remove_stale(staging: Path, kind: str, remove: Callable[[Path], None]) -> list[Path]:
    """Remove every `kind` snapshot in `staging` whose owner process is gone."""
    removed = []
    for entry in sorted(staging.iterdir()):
        owner = owner_of(kind, entry.name)
        if owner is not None and not is_alive(owner):
            remove(entry)
            removed.append(entry)
    return removed
