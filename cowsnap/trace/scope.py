"""Which mutations the caller's before_mutation hook still needs to hear of.

A hook runs with the tracee stopped, which is what makes it expensive. Its caller
knows when a path's before-state is already kept (or when a written file's
versions are not wanted) (a btrfs snapshot holds the whole
workspace; a lazy snapshot captured the path once; a path outside the workspace was
read at its first mutation) and says so here, from inside the hook; both tracers
then stop announcing such mutations, so the common stop never enters Python.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(slots=True)
class HookScope:
    """Paths, and directories whose every entry, before_mutation no longer needs; paths
    whose written closes on_written_close does not need."""

    quiet_paths: set[bytes] = field(default_factory=set)
    quiet_directories: set[bytes] = field(default_factory=set)
    quiet_closes: set[bytes] = field(default_factory=set)
    quiet_trees: set[bytes] = field(default_factory=set)
    fresh_paths: list[bytes] = field(default_factory=list)
    fresh_directories: list[bytes] = field(default_factory=list)
    fresh_closes: list[bytes] = field(default_factory=list)
    fresh_trees: list[bytes] = field(default_factory=list)

    def quiet_path(self, path: bytes) -> None:
        if path not in self.quiet_paths:
            self.quiet_paths.add(path)
            self.fresh_paths.append(path)

    def quiet_directory(self, directory: bytes) -> None:
        """No entry directly inside `directory` needs the hook any more."""
        if directory not in self.quiet_directories:
            self.quiet_directories.add(directory)
            self.fresh_directories.append(directory)

    def quiet_tree(self, directory: bytes) -> None:
        """No path beneath `directory`, at any depth, needs the hook any more (a
        directory that did not exist before the run: everything in it is new)."""
        if directory not in self.quiet_trees:
            self.quiet_trees.add(directory)
            self.fresh_trees.append(directory)

    def quiet_close(self, path: bytes) -> None:
        """Closes of files written at `path` need no on_written_close call."""
        if path not in self.quiet_closes:
            self.quiet_closes.add(path)
            self.fresh_closes.append(path)

    def is_quiet(self, path: bytes) -> bool:
        if path in self.quiet_paths:
            return True
        stripped = path.rstrip(b"/")
        parent = stripped.rpartition(b"/")[0] or b"/"
        if parent in self.quiet_directories:
            return True
        trees = self.quiet_trees
        while trees and parent != b"/":
            if parent in trees:
                return True
            parent = parent.rpartition(b"/")[0] or b"/"
        return False

    def take_fresh(self) -> tuple[list[bytes], list[bytes], list[bytes], list[bytes]]:
        """What was quietened since the last call (for the native core's own copy):
        paths, directories, closes, trees."""
        fresh = self.fresh_paths, self.fresh_directories, self.fresh_closes, self.fresh_trees
        self.fresh_paths, self.fresh_directories, self.fresh_closes = [], [], []
        self.fresh_trees = []
        return fresh
