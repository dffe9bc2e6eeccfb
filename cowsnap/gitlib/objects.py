"""Git object databases: the store's own (a bare repository) and a workspace
repository's, where clean tracked files' contents are read from."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from cowsnap.gitlib.config import isolated_config

if TYPE_CHECKING:
    import pygit2


def init_bare_repository(git_dir: Path) -> None:
    """Create a bare repository at `git_dir` (libgit2 makes it 0755/0644)."""
    import pygit2

    with isolated_config():
        pygit2.init_repository(str(git_dir), bare=True)


class ObjectDatabase:
    """The objects of the repository at `git_dir`, opened on first use: what only
    libgit2 reads (deltified pack entries)."""

    def __init__(self, git_dir: Path) -> None:
        self._git_dir = git_dir
        self._repository: pygit2.Repository | None = None

    def _odb(self) -> pygit2.Odb:
        if self._repository is None:
            import pygit2

            with isolated_config():
                self._repository = pygit2.Repository(str(self._git_dir))
        return self._repository.odb

    def read(self, blob: str) -> bytes:
        """The object's bytes; ValueError when the database cannot give them (damage)."""
        import pygit2

        try:
            _kind, data = self._odb().read(blob)
        except pygit2.GitError as error:
            raise ValueError(str(error)) from None
        return bytes(data)


def read_git_blob(repository_root: str, blob: str) -> bytes | None:
    """The content of git blob `blob` in the repository at `repository_root`, if present."""
    import pygit2

    with isolated_config():
        git_dir = pygit2.discover_repository(repository_root)
        if git_dir is None:
            return None
        repository = pygit2.Repository(git_dir)
        try:
            obj = repository.get(blob)
        except ValueError:
            return None
    if not isinstance(obj, pygit2.Blob):
        return None
    return bytes(obj.data)
