"""What a restore must do, decided from manifest data and observed states alone.

Pure: no filesystem here, so every rule (which paths, which conflicts, which
order) is unit-tested on plain data. The order is what keeps a failed restore
from losing data: first remove what stands in the way of a write (a symlink
where a directory must come back, a directory where a file must), deepest
first; then create directories parents-first and write files and symlinks;
only then delete what the restored state does not have, deepest first, and
only if every write succeeded; directory permissions and times last, since
creating entries inside a directory changes its time and may need its write
permission.
"""

from __future__ import annotations

import dataclasses
import os
import stat
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from operator import attrgetter
from typing import Literal

from cowsnap.model import (
    ABSENT,
    CHANGES_CONTENT,
    MUTATING_OPERATIONS,
    UNKNOWN_BEFORE,
    Aspect,
    Change,
    FileEntry,
    FileState,
    Manifest,
    compare,
    entry_change,
    explain,
    same_content,
)

Side = Literal["before", "after"]


def other_side(side: Side) -> Side:
    return "after" if side == "before" else "before"


@dataclass(frozen=True, slots=True)
class Target:
    """One path to restore: the state to bring back and the state it should replace."""

    entry: FileEntry
    want: FileState
    replaces: FileState
    times_only: bool = False
    """A directory the run did not change itself, holding paths to restore: only its
    time comes back, and only if it is still a directory."""

    @property
    def path(self) -> bytes:
        return self.entry.path


@dataclass(frozen=True, slots=True)
class Current:
    """What is at a path now, as the restore saw it (never through a symlink)."""

    state: FileState
    children: frozenset[bytes] = frozenset()
    """Names inside, for a directory the restore would remove."""
    problem: str | None = None
    """Why the path could not be examined, if it could not."""
    inode: tuple[int, int] | None = None
    """(device, inode) of a regular file with more than one name, to tell which of the
    paths examined are names of one file."""


class Action(StrEnum):
    CLEAR = "clear"
    MKDIR = "mkdir"
    WRITE = "write"
    SYMLINK = "symlink"
    MKFIFO = "mkfifo"
    METADATA = "metadata"
    REMOVE = "remove"
    DIR_METADATA = "dir-metadata"


PHASES = (Action.CLEAR, Action.MKDIR, Action.REMOVE, Action.DIR_METADATA)
"""MKDIR, WRITE, SYMLINK, MKFIFO and METADATA share one parents-first phase."""


@dataclass(frozen=True, slots=True)
class Step:
    action: Action
    target: Target
    current: FileState

    @property
    def path(self) -> bytes:
        return self.target.path


@dataclass(frozen=True)
class Plan:
    steps: tuple[Step, ...]
    """In the order they must run."""
    conflicts: tuple[tuple[bytes, str], ...]
    failures: tuple[tuple[bytes, str], ...]
    """Paths that cannot be restored, with why."""

    def touched(self) -> list[Target]:
        """Each target with at least one step, once, in path order."""
        seen: dict[bytes, Target] = {}
        for step in self.steps:
            seen.setdefault(step.path, step.target)
        return [seen[path] for path in sorted(seen)]


def parent_of(path: bytes) -> bytes:
    """`os.path.dirname(path)` for a bytes path, without its generality: called per path
    of a run, more than once."""
    head = path[:path.rfind(b"/") + 1]
    return head.rstrip(b"/") or head  # a head of slashes alone stays as it is


def _shadowed(entries: Sequence[FileEntry], parents: Sequence[bytes], side: Side) -> set[bytes]:
    """`parents`: each entry's `parent_of` its path."""
    # Whether each recorded path is not a directory on `side` (the last entry of a path
    # counts, should a path appear twice).
    kind = attrgetter(f"{side}.type")
    blocks = {entry.path: kind(entry) != "directory" for entry in entries}
    known: dict[bytes, bool] = {b"": False}

    def blocked(path: bytes) -> bool:
        """Whether `path` or one of its ancestors is not a directory on `side`; walked
        up without recursion (a path may have thousands of components)."""
        chain: list[bytes] = []
        while path not in known:
            chain.append(path)
            parent = parent_of(path)
            path = b"" if parent == path else parent
        answer = known[path]
        for below in reversed(chain):
            answer = answer or blocks.get(below, False)
            known[below] = answer
        return answer

    return {entry.path for entry, parent in zip(entries, parents, strict=True)
            if parent != entry.path
            and (known[parent] if parent in known else blocked(parent))}


def seen_entries(manifest: Manifest) -> list[FileEntry]:
    """The manifest's entries, with a state recorded beneath a path that was not a
    directory on that side made absent: it was seen through a symlink (a run that
    replaced a directory with a symlink to /etc recorded /etc's files there), and is
    no part of the workspace."""
    return _seen(manifest)[0]


def _seen(manifest: Manifest) -> tuple[list[FileEntry], list[bytes]]:
    """`seen_entries`, and the `parent_of` each one's path."""
    entries = manifest.files
    parents = [parent_of(entry.path) for entry in entries]
    before = _shadowed(entries, parents, "before")
    after = _shadowed(entries, parents, "after")
    if not before and not after:
        return list(entries), parents
    seen = []
    for entry in entries:
        # (A state already ABSENT stays: the entry would be made again unchanged.)
        if entry.path in before and entry.before is not ABSENT:
            entry = dataclasses.replace(entry, before=ABSENT)
        if entry.path in after and entry.after is not ABSENT:
            entry = dataclasses.replace(entry, after=ABSENT)
        seen.append(entry)
    return seen, parents


CONFLICTS = frozenset({Aspect.CREATED, Aspect.DELETED, Aspect.TYPE, Aspect.TARGET,
                       Aspect.CONTENT, Aspect.MODE})
"""What someone else may have changed at a path since the run; owners and times don't
count (a checkout or a build touches them)."""
OWNERS = frozenset({Aspect.OWNER, Aspect.GROUP})
"""What only root may set."""


def _times_of(state: FileState) -> FileState:
    return dataclasses.replace(state, mode=None, uid=None, gid=None, xattrs=None)


def _changed_through_a_link(entry: FileEntry, mutated: set[bytes]) -> bool:
    """Whether the run changed `entry`'s file through another of its names (a chmod
    of a hard link): its own name was only looked at."""
    return any(link in mutated for link in (*entry.before.links, *entry.after.links))


def select(manifest: Manifest, side: Side, paths: Sequence[bytes] | None = None) -> list[Target]:
    """The paths a restore to `side` must change: mutated by the run (by name, or
    through another name of the same file), different between the two sides, and
    under one of `paths` (all when None). The workspace root itself
    is never replaced, only what is inside it (and its time). A directory in which the
    run mutated entries gets its time back, even when those need nothing (a lock file
    made and removed)."""
    workspace = os.fsencode(manifest.workspace)
    wanted, replaced = attrgetter(side), attrgetter(other_side(side))
    targets = []
    parents: list[FileEntry] = []
    entries, parent_paths = _seen(manifest)
    mutated = {entry.path for entry in entries
               if not MUTATING_OPERATIONS.isdisjoint(entry.operations)}
    # within(path, one of `paths`), made once: the path itself, or a prefix ending in /
    chosen = None if paths is None else set(paths)
    beneath = () if paths is None else tuple(path.rstrip(b"/") + b"/" for path in paths)
    for entry in entries:
        path = entry.path
        if chosen is not None and path not in chosen and not path.startswith(beneath):
            continue
        if not (path in mutated or _changed_through_a_link(entry, mutated)) \
                or path == workspace:
            if Aspect.TIMES in compare(entry.before, entry.after) \
                    and entry.before.type == entry.after.type == "directory":
                parents.append(entry)
            continue
        if entry_change(entry):
            targets.append(Target(entry, wanted(entry), replaced(entry)))
    if parents:
        # The parents of the mutated paths and of the targets (the rest of which were
        # changed through another name).
        holding = {parent for entry, parent in zip(entries, parent_paths, strict=True)
                   if entry.path in mutated}
        holding.update(parent_of(target.path) for target in targets
                       if target.path not in mutated)
        targets.extend(Target(entry, _times_of(wanted(entry)), replaced(entry),
                              times_only=True)
                       for entry in parents if entry.path in holding)
    return sorted(targets, key=lambda target: target.entry.path)


PRIVATE_DIRECTORY = 0o700
"""The mode restore creates directories with, until their own comes last."""


def _conflict(target: Target, current: FileState, change: Change) -> str | None:
    """`change`: compare(target.want, current)."""
    if current.type == "directory" and current.mode is not None \
            and stat.S_IMODE(current.mode) == PRIVATE_DIRECTORY:
        # An interrupted restore's directory (or one made private since): its
        # permissions alone never stop finishing or undoing that restore.
        current = dataclasses.replace(current, mode=None)
        change = compare(target.want, current)
    if not change & CONFLICTS:
        return None
    why = explain(compare(target.replaces, current) & CONFLICTS, current, target.replaces)
    return None if why is None else f"changed since the run: {why}"


def _failure(target: Target, current: FileState, change: Change) -> str | None:
    """`change`: compare(target.want, current)."""
    want = target.want
    if not want.exists:
        return "its state was not recorded" if want.not_captured == UNKNOWN_BEFORE else None
    if want.type in ("directory", "symlink", "fifo"):
        return None
    if want.type != "file":
        return "a special file cannot be recreated"
    if want.blob is not None or (current.type == "file" and _content_kept(target, current,
                                                                          change)):
        return None
    reason = want.not_captured or "its content was not kept"
    return f"content not captured: {reason}"


def _content_kept(target: Target, current: FileState, change: Change) -> bool:
    """Whether the file at the path already holds the wanted content: the same id, size
    and time (`change`, compare(target.want, current), has no CONTENT), or the run did
    not change the content and nobody did since."""
    if Aspect.CONTENT not in change:
        return True
    untouched = same_content(target.replaces, target.want,
                             rewritten=not CHANGES_CONTENT.isdisjoint(target.entry.operations))
    return untouched and same_content(current, target.replaces)


def _steps_for(target: Target, current: FileState, change: Change,
               as_root: bool) -> list[Action]:
    """`change`: compare(target.want, current)."""
    want = target.want
    if not (change if as_root else change - OWNERS):
        return []
    if not want.exists:
        return [Action.REMOVE] if current.exists else []
    in_the_way = current.exists and (current.type == "directory") != (want.type == "directory")
    actions = [Action.CLEAR] if in_the_way else []
    if want.type == "directory":
        if current.type != "directory":
            actions.append(Action.MKDIR)
        return [*actions, Action.DIR_METADATA]
    if want.type == "symlink":
        same = current.type == "symlink" and current.target == want.target
        return [*actions, Action.METADATA if same else Action.SYMLINK]
    if want.type == "fifo":
        return [*actions, Action.METADATA if current.type == "fifo" else Action.MKFIFO]
    if current.type == "file" and _content_kept(target, current, change):
        return [Action.METADATA]
    return [*actions, Action.WRITE]


def _order(steps: Iterable[Step]) -> tuple[Step, ...]:
    by_phase: dict[Action, list[Step]] = {phase: [] for phase in PHASES}
    for step in steps:
        phase = step.action if step.action in by_phase else Action.MKDIR
        by_phase[phase].append(step)
    ordered: list[Step] = []
    for phase in PHASES:
        deepest_first = phase != Action.MKDIR
        ordered.extend(sorted(by_phase[phase], key=lambda step: step.target.entry.path,
                              reverse=deepest_first))
    return tuple(ordered)


def make_plan(targets: Sequence[Target], current: Mapping[bytes, Current], *,
              as_root: bool) -> Plan:
    """The steps restoring `targets`, given what is at each path now; conflicts and
    paths that cannot be restored are listed, not planned."""
    conflicts: list[tuple[bytes, str]] = []
    failures: list[tuple[bytes, str]] = []
    steps: list[Step] = []
    removed = {target.path for target in targets if not target.want.exists}
    cleared: set[bytes] = set()
    for target in targets:
        seen = current[target.path]
        if target.times_only:
            if seen.problem is None and seen.state.type == "directory" \
                    and Aspect.TIMES in compare(target.want, seen.state):
                steps.append(Step(Action.DIR_METADATA, target, seen.state))
            continue
        if seen.problem is not None:
            failures.append((target.path, seen.problem))
            continue
        change = compare(target.want, seen.state)
        conflict = _conflict(target, seen.state, change)
        if conflict is not None:
            conflicts.append((target.path, conflict))
        failure = _failure(target, seen.state, change)
        if failure is not None:
            failures.append((target.path, failure))
            continue
        actions = _steps_for(target, seen.state, change, as_root)
        if Action.CLEAR in actions:
            cleared.add(target.path)
        if Action.CLEAR in actions or Action.REMOVE in actions:
            strays = sorted(name for name in seen.children
                            if os.path.join(target.path, name) not in removed)
            if strays:
                shown = os.fsdecode(strays[0]) + (", ..." if len(strays) > 1 else "")
                conflicts.append((target.path, f"directory holds entries the run did not "
                                               f"create: {shown}"))
        steps.extend([Step(action, target, seen.state) for action in actions])
    return Plan(steps=_order(_clear_beneath(steps, cleared)), conflicts=tuple(conflicts),
                failures=tuple(failures))


def _inside_any(path: bytes, directories: set[bytes]) -> bool:
    parent = os.path.dirname(path)
    while parent != path:
        if parent in directories:
            return True
        path, parent = parent, os.path.dirname(parent)
    return False


def _clear_beneath(steps: list[Step], cleared: set[bytes]) -> list[Step]:
    """Removals inside a directory that must make room for a file go first, with it."""
    if not cleared:
        return steps
    return [Step(Action.CLEAR, step.target, step.current)
            if step.action == Action.REMOVE and _inside_any(step.path, cleared) else step
            for step in steps]
