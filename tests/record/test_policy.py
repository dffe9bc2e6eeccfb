"""The capture policy, table-driven: plain facts in, decisions out, no filesystem."""

from __future__ import annotations

import pytest

from cowsnap.model import CREATED_AND_DELETED, SPECIAL_FILE, SYSTEM_FILE, TOO_LARGE, FileType
from cowsnap.model import Operation as Op
from cowsnap.record.policy import (
    NOT_WANTED,
    CaptureReads,
    CaptureSettings,
    Choice,
    GitFacts,
    Keep,
    Reference,
    SideFacts,
    Skip,
    decide,
)
from cowsnap.record.state import MISSING, PathState

ME = 1000
KEEP = Keep()


def state(kind: FileType = "file", *, size: int = 10, uid: int = ME,
          writable: bool = True) -> PathState:
    return PathState(exists=True, type=kind, mode=0o100644, size=size, mtime_ns=1, uid=uid,
                     writable=writable)


FILE = state()
CLEAN = GitFacts(tracked=True, dirty=False, ignored=False, blob="ab" * 20)
DIRTY = GitFacts(tracked=True, dirty=True, ignored=False, blob=None)
UNTRACKED = GitFacts(tracked=False, dirty=False, ignored=False, blob=None)
IGNORED = GitFacts(tracked=False, dirty=False, ignored=True, blob=None)

Row = tuple[str, set[Op], PathState, GitFacts | None, PathState, GitFacts | None,
            CaptureReads, Choice, Choice]

TABLE: list[Row] = [
    ("write keeps both", {Op.WRITE}, FILE, None, FILE, None, "uncommitted", KEEP, KEEP),
    ("create keeps after", {Op.CREATE}, MISSING, None, FILE, None, "none", NOT_WANTED, KEEP),
    ("delete keeps before", {Op.DELETE}, FILE, None, MISSING, None, "none", KEEP, NOT_WANTED),
    ("rename source", {Op.RENAME}, FILE, None, MISSING, None, "none", KEEP, NOT_WANTED),
    ("rename target over a file", {Op.RENAME}, FILE, None, FILE, None, "none", KEEP, KEEP),
    ("created and deleted", {Op.CREATE, Op.WRITE, Op.DELETE}, MISSING, None, MISSING, None,
     "all", NOT_WANTED, Skip(CREATED_AND_DELETED)),
    ("chmod keeps no content", {Op.METADATA}, FILE, None, FILE, None, "none",
     NOT_WANTED, NOT_WANTED),
    ("mkdir", {Op.MKDIR}, MISSING, None, state("directory"), None, "all",
     NOT_WANTED, NOT_WANTED),
    ("symlink replaced", {Op.DELETE, Op.CREATE}, state("symlink"), None, FILE, None, "none",
     NOT_WANTED, KEEP),
    ("fifo written", {Op.WRITE}, state("other"), None, state("other"), None, "none",
     Skip(SPECIAL_FILE), Skip(SPECIAL_FILE)),
    ("clean tracked written", {Op.WRITE}, FILE, CLEAN, FILE, DIRTY, "none",
     Reference(CLEAN.blob or ""), KEEP),
    ("too large", {Op.WRITE}, state(size=2000), None, state(size=5), None, "none",
     Skip(TOO_LARGE), KEEP),
    ("clean tracked too large is still referenced", {Op.DELETE}, state(size=2000), CLEAN,
     MISSING, None, "none", Reference(CLEAN.blob or ""), NOT_WANTED),
    ("read untracked", {Op.READ}, FILE, UNTRACKED, FILE, UNTRACKED, "uncommitted", KEEP, KEEP),
    ("read dirty", {Op.READ}, FILE, DIRTY, FILE, DIRTY, "uncommitted", KEEP, KEEP),
    ("read clean", {Op.READ}, FILE, CLEAN, FILE, CLEAN, "uncommitted", NOT_WANTED, NOT_WANTED),
    ("read ignored", {Op.READ}, FILE, IGNORED, FILE, IGNORED, "uncommitted",
     NOT_WANTED, NOT_WANTED),
    ("read outside any repository", {Op.READ}, FILE, None, FILE, None, "uncommitted",
     NOT_WANTED, NOT_WANTED),
    ("read all", {Op.READ}, FILE, None, FILE, None, "all", KEEP, KEEP),
    ("read all, clean is referenced", {Op.READ}, FILE, CLEAN, FILE, CLEAN, "all",
     Reference(CLEAN.blob or ""), Reference(CLEAN.blob or "")),
    ("read none", {Op.READ}, FILE, UNTRACKED, FILE, UNTRACKED, "none", NOT_WANTED, NOT_WANTED),
    ("read system file", {Op.READ}, state(uid=0, writable=False), None,
     state(uid=0, writable=False), None, "all", Skip(SYSTEM_FILE), Skip(SYSTEM_FILE)),
    ("another user's writable file", {Op.WRITE}, state(uid=0), None, state(uid=0), None,
     "none", KEEP, KEEP),
    ("stat only", {Op.EXISTENCE}, FILE, UNTRACKED, FILE, UNTRACKED, "all",
     NOT_WANTED, NOT_WANTED),
    ("readdir", {Op.DIRECTORY}, state("directory"), None, state("directory"), None, "all",
     NOT_WANTED, NOT_WANTED),
]


@pytest.mark.parametrize(
    ("operations", "before", "before_git", "after", "after_git", "reads", "keep_before",
     "keep_after"),
    [row[1:] for row in TABLE],
    ids=[row[0] for row in TABLE],
)
def test_capture_policy(
    operations: set[Op], before: PathState, before_git: GitFacts | None, after: PathState,
    after_git: GitFacts | None, reads: CaptureReads, keep_before: Choice, keep_after: Choice,
) -> None:
    settings = CaptureSettings(capture_reads=reads, max_file_size=1000)
    decision = decide(frozenset(operations), SideFacts(before, before_git, ME),
                      SideFacts(after, after_git, ME), settings)
    assert (decision.before, decision.after) == (keep_before, keep_after)


def test_no_system_files_inside_the_workspace() -> None:
    foreign = state(uid=0, writable=False)
    decision = decide(frozenset({Op.DELETE}), SideFacts(foreign, None, ME, in_workspace=True),
                      SideFacts(MISSING, None, ME, in_workspace=True), CaptureSettings())
    assert decision.before == KEEP


def test_no_size_cap() -> None:
    huge = state(size=1 << 40)
    decision = decide(frozenset({Op.WRITE}), SideFacts(huge, None, ME), SideFacts(huge, None, ME),
                      CaptureSettings(max_file_size=None))
    assert decision.before == KEEP
