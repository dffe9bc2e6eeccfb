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
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, replace
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from cowsnap import __version__
from cowsnap.errors import UnreadableFileError
from cowsnap.gitlib.context import GitContext
from cowsnap.model import (
    CHANGES_CONTENT,
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
from cowsnap.record.ignore import IgnoreRules
from cowsnap.record.links import BINDS, Inode, LinkMap, inode_of
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
from cowsnap.record.setid import lost_privileges
from cowsnap.record.state import MISSING, PathState, read_state
from cowsnap.record.versions import VersionGlobs
from cowsnap.snapshot.base import Snapshot
from cowsnap.store.keeping import ContentWriter
from cowsnap.store.store import Store
from cowsnap.trace.events import Event, PathEvent, TraceWarning
from cowsnap.trace.scope import HookScope

if TYPE_CHECKING:
    from cowsnap.record.version_capture import VersionKeeper

DRAFTS_AT_ONCE = 512
"""Paths drafted, then stored, then made entries at a time: a large run's drafts are
never all held at once, and one batch's contents are stored while the next is drafted."""
KEEP_HERE_BELOW = 16 * 1024
"""Contents smaller than this are kept by the recorder's own thread, not the pool."""
OPERATION_BITS = {operation: 1 << index for index, operation in enumerate(Operation)}


@cache
def operations_in(mask: int) -> frozenset[Operation]:
    """The operations of a mask (one set per distinct mask: a run has a few)."""
    return frozenset(operation for operation, bit in OPERATION_BITS.items() if mask & bit)


@cache
def _in_order(operations: frozenset[Operation]) -> tuple[Operation, ...]:
    return sort_operations(operations)


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
class Before:
    """A path's before-state, found once: its metadata, where its content can be read
    (None: nowhere), its git context, the content already kept when it was taken at
    the first mutation (outside the workspace), and whether it is unknown."""

    state: PathState
    location: bytes | None
    git: tuple[GitInfo, GitFacts | None]
    kept: Outcome | None = None
    unknown: bool = False


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
        self._beneath_workspace = self._workspace.rstrip(b"/") + b"/"
        self._snapshot = snapshot
        self._store = store
        self._settings = settings
        self._uid = os.geteuid() if uid is None else uid
        excluded = [store.root] + ([snapshot.location] if snapshot.location else [])
        self._excluded = tuple(os.fsencode(os.path.realpath(path)) for path in excluded)
        self._beneath_excluded = tuple(path.rstrip(b"/") + b"/" for path in self._excluded)
        self._ignores = ignores
        self._operations: dict[bytes, int] = {}
        """Each path's operations, as a bitmask of OPERATION_BITS (a set per path costs
        eight times more, and a run may touch a hundred thousand paths)."""
        self._outside: dict[bytes, Before] = {}
        self._hooked: dict[bytes, tuple[Inode, int]] = {}
        self._located: dict[bytes, bytes | None] = {}
        self._git_before = GitContext()
        self._warnings: list[str] = []
        self._renamed: set[bytes] = set()
        self._renamed_from: dict[bytes, bytes] = {}
        self._renamed_to: dict[bytes, bytes] = {}
        self._linked: set[bytes] = set()
        self._same_before: dict[bytes, bytes] = {}
        self._links: LinkMap | None = None
        self._executed: set[bytes] = set()
        self._writer = ContentWriter(store.contents)
        self._versions: VersionKeeper | None = None
        if versions:  # imported only then: most runs keep no versions (start-up)
            from cowsnap.record.version_capture import VersionKeeper

            self._versions = VersionKeeper(versions, self._writer, settings.max_file_size,
                                           self.records)
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
        return path.startswith(self._beneath_workspace) or path == self._workspace

    def records(self, path: bytes) -> bool:
        """Whether `path` belongs in the manifest at all."""
        if path in self._excluded or path.startswith(self._beneath_excluded):
            return False  # within(path, excluded) for any of them, asked of every event
        return self.in_workspace(path) or not self._ignores.covers(path)

    def on_event(self, event: Event) -> None:
        if isinstance(event, PathEvent) and event.operation == Operation.EXEC:
            self._check_set_id(event.path)
        if isinstance(event, TraceWarning):
            self._warnings.append(f"pid {event.pid}: {event.message}")
        elif isinstance(event, PathEvent) and self.records(event.path):
            operation = event.operation if event.succeeded else Operation.EXISTENCE
            renaming = event.succeeded and event.syscall.startswith("rename")
            if renaming and operation == Operation.CREATE:
                operation = Operation.RENAME
            self._add(event.path, operation)
            if operation == Operation.CREATE and event.syscall.startswith("link"):
                self._linked.add(event.path)
            if operation == Operation.RENAME:
                self._renamed.add(event.path)
                if event.related_path is not None and self.records(event.related_path):
                    self._renamed.add(event.related_path)
                    if renaming and event.operation == Operation.RENAME:
                        self._renamed_to[event.path] = event.related_path
                        self._renamed_from[event.related_path] = event.path
        if self._versions is not None:
            self._versions.on_event(event)

    def _check_set_id(self, path: bytes) -> None:
        """Warn once per program that ran without its set-id privileges (setid.py)."""
        if path not in self._executed:
            self._executed.add(path)
            warning = lost_privileges(path, self._uid, os.getegid())
            if warning:
                self._warnings.append(warning)

    def before_mutation(self, event: PathEvent) -> None:
        """Preserve the before-state of the path(s) `event` is about to mutate, and tell
        the tracer (hook_scope) which paths need no such call again: on a lazy snapshot,
        nothing beneath a directory made where nothing was before the run (all of it is
        new: tar x, git checkout of new directories need no hook per file)."""
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
                    self._capture_outside_first(path, event)
                scope.quiet_path(path)
                continue
            if path not in self._hooked and (found := inode_of(path)) is not None:
                self._hooked[path] = found
            if self._snapshot.preserved_up_front:
                scope.quiet_directory(os.path.dirname(path))
                continue
            directory = os.path.isdir(path) and not os.path.islink(path)
            self._snapshot.capture(
                path, subtree=directory and event.operation == Operation.RENAME
            )
            if not directory:
                scope.quiet_path(path)
            if event.operation == Operation.MKDIR and self._snapshot.where(path) is None:
                scope.quiet_tree(path)

    def _capture_outside_first(self, path: bytes, event: PathEvent) -> None:
        """Outside the workspace, the before-state is taken now: the path's, its
        directory's when the event adds or removes a name there, and a directory's
        whole tree when it is about to be renamed (perhaps into the workspace)."""
        parent = os.path.dirname(path)
        if event.operation in BINDS and parent not in self._outside \
                and self.records(parent) and not self.in_workspace(parent):
            self._outside[parent] = self._capture_outside(parent)
        self._outside[path] = self._capture_outside(path)
        if event.syscall.startswith("rename") and os.path.isdir(path) \
                and not os.path.islink(path):
            self._capture_outside_subtree(path)

    def _capture_outside_subtree(self, directory: bytes) -> None:
        """A directory outside the workspace is about to be renamed (perhaps into it):
        keep everything beneath it, listed as renamed, so an undo can bring it back."""
        for parent, subdirs, files in os.walk(directory):
            for name in subdirs + files:
                path = os.path.join(parent, name)
                if self.records(path) and path not in self._outside:
                    self._outside[path] = self._capture_outside(path)
                    self._add(path, Operation.RENAME)

    def inherited(self, path: bytes) -> None:
        """`path` is a regular file the command inherits open for writing (its stdout
        redirected into the workspace, say): the tracer never sees those writes, so
        take its before-state now, before launch, and count it as written. Only in the
        workspace: a caller capturing the command's output elsewhere keeps it."""
        if not self.in_workspace(path) or not self.records(path):
            return
        self.before_mutation(PathEvent(pid=0, tid=0, syscall="inherited",
                                       operation=Operation.WRITE, path=path, result=0))
        self._add(path, Operation.WRITE)

    def _capture_outside(self, path: bytes) -> Before:
        """Taken at the first mutation: the content is kept now, while it still exists
        (never as a git reference: the run may change or delete that blob)."""
        state = read_state(path, xattrs=True)
        git = self._git_before.describe(path)
        facts = SideFacts(state, git[1], self._uid, referable=False)
        planned = _plan(content_choice(facts, self._settings), path, state)
        outcome = self._keep(planned) if isinstance(planned, ToStore) else planned
        return Before(state, path, git, kept=outcome)

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
        self._list_every_name()
        self._list_parents()
        git_after = GitContext()
        unreferable = self._rewritten_repositories()
        paths = sorted(self._operations)
        entries: list[FileEntry] = []
        storing: deque[tuple[list[Draft], Callable[[], Mapping[ToStore, Outcome]]]] = deque()
        for start in range(0, len(paths), DRAFTS_AT_ONCE):
            drafts = [self._draft(path, git_after, unreferable)
                      for path in paths[start:start + DRAFTS_AT_ONCE]]
            storing.append((drafts, self._store_soon(drafts)))
            if len(storing) > 1:
                entries.extend(_entries(*storing.popleft()))
        while storing:
            entries.extend(_entries(*storing.popleft()))
        self._operations.clear()
        self._located.clear()
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

    def _store_soon(self, drafts: list[Draft]) -> Callable[[], Mapping[ToStore, Outcome]]:
        """Start keeping the contents `drafts` want: small ones here and now (mostly
        Python: a thread would only contend for the GIL), the others in the pool
        while the next drafts are made (reading, hashing and compressing release it).
        The call returned waits for them all."""
        wanted = sorted({planned for draft in drafts for planned in (draft.before, draft.after)
                         if isinstance(planned, ToStore)}, key=lambda planned: planned.location)
        pooled = [planned for planned in wanted
                  if planned.size >= KEEP_HERE_BELOW or planned.clone_only]
        here = [planned for planned in wanted
                if planned.size < KEEP_HERE_BELOW and not planned.clone_only]
        waiting = self._writer.start(self._keep, pooled)
        blobs = self._writer.keep_paths([planned.location for planned in here])
        kept: dict[ToStore, Outcome] = {
            planned: Skip(UNREADABLE) if blob is None else Stored(blob)
            for planned, blob in zip(here, blobs, strict=True)}

        def done() -> Mapping[ToStore, Outcome]:
            kept.update(zip(pooled, waiting(), strict=True))
            return kept

        return done

    def _repository(self, after: GitRepository) -> GitRepository:
        before = self._git_before.known(os.fsencode(after.root))
        if before is None:
            return after
        return GitRepository(after.root, after.head, after.dirty, before.head, before.dirty)

    def _locate(self, path: bytes) -> bytes | None:
        """Where the workspace path's before-state is (the snapshot asked once)."""
        if path not in self._located:
            self._located[path] = None if self._parent_was_absent(path) \
                else self._snapshot.locate(path)
        return self._located[path]

    def _parent_was_absent(self, path: bytes) -> bool:
        """Whether `path`'s directory is known not to have existed before the run (so
        neither did `path`: no need to look; a run creating 100,000 files in new
        directories looks at the directories only)."""
        return self._located.get(os.path.dirname(path), path) is None

    def _rewritten_repositories(self) -> frozenset[str]:
        """Roots of the repositories whose objects the run wrote or deleted (git gc,
        a rebase): a content there may be gone, so none is kept as a reference."""
        roots = set()
        for path, mask in self._operations.items():
            head, marker, _tail = path.partition(b"/.git/objects")
            if marker and operations_in(mask) & MUTATING_OPERATIONS:
                roots.add(os.fsdecode(head))
        return frozenset(roots)

    def _list_parents(self) -> None:
        """List each workspace directory in which the run added, removed or renamed
        entries (with no operation of its own), so an undo can give back its time."""
        for path, mask in list(self._operations.items()):
            parent = os.path.dirname(path)
            if not operations_in(mask) & BINDS or path == self._workspace:
                continue
            if self.in_workspace(parent) or parent in self._outside:
                self._operations.setdefault(parent, 0)

    def _list_every_name(self) -> None:
        """List every name of a written workspace file (see `record.links`): with `write`
        when the run wrote through another name (even a name it only looked at, or
        linked from), with no operation when another name
        was only bound or unbound (its link count changed); the before-state of a name
        the run did not touch taken from one it did."""
        self._inodes_before()
        self._links = LinkMap(self._workspace, self._excluded,
                              {path: operations_in(mask)
                               for path, mask in self._operations.items()}, self._hooked)
        for name in sorted(self._links.names()):
            if not self.records(name):
                continue
            group = (*self._links.before(name), *self._links.after(name))
            if not group:
                continue
            if any(self._rewrote(other) for other in group):
                self._add(name, Operation.WRITE)
            elif name in self._operations:
                continue
            else:
                self._operations[name] = 0
            if name in self._hooked or not self.in_workspace(name):
                continue
            hooked = [other for other in self._links.before(name) if other in self._hooked]
            outside = self._links.outside(name)
            if outside is not None and outside in self._outside:
                self._same_before[name] = outside
            elif hooked:
                self._same_before[name] = self._same_before.get(hooked[0], hooked[0])

    def _inodes_before(self) -> None:
        """Each name's inode before the run, as the snapshot preserved it (`_hooked`): a
        name hooked after the run created it or moved it in had none; a name preserved
        with a renamed directory (or quieted, on btrfs) was never hooked on its own."""
        may_change_inode = BINDS | CHANGES_CONTENT
        for path in {*self._hooked, *self._operations}:
            if not self.in_workspace(path) or (
                    path not in self._hooked and not self._operations_of(path) & may_change_inode):
                continue
            if (found := self._snapshot.inode_before(path)) is not None:
                self._hooked[path] = found
            elif path in self._hooked and self._hooked[path][1] > 1 \
                    and self._locate(path) is None:
                del self._hooked[path]

    def _rewrote(self, path: bytes) -> bool:
        """Whether the run wrote content through `path` (not just made it a link)."""
        operations = self._operations_of(path)
        return Operation.WRITE in operations or (
            Operation.CREATE in operations and path not in self._linked)

    def _before(self, path: bytes, operations: frozenset[Operation], after: PathState,
                after_git: tuple[GitInfo, GitFacts | None]) -> Before:
        """The path's before-state, whichever way it was preserved."""
        outside = self._outside.get(path)
        if outside is not None:
            return outside
        if not self.in_workspace(path):
            return Before(after, path, after_git,
                          unknown=bool(operations & MUTATING_OPERATIONS))
        source = self._same_before.get(path, path)
        if (linked := self._outside.get(source)) is not None:  # written through that name
            git = self._git_before.describe_if_examined(path) or after_git
            return Before(linked.state, linked.location, git, kept=linked.kept)
        if source in self._located:
            location = self._located[source]
        else:
            location = None if self._parent_was_absent(source) else self._snapshot.where(source)
        if location is None:
            state = MISSING
        elif location == path:  # left untouched by the run: its state now is its before
            state = after
        else:
            state = read_state(location, xattrs=bool(operations & MUTATING_OPERATIONS),
                               writable=False)
        git = self._git_before.describe_if_examined(path) or after_git
        return Before(state, location if state.exists else None, git)

    def _expand_renamed_directories(self) -> None:
        """A renamed workspace directory moves everything beneath it: list those too,
        under the old name (from the snapshot) and the new one (live). Both ends of a
        rename count, whatever operation the tracer gave the destination."""
        for path in sorted(self._renamed):
            roots: tuple[bytes | None, ...] = ()
            if self.in_workspace(path):
                roots = (self._locate(path), path)
            elif (outside := self._outside.get(path)) is not None and not outside.state.exists:
                roots = (path,)
            for root in roots:
                if root is None or not os.path.isdir(root) or os.path.islink(root):
                    continue
                for directory, subdirs, files in os.walk(root):
                    for name in subdirs + files:
                        inner = os.path.join(directory, name)
                        self._moved(path, path + inner[len(root):])

    def _moved(self, directory: bytes, moved: bytes) -> None:
        """`moved` is beneath renamed `directory`: list it, linked to its other name. Beneath
        a directory moved in from outside the workspace it did not exist before."""
        if not self.records(moved):
            return
        self._add(moved, Operation.RENAME)
        if not self.in_workspace(moved) and moved not in self._outside:
            self._outside[moved] = Before(MISSING, None, (NOT_IN_REPO, None))
        rest = moved[len(directory):]
        if (new := self._renamed_to.get(directory)) is not None and self.records(new + rest):
            self._renamed_to[moved] = new + rest
            self._renamed_from[new + rest] = moved
        if (old := self._renamed_from.get(directory)) is not None and self.records(old + rest):
            self._renamed_from[moved] = old + rest
            self._renamed_to[old + rest] = moved

    def _add(self, path: bytes, operation: Operation) -> None:
        self._operations[path] = self._operations.get(path, 0) | OPERATION_BITS[operation]

    def _operations_of(self, path: bytes) -> frozenset[Operation]:
        return operations_in(self._operations.get(path, 0))

    def _draft(self, path: bytes, git_after: GitContext, unreferable: frozenset[str]) -> Draft:
        operations = self._operations_of(path)
        in_workspace = self.in_workspace(path)
        mutated = bool(operations & MUTATING_OPERATIONS)
        after_state = read_state(path, xattrs=mutated, writable=not in_workspace)
        probed_only = not in_workspace and operations <= PROBES
        after_git = (NOT_IN_REPO, None) if probed_only else git_after.describe(path)
        before = self._before(path, operations, after_state, after_git)
        referable = after_git[0].root not in unreferable
        decision = decide(
            operations,
            SideFacts(before.state, before.git[1], self._uid, in_workspace,
                      referable=referable and not operations & CHANGES_CONTENT),
            SideFacts(after_state, after_git[1], self._uid, in_workspace,
                      referable=referable),
            self._settings,
        )
        planned_before: Planned
        if before.kept is not None and isinstance(decision.before, Keep):
            planned_before = before.kept
        else:
            planned_before = _plan(decision.before, before.location, before.state)
        planned_after = _plan(decision.after, path, after_state) if mutated else planned_before
        links = self._links or LinkMap(self._workspace, (), {}, {})
        return Draft(
            path=path, operations=_in_order(operations), in_workspace=in_workspace,
            git=after_git[0],
            before_state=before.state, after_state=after_state, before=planned_before,
            after=planned_after, before_unknown=before.unknown,
            renamed_from=self._renamed_from.get(path), renamed_to=self._renamed_to.get(path),
            before_links=links.before(path), after_links=links.after(path),
        )


@dataclass(frozen=True, slots=True)
class ToStore:
    """Content to keep from `location` (done in parallel, at the end); `clone_only`
    for contents too large to copy, kept only if the filesystem can clone them."""

    location: bytes
    size: int
    """Its size when its state was read (to choose who keeps it)."""
    clone_only: bool = False


Planned = Outcome | ToStore


def _plan(choice: Choice, location: bytes | None, state: PathState) -> Planned:
    if isinstance(choice, Keep):
        return Skip(UNREADABLE) if location is None else ToStore(location, state.size or 0)
    if choice == Skip(TOO_LARGE) and location is not None:
        return ToStore(location, state.size or 0, clone_only=True)
    return choice


def _entries(drafts: list[Draft], stored: Callable[[], Mapping[ToStore, Outcome]]
             ) -> Iterator[FileEntry]:
    """The entries of `drafts`, once their contents are stored."""
    outcomes = stored()
    return (draft.entry(outcomes) for draft in drafts)


@dataclass(frozen=True, slots=True)
class Draft:
    """One entry with its states read and its contents decided, not yet stored."""

    path: bytes
    operations: tuple[Operation, ...]
    in_workspace: bool
    git: GitInfo
    before_state: PathState
    after_state: PathState
    before: Planned
    after: Planned
    before_unknown: bool
    renamed_from: bytes | None = None
    renamed_to: bytes | None = None
    before_links: tuple[bytes, ...] = ()
    after_links: tuple[bytes, ...] = ()

    def entry(self, stored: Mapping[ToStore, Outcome]) -> FileEntry:
        def outcome(planned: Planned) -> Outcome:
            return stored[planned] if isinstance(planned, ToStore) else planned

        before = _file_state(self.before_state, outcome(self.before), self.before_links)
        after = _file_state(self.after_state, outcome(self.after), self.after_links)
        if self.before_state.exists and not self.after_state.exists:
            after = TOMBSTONE
        if self.before_unknown:
            before = _absent(UNKNOWN_BEFORE)
        return FileEntry(path=self.path, operations=self.operations,
                         before=before, after=after, git=self.git,
                         in_workspace=self.in_workspace, renamed_from=self.renamed_from,
                         renamed_to=self.renamed_to)


TOMBSTONE = FileState(exists=False, tombstone=True)


@cache
def _absent(reason: str | None) -> FileState:
    """The state of a path that did not exist: one object per reason (a run creating
    100,000 files holds 100,000 of them otherwise)."""
    return FileState(exists=False, not_captured=reason)


def _file_state(state: PathState, outcome: Outcome, links: tuple[bytes, ...]) -> FileState:
    reason = outcome.reason if isinstance(outcome, Skip) else None
    if not state.exists:
        return _absent(reason)
    blob: str | None = None
    source: BlobSource | None = None
    if isinstance(outcome, Stored):
        blob, source = outcome.blob, "store"
    elif isinstance(outcome, Reference):
        blob, source = outcome.blob, "git"
    return FileState(
        exists=True, type=state.type, mode=state.mode, size=state.size,
        mtime_ns=state.mtime_ns, uid=state.uid, gid=state.gid, blob=blob, blob_source=source,
        target=state.target, xattrs=state.xattrs, links=links, not_captured=reason,
    )
