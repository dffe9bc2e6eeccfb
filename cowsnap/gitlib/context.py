"""Git context of touched paths (pygit2), isolated from the user's git configuration.

Each repository's status is computed once per GitContext (one status call, not
one per file); the recorder uses one context for "before" (computed before the
first mutation inside the repository) and a fresh one after the run, since the
command may have committed.

pygit2 is loaded only when a path turns out to be inside a repository: finding
the repository is a climb of lstat calls, so a run that touches no repository
never pays for loading libgit2.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING

from cowsnap.gitlib.config import isolated_config
from cowsnap.gitlib.worktree import device_of
from cowsnap.model import NOT_IN_REPO, GitInfo, GitRepository
from cowsnap.paths import within
from cowsnap.record.policy import GitFacts

if TYPE_CHECKING:
    import pygit2


@cache
def _status_bits() -> tuple[int, int, int]:
    """(untracked, index-deleted, worktree-new) status bits as plain ints: the enum's
    arithmetic costs microseconds, and facts are asked for every touched path."""
    from pygit2.enums import FileStatus

    return (int(FileStatus.WT_NEW | FileStatus.IGNORED), int(FileStatus.INDEX_DELETED),
            int(FileStatus.WT_NEW))


@dataclass
class RepositoryStatus:
    """One repository's status at one moment."""

    root: bytes
    git_dir: bytes
    head: str | None
    dirty: bool
    changes: dict[str, int]
    repository: pygit2.Repository
    index: pygit2.Index
    root_text: str = ""
    """`root` as the manifest spells it (os.fsdecode), made once."""

    def __post_init__(self) -> None:
        self.root_text = os.fsdecode(self.root)

    def summary(self) -> GitRepository:
        return GitRepository(root=self.root_text, head=self.head, dirty=self.dirty)

    def facts(self, relative: str) -> GitFacts:
        untracked, index_deleted, worktree_new = _status_bits()
        flags = int(self.changes.get(relative, 0))
        try:
            entry: pygit2.IndexEntry | None = self.index[relative]
        except KeyError:
            entry = None
        tracked = entry is not None or bool(flags & index_deleted)
        dirty = tracked and bool(flags & ~untracked)
        ignored = False
        if not tracked and not flags & worktree_new:
            with isolated_config():
                ignored = self.repository.path_is_ignored(relative)
        blob = str(entry.id) if entry is not None and not dirty else None
        return GitFacts(tracked=tracked, dirty=dirty, ignored=ignored, blob=blob)


def _status(root: bytes, git_dir: str) -> RepositoryStatus:
    import pygit2

    with isolated_config():
        repository = pygit2.Repository(git_dir)
        changes = repository.status(untracked_files="all", ignored=False)
        head = None if repository.head_is_unborn else str(repository.head.target)
        index = repository.index
    untracked = _status_bits()[0]
    dirty = any(flags & ~untracked for flags in changes.values())
    return RepositoryStatus(
        root=root, git_dir=os.fsencode(os.path.abspath(git_dir)), head=head, dirty=dirty,
        changes=changes, repository=repository, index=index,
    )


def _open_worktree(directory: bytes) -> tuple[bytes, str] | None:
    import pygit2

    with isolated_config():
        try:
            repository = pygit2.Repository(os.fsdecode(directory))
        except pygit2.GitError:
            return None
    if repository.is_bare or repository.workdir is None:
        return None
    return os.fsencode(os.path.realpath(repository.workdir)), repository.path



class GitContext:
    """Repository discovery and status for many paths, each repository looked at once.

    A repository whose status cannot be read is listed in `problems` and its
    paths count as outside git, rather than failing the run.
    """

    def __init__(self) -> None:
        self._root_of_dir: dict[bytes, tuple[bytes, str] | None] = {}
        self._statuses: dict[bytes, RepositoryStatus] = {}
        self._unreadable: set[bytes] = set()
        self.problems: list[str] = []

    def _repository_of_dir(self, directory: bytes) -> tuple[bytes, str] | None:
        """(worktree root, git dir) of the repository holding `directory`.

        Climbs one lstat per level (cached for every level passed), like git's
        discovery: stops at a `.git` entry or at a filesystem boundary. Opening a
        repository per directory instead costs milliseconds each.
        """
        if directory in self._root_of_dir:
            return self._root_of_dir[directory]
        found: tuple[bytes, str] | None = None
        parent = os.path.dirname(directory)
        device = device_of(directory)
        if device is None:
            found = None if parent == directory else self._repository_of_dir(parent)
        elif os.path.lexists(os.path.join(directory, b".git")):
            found = _open_worktree(directory)
        elif parent != directory and device_of(parent) == device:
            found = self._repository_of_dir(parent)
        self._root_of_dir[directory] = found
        return found

    def status_for(self, path: bytes) -> RepositoryStatus | None:
        """The (cached) status of the repository whose worktree holds `path`."""
        found = self._repository_of_dir(os.path.dirname(path) or b"/")
        if found is None:
            return None
        root, git_dir = found
        if root in self._unreadable:
            return None
        if root not in self._statuses:
            import pygit2

            try:
                self._statuses[root] = _status(root, git_dir)
            except (pygit2.GitError, OSError) as error:
                self._unreadable.add(root)
                self.problems.append(f"git status of {os.fsdecode(root)} failed: {error}")
                return None
        status = self._statuses[root]
        if within(path, status.git_dir) or not within(path, root):
            return None
        return status

    def describe(self, path: bytes) -> tuple[GitInfo, GitFacts | None]:
        """The manifest's git context of `path` and the facts the capture policy needs."""
        status = self.status_for(path)
        if status is None:
            return NOT_IN_REPO, None
        # status_for saw `path` beneath the root (both normalised): no relpath needed
        relative_bytes = path[len(status.root.rstrip(b"/")) + 1:] or b"."
        try:
            relative = relative_bytes.decode("utf-8")
        except UnicodeDecodeError:
            info = GitInfo(in_repo=True, root=status.root_text, head=status.head,
                           relative_path=None)
            return info, GitFacts(tracked=False, dirty=False, ignored=False, blob=None)
        facts = status.facts(relative)
        info = GitInfo(
            in_repo=True, root=status.root_text, head=status.head,
            relative_path=relative, tracked=facts.tracked, dirty=facts.dirty,
            ignored=facts.ignored,
        )
        return info, facts

    def describe_if_examined(self, path: bytes) -> tuple[GitInfo, GitFacts | None] | None:
        """`describe`, but None instead of computing a status not yet computed."""
        found = self._repository_of_dir(os.path.dirname(path) or b"/")
        if found is not None and found[0] not in self._statuses:
            return None
        return self.describe(path)

    def known(self, root: bytes) -> RepositoryStatus | None:
        return self._statuses.get(root)

    def repositories(self) -> list[RepositoryStatus]:
        return [self._statuses[root] for root in sorted(self._statuses)]

