"""A run's manifest in memory: one entry per touched path, and the run's facts."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Literal

from cowsnap.model.operations import Operation
from cowsnap.model.state import FileState

SCHEMA = "cowsnap.manifest/1"
Trigger = Literal["close", "rename"]


@dataclass(frozen=True, slots=True)
class GitInfo:
    """Where a path sits in a git repository, as of the end of the run."""

    in_repo: bool = False
    root: str | None = None
    head: str | None = None
    relative_path: str | None = None
    tracked: bool = False
    dirty: bool = False
    ignored: bool = False


NOT_IN_REPO = GitInfo()


@dataclass(frozen=True, slots=True)
class Version:
    """One intermediate content of a path watched with `--versions`, taken while the
    process that closed it (or renamed it into place) was stopped at that syscall."""

    number: int
    time: str
    trigger: Trigger
    pid: int
    exe: str | None
    comm: str | None
    size: int | None
    blob: str | None
    not_captured: str | None = None

    def state(self) -> FileState:
        """As a file state, for code that walks every content a run refers to."""
        return FileState(exists=True, type="file", size=self.size, blob=self.blob,
                         blob_source="store" if self.blob else None,
                         not_captured=self.not_captured)


@dataclass(frozen=True, slots=True)
class FileEntry:
    """One touched path. `renamed_from` / `renamed_to` link the two ends of a rename
    (the other name, when the run renamed this path onto or away from it)."""

    path: bytes
    operations: tuple[Operation, ...]
    before: FileState
    after: FileState
    git: GitInfo = NOT_IN_REPO
    in_workspace: bool = True
    versions: tuple[Version, ...] = ()
    renamed_from: bytes | None = None
    renamed_to: bytes | None = None

    def content_states(self) -> tuple[FileState, ...]:
        """Every state whose content the run refers to: before, after, each version."""
        return (self.before, self.after, *(version.state() for version in self.versions))

    def side(self, side: Literal["before", "after"]) -> FileState:
        return self.before if side == "before" else self.after


@dataclass(frozen=True, slots=True)
class GitRepository:
    """A repository holding touched paths: HEAD and dirtiness after the run, and before
    it when cowsnap looked before the first mutation inside it."""

    root: str
    head: str | None
    dirty: bool
    head_before: str | None = None
    dirty_before: bool | None = None


@dataclass(frozen=True, slots=True)
class ContentReference:
    """One state's reference to a content: its id, the size recorded with it, and the
    git repository holding it when it is a clean tracked file referenced by id."""

    blob: str
    size: int | None
    repository: str | None


@dataclass(frozen=True, slots=True)
class Manifest:
    run_id: str
    tool_version: str
    command: tuple[str, ...]
    exit_status: int
    start_cwd: str
    workspace: str
    backend: str
    uid: int
    gid: int
    started_at: str
    finished_at: str
    git_repositories: tuple[GitRepository, ...] = ()
    files: tuple[FileEntry, ...] = ()
    warnings: tuple[str, ...] = ()
    capture_reads: str = "uncommitted"
    max_file_size: int | None = None
    timings: Mapping[str, float] = field(default_factory=dict)
    version_globs: tuple[str, ...] = ()
    session: str | None = None
    """The agent session (or COWSNAP_SESSION) the run belongs to, if any."""
    schema: str = SCHEMA

    def content_references(self) -> Iterator[ContentReference]:
        """Every content the run refers to (before, after, each version), once per state
        that refers to it: the one walk that bundles, check and prune share."""
        for entry in self.files:
            for state in entry.content_states():
                if state.blob is not None:
                    repository = entry.git.root if state.blob_source == "git" else None
                    yield ContentReference(state.blob, state.size, repository)

    def entry(self, path: bytes) -> FileEntry | None:
        for candidate in self.files:
            if candidate.path == path:
                return candidate
        return None
