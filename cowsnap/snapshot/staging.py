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
from collections.abc import Callable, Iterator, Mapping
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


def _make_hidden_root(hidden: Path) -> None:
    """The shared `.cowsnap-snapshots`: sticky like /tmp, so users keep to their own."""
    try:
        hidden.mkdir(mode=SHARED_STICKY)
    except FileExistsError:
        return
    os.chmod(hidden, SHARED_STICKY)
    (hidden / ".gitignore").write_text("*\n")


def _ensure(directory: Path) -> None:
    if directory.parent.name == HIDDEN_NAME:
        _make_hidden_root(directory.parent)
    else:
        directory.parent.mkdir(parents=True, exist_ok=True)
    directory.mkdir(mode=PRIVATE, exist_ok=True)
    if directory.stat().st_uid != os.geteuid():
        raise PermissionError(f"{directory} belongs to another user")
    os.chmod(directory, PRIVATE)


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
