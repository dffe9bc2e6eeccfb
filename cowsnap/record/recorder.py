"""The recorder: turns the tracer's events into a manifest and stored contents.

While the command runs it aggregates operations per path and, at each
pre-mutation hook (tracee stopped), preserves the before-state: through the
snapshot for workspace paths, into the store for other paths. After the process
tree has exited, `finish` reads every before/after state, asks the capture
policy what content to keep, stores it and returns the manifest. Nothing in an
entry depends on the snapshot backend.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path

from cowsnap import __version__
from cowsnap.errors import UnreadableFileError
from cowsnap.gitlib.context import GitContext
from cowsnap.model import (
    MUTATING_OPERATIONS,
    NOT_IN_REPO,
    PROBES,
    TOO_LARGE,
    UNKNOWN_BEFORE,
    UNREADABLE,
    BlobSource,
    FileEntry,
    FileState,
    GitInfo,
    GitRepository,
    Manifest,
    Operation,
    sort_operations,
)
from cowsnap.paths import within
from cowsnap.record.ignore import IgnoreRules
from cowsnap.record.policy import (
    CaptureSettings,
    Choice,
    GitFacts,
    Keep,
    Reference,
    SideFacts,
    Skip,
    content_choice,
    decide,
)
from cowsnap.record.state import MISSING, PathState, read_state
from cowsnap.record.version_capture import VersionKeeper
from cowsnap.record.versions import VersionGlobs
from cowsnap.snapshot.base import Snapshot
from cowsnap.store.keeping import ContentWriter
from cowsnap.store.store import Store
from cowsnap.trace.events import Event, PathEvent, TraceWarning
from cowsnap.trace.scope import HookScope

OPERATION_BITS = {operation: 1 << index for index, operation in enumerate(Operation)}


@dataclass(frozen=True)
class RunFacts:
    """What the orchestration knows about the run and hands to `finish`."""

    run_id: str
    command: tuple[str, ...]
    exit_status: int
    start_cwd: str
    started_at: str
    finished_at: str
    uid: int
    gid: int


@dataclass(frozen=True, slots=True)
class Stored:
    """The content was copied into the store as `blob`."""

    blob: str


Outcome = Stored | Reference | Skip


@dataclass(frozen=True)
class OutsideBefore:
    """The before-state of a path outside the workspace, taken at its first mutation."""

    state: PathState
    outcome: Outcome
    git: tuple[GitInfo, GitFacts | None]



class Recorder:
    def __init__(
        self,
        *,
        workspace: Path,
        snapshot: Snapshot,
        store: Store,
        ignores: IgnoreRules,
        settings: CaptureSettings,
        uid: int | None = None,
        versions: VersionGlobs | None = None,
    ) -> None:
        self._workspace = os.fsencode(os.path.realpath(workspace))
        self._snapshot = snapshot
        self._store = store
        self._settings = settings
        self._uid = os.geteuid() if uid is None else uid
        excluded = [store.root] + ([snapshot.location] if snapshot.location else [])
        self._excluded = tuple(os.fsencode(os.path.realpath(path)) for path in excluded)
        self._ignores = ignores
        self._operations: dict[bytes, int] = {}
        """Each path's operations, as a bitmask of OPERATION_BITS (a set per path costs
        eight times more, and a run may touch a hundred thousand paths)."""
        self._outside: dict[bytes, OutsideBefore] = {}
        self._git_before = GitContext()
        self._warnings: list[str] = []
        self._renamed: set[bytes] = set()
        self._writer = ContentWriter(store.contents)
        self._versions = VersionKeeper(versions, self._writer, settings.max_file_size,
                                       self.records) if versions else None
        self.hook_scope = HookScope()
        """For `trace(hook_scope=...)`: once a path's (or a whole directory's) before-state
        and git context are kept, its mutations need no pre-mutation hook."""

    @property
    def close_hook(self) -> Callable[[int, bytes], None] | None:
        """For `trace(on_written_close=...)`: only runs keeping versions watch closes."""
        return self._written_close if self._versions else None

    def _written_close(self, pid: int, path: bytes) -> None:
        """A version of `path` if its versions are kept; else the tracer is told that
        closes of `path` need no call."""
        versions = self._versions
        if versions is not None and versions.globs.matches(path) and self.records(path):
            versions.on_written_close(pid, path)
        else:
            self.hook_scope.quiet_close(path)

    def in_workspace(self, path: bytes) -> bool:
        return within(path, self._workspace)

    def records(self, path: bytes) -> bool:
        """Whether `path` belongs in the manifest at all."""
        if any(within(path, excluded) for excluded in self._excluded):
            return False
        return self.in_workspace(path) or not self._ignores.covers(path)

    def on_event(self, event: Event) -> None:
        if isinstance(event, TraceWarning):
            self._warnings.append(f"pid {event.pid}: {event.message}")
        elif isinstance(event, PathEvent) and self.records(event.path):
            operation = event.operation if event.succeeded else Operation.EXISTENCE
            self._operations[event.path] = (self._operations.get(event.path, 0)
                                            | OPERATION_BITS[operation])
            if operation == Operation.RENAME:
                self._renamed.add(event.path)
                if event.related_path is not None and self.records(event.related_path):
                    self._renamed.add(event.related_path)
        if self._versions is not None:
            self._versions.on_event(event)

    def before_mutation(self, event: PathEvent) -> None:
        """Preserve the before-state of the path(s) `event` is about to mutate, and tell
        the tracer (hook_scope) which paths need no such call again."""
        scope = self.hook_scope
        for path in (event.path, event.related_path):
            if path is None:
                continue
            if not self.records(path):
                scope.quiet_path(path)
                continue
            self._git_before.status_for(path)
            if not self.in_workspace(path):
                if path not in self._outside:
                    self._outside[path] = self._capture_outside(path)
                scope.quiet_path(path)
            elif self._snapshot.preserved_up_front:
                scope.quiet_directory(os.path.dirname(path))
            else:
                directory = os.path.isdir(path)
                self._snapshot.capture(
                    path, subtree=directory and event.operation == Operation.RENAME
                )
                if not directory:
                    scope.quiet_path(path)

    def _capture_outside(self, path: bytes) -> OutsideBefore:
        state = read_state(path)
        git = self._git_before.describe(path)
        choice = content_choice(SideFacts(state, git[1], self._uid), self._settings)
        planned = _plan(choice, path)
        outcome = self._keep(planned) if isinstance(planned, ToStore) else planned
        return OutsideBefore(state, outcome, git)

    def _keep(self, planned: ToStore) -> Outcome:
        try:
            blob = self._writer.keep_path(planned.location, clone_only=planned.clone_only)
        except UnreadableFileError:
            return Skip(UNREADABLE)
        return Skip(TOO_LARGE) if blob is None else Stored(blob)

    def abandon(self) -> None:
        """Drop the contents kept so far (the run will not be recorded)."""
        self._writer.abandon()

    def finish(self, run: RunFacts, timings: Mapping[str, float] | None = None) -> Manifest:
        """Read every state, keep the contents the policy asks for, build the manifest.
        The contents are part of the store when it returns (not yet durable: the store
        is flushed before the manifest is published)."""
        try:
            return self._finish(run, timings)
        except BaseException:
            self._writer.abandon()
            raise

    def _finish(self, run: RunFacts, timings: Mapping[str, float] | None) -> Manifest:
        started = time.monotonic()
        self._expand_renamed_directories()
        git_after = GitContext()
        drafts = [self._draft(path, git_after) for path in sorted(self._operations)]
        self._operations.clear()
        stored = self._store_all({
            planned for draft in drafts for planned in (draft.before, draft.after)
            if isinstance(planned, ToStore)
        })
        drafts.reverse()
        entries = []
        while drafts:  # each draft goes as its entry comes: a large run is held once
            entries.append(drafts.pop().entry(stored))
        del stored
        if self._versions is not None:
            keeper = self._versions
            keeper.finish()
            entries = [replace(entry, versions=keeper.versions(entry.path)) for entry in entries]
        warnings = [*self._warnings, *self._git_before.problems, *git_after.problems]
        repositories = [self._repository(status.summary()) for status in git_after.repositories()]
        self._writer.close()
        recorded = dict(timings or {})
        recorded["recording"] = round(time.monotonic() - started, 6)
        return Manifest(
            run_id=run.run_id, tool_version=__version__, command=run.command,
            exit_status=run.exit_status, start_cwd=run.start_cwd,
            workspace=os.fsdecode(self._workspace), backend=self._snapshot.backend,
            uid=run.uid, gid=run.gid, started_at=run.started_at, finished_at=run.finished_at,
            git_repositories=tuple(repositories), files=tuple(entries),
            warnings=tuple(dict.fromkeys(warnings)), capture_reads=self._settings.capture_reads,
            max_file_size=self._settings.max_file_size, timings=recorded,
            version_globs=self._versions.globs.globs if self._versions else (),
        )

    def _store_all(self, wanted: set[ToStore]) -> dict[ToStore, Outcome]:
        """Store files in parallel: hashing and compression release the GIL, and a
        changed large file needs both its before- and after-content hashed."""
        ordered = sorted(wanted, key=lambda planned: planned.location)
        return dict(zip(ordered, self._writer.map(self._keep, ordered), strict=True))

    def _repository(self, after: GitRepository) -> GitRepository:
        before = self._git_before.known(os.fsencode(after.root))
        if before is None:
            return after
        return GitRepository(after.root, after.head, after.dirty, before.head, before.dirty)

    def _expand_renamed_directories(self) -> None:
        """A renamed workspace directory moves everything beneath it: list those too,
        under the old name (from the snapshot) and the new one (live). Both ends of a
        rename count, whatever operation the tracer gave the destination."""
        for path in sorted(self._renamed):
            if not self.in_workspace(path):
                continue
            for root in (self._snapshot.locate(path), path):
                if root is None or not os.path.isdir(root) or os.path.islink(root):
                    continue
                for directory, subdirs, files in os.walk(root):
                    for name in subdirs + files:
                        inner = os.path.join(directory, name)
                        moved = path + inner[len(root):]
                        if self.records(moved):
                            self._operations[moved] = (self._operations.get(moved, 0)
                                                       | OPERATION_BITS[Operation.RENAME])

    def _draft(self, path: bytes, git_after: GitContext) -> Draft:
        mask = self._operations[path]
        operations = frozenset(operation for operation, bit in OPERATION_BITS.items()
                               if mask & bit)
        in_workspace = self.in_workspace(path)
        after_state = read_state(path)
        probed_only = not in_workspace and operations <= PROBES
        after_git = (NOT_IN_REPO, None) if probed_only else git_after.describe(path)
        outside = None if in_workspace else self._outside.get(path)
        location = self._snapshot.locate(path) if in_workspace else path
        if outside is not None:
            before_state, before_git = outside.state, outside.git
        elif in_workspace:
            before_state = MISSING if location is None else read_state(location)
            before_git = self._git_before.describe_if_examined(path) or after_git
        else:
            before_state, before_git = after_state, after_git
        decision = decide(
            operations,
            SideFacts(before_state, before_git[1], self._uid, in_workspace),
            SideFacts(after_state, after_git[1], self._uid, in_workspace),
            self._settings,
        )
        before: Planned
        if outside is not None and isinstance(decision.before, Keep):
            before = outside.outcome
        else:
            before = _plan(decision.before, location)
        after = _plan(decision.after, path) if operations & MUTATING_OPERATIONS else before
        return Draft(
            path=path, operations=operations, in_workspace=in_workspace, git=after_git[0],
            before_state=before_state, after_state=after_state, before=before, after=after,
            before_unknown=(outside is None and not in_workspace
                            and bool(operations & MUTATING_OPERATIONS)),
        )


@dataclass(frozen=True, slots=True)
class ToStore:
    """Content to keep from `location` (done in parallel, at the end); `clone_only`
    for contents too large to copy, kept only if the filesystem can clone them."""

    location: bytes
    clone_only: bool = False


Planned = Outcome | ToStore


def _plan(choice: Choice, location: bytes | None) -> Planned:
    if isinstance(choice, Keep):
        return Skip(UNREADABLE) if location is None else ToStore(location)
    if choice == Skip(TOO_LARGE) and location is not None:
        return ToStore(location, clone_only=True)
    return choice


@dataclass(frozen=True)
class Draft:
    """One entry with its states read and its contents decided, not yet stored."""

    path: bytes
    operations: frozenset[Operation]
    in_workspace: bool
    git: GitInfo
    before_state: PathState
    after_state: PathState
    before: Planned
    after: Planned
    before_unknown: bool

    def entry(self, stored: Mapping[ToStore, Outcome]) -> FileEntry:
        def outcome(planned: Planned) -> Outcome:
            return stored[planned] if isinstance(planned, ToStore) else planned

        before = _file_state(self.before_state, outcome(self.before))
        after = _file_state(self.after_state, outcome(self.after))
        if self.before_state.exists and not self.after_state.exists:
            after = FileState(exists=False, tombstone=True)
        if self.before_unknown:
            before = FileState(exists=False, not_captured=UNKNOWN_BEFORE)
        return FileEntry(path=self.path, operations=sort_operations(self.operations),
                         before=before, after=after, git=self.git,
                         in_workspace=self.in_workspace)


def _file_state(state: PathState, outcome: Outcome) -> FileState:
    reason = outcome.reason if isinstance(outcome, Skip) else None
    if not state.exists:
        return FileState(exists=False, not_captured=reason)
    blob: str | None = None
    source: BlobSource | None = None
    if isinstance(outcome, Stored):
        blob, source = outcome.blob, "store"
    elif isinstance(outcome, Reference):
        blob, source = outcome.blob, "git"
    return FileState(
        exists=True, type=state.type, mode=state.mode, size=state.size,
        mtime_ns=state.mtime_ns, uid=state.uid, blob=blob, blob_source=source,
        target=state.target, not_captured=reason,
    )
