"""`compare` and the status letters, as a table: one row per way a path can change."""

from __future__ import annotations

import itertools
from dataclasses import replace

import pytest

from cowsnap.model import (
    ABSENT,
    Aspect,
    FileEntry,
    FileState,
    Operation,
    compare,
    entry_change,
    explain,
    status_letters,
)

A = Aspect
FILE = FileState(exists=True, type="file", mode=0o100644, size=3, mtime_ns=10, uid=1,
                 gid=1, blob="a" * 40)
NO_ID = FileState(exists=True, type="file", mode=0o100644, size=3, mtime_ns=10, uid=1)
LINK = FileState(exists=True, type="symlink", mode=0o120777, size=1, mtime_ns=10,
                 target=b"x")
DIR = FileState(exists=True, type="directory", mode=0o40755, mtime_ns=10, uid=1)


def _with(state: FileState, **changes: object) -> FileState:
    return replace(state, **changes)  # type: ignore[arg-type]


ROWS = [
    # name, before, after, operations, aspects, letters
    ("nothing", FILE, FILE, None, set(), ".."),
    ("both absent", ABSENT, ABSENT, None, set(), ".."),
    ("created", ABSENT, FILE, None, {A.CREATED}, "+."),
    ("deleted", FILE, ABSENT, None, {A.DELETED}, "-."),
    ("type", FILE, DIR, None, {A.TYPE}, "t."),
    ("content by id", FILE, _with(FILE, blob="b" * 40), None, {A.CONTENT}, "c."),
    ("write moves the time too", FILE, _with(FILE, blob="b" * 40, mtime_ns=11), None,
     {A.CONTENT, A.TIMES}, "c."),
    ("same id, new time: touch", FILE, _with(FILE, mtime_ns=11), None, {A.TIMES}, ".m"),
    ("no ids, new time, may be rewritten", NO_ID, _with(NO_ID, mtime_ns=11), None,
     {A.CONTENT, A.TIMES}, "c."),
    ("no ids, new time, utime only", NO_ID, _with(NO_ID, mtime_ns=11), [Operation.METADATA],
     {A.TIMES}, ".m"),
    ("no ids, new size, utime only", NO_ID, _with(NO_ID, size=4), [Operation.METADATA],
     {A.CONTENT}, "c."),
    ("large ids compare by size and time", _with(FILE, blob="large-" + "0" * 32),
     _with(FILE, blob="large-" + "1" * 32), None, set(), ".."),
    ("mode", FILE, _with(FILE, mode=0o100600), None, {A.MODE}, ".p"),
    ("mode and owner: p wins", FILE, _with(FILE, mode=0o100600, uid=2), None,
     {A.MODE, A.OWNER}, ".p"),
    ("owner", FILE, _with(FILE, uid=2), None, {A.OWNER}, ".m"),
    ("group", FILE, _with(FILE, gid=2), None, {A.GROUP}, ".m"),
    ("group unknown on one side", FILE, _with(FILE, gid=None), None, set(), ".."),
    ("xattrs", FILE, _with(FILE, xattrs=(("user.a", b"1"),)), None, set(), ".."),
    ("xattrs changed", _with(FILE, xattrs=()), _with(FILE, xattrs=(("user.a", b"1"),)),
     None, {A.XATTRS}, ".m"),
    ("target", LINK, _with(LINK, target=b"y"), None, {A.TARGET}, "c."),
    ("symlink mode is never compared", LINK, _with(LINK, mode=0o120755), None, set(), ".."),
    ("directory time", DIR, _with(DIR, mtime_ns=11), None, {A.TIMES}, ".m"),
]


@pytest.mark.parametrize(("before", "after", "operations", "aspects", "letters"),
                         [row[1:] for row in ROWS], ids=[row[0] for row in ROWS])
def test_compare(before: FileState, after: FileState, operations: list[Operation] | None,
                 aspects: set[Aspect], letters: str) -> None:
    change = compare(before, after, operations=operations)
    assert change == aspects
    assert status_letters(change) == letters


def test_status_letters_of_every_combination_of_aspects() -> None:
    """The letters as `status_letters` defines them, for each of the 1,024 changes."""
    firsts = ((A.CREATED, "+"), (A.DELETED, "-"), (A.TYPE, "t"), (A.CONTENT, "c"),
              (A.TARGET, "c"))
    for size in range(len(A) + 1):
        for aspects in itertools.combinations(A, size):
            change = frozenset(aspects)
            first = next((letter for aspect, letter in firsts if aspect in change), ".")
            metadata = {A.MODE, A.OWNER, A.GROUP, A.XATTRS} | (
                set() if first == "c" else {A.TIMES})
            second = "p" if A.MODE in change else "m" if change & metadata else "."
            assert status_letters(change) == first + second, aspects


def test_a_directory_time_counts_only_when_the_run_set_it() -> None:
    later = _with(DIR, mtime_ns=11)
    listed = FileEntry(b"/w/d", (Operation.DIRECTORY,), DIR, later)
    touched = FileEntry(b"/w/d", (Operation.METADATA,), DIR, later)
    assert entry_change(listed) == set()
    assert entry_change(touched) == {A.TIMES}


def test_an_entry_uses_its_operations() -> None:
    utimed = FileEntry(b"/w/f", (Operation.METADATA,), NO_ID, _with(NO_ID, mtime_ns=11))
    assert entry_change(utimed) == {A.TIMES}


@pytest.mark.parametrize(("have", "expected", "words"), [
    (FILE, ABSENT, "exists now"),
    (ABSENT, FILE, "no longer exists"),
    (DIR, FILE, "is now a directory, was a file"),
    (_with(FILE, blob="b" * 40), FILE, "content differs"),
    (_with(FILE, mode=0o100600), FILE, "permissions differ"),
    (FILE, FILE, None),
])
def test_explain(have: FileState, expected: FileState, words: str | None) -> None:
    assert explain(compare(expected, have), have, expected) == words
