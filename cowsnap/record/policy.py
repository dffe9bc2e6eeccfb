"""What content a run keeps for each touched path: a pure decision over plain facts.

Kept: before-content of regular files that were written, created over,
truncated, deleted or renamed; after-content of regular files written or renamed
into place that exist afterwards; contents of inputs that were only read, when
`capture_reads` asks for them. Never kept: special files, other users' files
outside the workspace we may not write (system files), files over the size cap.
Clean git-tracked files are referenced by their git blob id instead of being copied.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from cowsnap.model import (
    CHANGES_CONTENT,
    CREATED_AND_DELETED,
    MUTATING_OPERATIONS,
    PRODUCES_CONTENT,
    SPECIAL_FILE,
    SYSTEM_FILE,
    TOO_LARGE,
    UNREADABLE,
    Operation,
)
from cowsnap.record.state import PathState

CaptureReads = Literal["uncommitted", "all", "none"]

@dataclass(frozen=True, slots=True)
class CaptureSettings:
    capture_reads: CaptureReads = "uncommitted"
    max_file_size: int | None = 256 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class GitFacts:
    """A path's standing in its repository at one moment (None: not in a repository)."""

    tracked: bool
    dirty: bool
    ignored: bool
    blob: str | None


@dataclass(frozen=True, slots=True)
class SideFacts:
    """One side (before or after) of a path. Inside the workspace no file counts as a
    system file: its before-state may be read from a read-only snapshot, and the
    same run must keep the same contents on every backend."""

    state: PathState
    git: GitFacts | None
    run_uid: int
    in_workspace: bool = False
    referable: bool = True
    """Whether a clean tracked content may be kept as a git reference: not when the run
    rewrote the file or the repository's objects (the blob may be pruned)."""


@dataclass(frozen=True, slots=True)
class Keep:
    """Copy this side's content into the store."""


@dataclass(frozen=True, slots=True)
class Reference:
    """This side's content is git blob `blob` of the path's repository."""

    blob: str


@dataclass(frozen=True, slots=True)
class Skip:
    """No content: not wanted (reason None) or wanted but not capturable (reason)."""

    reason: str | None = None


Choice = Keep | Reference | Skip
NOT_WANTED = Skip()


@dataclass(frozen=True, slots=True)
class Decision:
    before: Choice
    after: Choice


def _is_uncommitted(git: GitFacts | None) -> bool:
    if git is None:
        return False
    return (git.tracked and git.dirty) or (not git.tracked and not git.ignored)


def _wants_read_content(facts: SideFacts, settings: CaptureSettings) -> bool:
    if settings.capture_reads == "all":
        return True
    if settings.capture_reads == "none":
        return False
    return _is_uncommitted(facts.git)


def content_choice(facts: SideFacts, settings: CaptureSettings) -> Choice:
    """How to keep the content of a side whose content is wanted."""
    state = facts.state
    if not state.exists or state.type in ("directory", "symlink"):
        return NOT_WANTED
    if state.type != "file":
        return Skip(SPECIAL_FILE)
    git = facts.git
    if facts.referable and git is not None and git.tracked and not git.dirty \
            and git.blob is not None:
        return Reference(git.blob)
    if not facts.in_workspace and state.uid != facts.run_uid and not state.writable:
        return Skip(SYSTEM_FILE)
    if state.mode is None:
        return Skip(UNREADABLE)
    if settings.max_file_size is not None and (state.size or 0) > settings.max_file_size:
        return Skip(TOO_LARGE)
    return Keep()


def decide(
    operations: frozenset[Operation],
    before: SideFacts,
    after: SideFacts,
    settings: CaptureSettings,
) -> Decision:
    """Which content of the before and after states of one path to keep, and how."""
    if operations & MUTATING_OPERATIONS:
        if not before.state.exists and not after.state.exists:
            return Decision(NOT_WANTED, Skip(CREATED_AND_DELETED))
        keep_before = bool(operations & CHANGES_CONTENT)
        keep_after = bool(operations & PRODUCES_CONTENT)
        return Decision(
            content_choice(before, settings) if keep_before else NOT_WANTED,
            content_choice(after, settings) if keep_after else NOT_WANTED,
        )
    if Operation.READ in operations and _wants_read_content(before, settings):
        choice = content_choice(before, settings)
        return Decision(choice, choice)
    return Decision(NOT_WANTED, NOT_WANTED)
