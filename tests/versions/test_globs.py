"""Which paths `--versions` globs watch, and which events give a version: pure."""

from __future__ import annotations

import pytest

from cowsnap.errors import UsageError
from cowsnap.model import Operation
from cowsnap.record.versions import VersionGlobs, rename_target
from cowsnap.trace.events import PathEvent
from cowsnap.trace.syscalls import RENAME_EXCHANGE

WORKSPACE = b"/home/u/proj"

CASES = [
    ("out.txt", b"/home/u/proj/out.txt", True),
    ("out.txt", b"/home/u/proj/sub/out.txt", False),
    ("out.txt", b"/elsewhere/out.txt", False),
    ("*.txt", b"/home/u/proj/a.txt", True),
    ("*.txt", b"/home/u/proj/.hidden.txt", True),
    ("*.txt", b"/home/u/proj/d/a.txt", False),
    ("*.txt", b"/home/u/proj.txt", False),
    ("**/*.txt", b"/home/u/proj/a.txt", True),
    ("**/*.txt", b"/home/u/proj/d/e/a.txt", True),
    ("build/**", b"/home/u/proj/build/x/y.o", True),
    ("build/**", b"/home/u/proj/build", False),
    ("build/**", b"/home/u/proj/builder/x", False),
    ("a/**/b.json", b"/home/u/proj/a/b.json", True),
    ("a/**/b.json", b"/home/u/proj/a/x/y/b.json", True),
    ("a/**/b.json", b"/home/u/proj/ab.json", False),
    ("./ckpt/step?.bin", b"/home/u/proj/ckpt/step7.bin", True),
    ("ckpt//step?.bin", b"/home/u/proj/ckpt/step77.bin", False),
    ("ckpt/step[0-9].bin", b"/home/u/proj/ckpt/step3.bin", True),
    ("ckpt/step[!0-9].bin", b"/home/u/proj/ckpt/stepx.bin", True),
    ("ckpt/step[!0-9].bin", b"/home/u/proj/ckpt/step3.bin", False),
    ("a[!x]b", b"/home/u/proj/a/b", False),
    ("a?b", b"/home/u/proj/a/b", False),
    ("[]]", b"/home/u/proj/]", True),
    ("x[", b"/home/u/proj/x[", True),
    ("a+b(c).txt", b"/home/u/proj/a+b(c).txt", True),
    ("caf\u00e9.txt", "/home/u/proj/caf\u00e9.txt".encode(), True),
    ("caf?.txt", "/home/u/proj/caf\u00e9.txt".encode(), True),
    ("raw?.txt", b"/home/u/proj/raw\xff.txt", True),
    ("/var/log/*.log", b"/var/log/app.log", True),
    ("/var/log/*.log", b"/var/log/old/app.log", False),
    ("/var/log/**", b"/var/log/old/app.log", True),
    ("/home/u/proj/out.txt", b"/home/u/proj/out.txt", True),
    ("/out.txt", b"/home/u/proj/out.txt", False),
]


@pytest.mark.parametrize(("glob", "path", "expected"), CASES)
def test_glob_matching(glob: str, path: bytes, expected: bool) -> None:
    assert VersionGlobs([glob], WORKSPACE).matches(path) is expected


def test_any_glob_of_several_matches() -> None:
    globs = VersionGlobs(["*.log", "/tmp/*.json"], WORKSPACE + b"/")
    assert globs.matches(b"/home/u/proj/a.log")
    assert globs.matches(b"/tmp/a.json")
    assert not globs.matches(b"/tmp/a.log")
    assert not globs.matches(WORKSPACE)


def test_the_root_as_workspace() -> None:
    assert VersionGlobs(["etc/*.conf"], b"/").matches(b"/etc/a.conf")


def test_no_globs_is_false_and_matches_nothing() -> None:
    globs = VersionGlobs([], WORKSPACE)
    assert not globs
    assert not globs.matches(b"/home/u/proj/a")


@pytest.mark.parametrize("glob", ["", "/", ".", "./", "../x/*.txt", "a/../b", "/x/../y"])
def test_globs_that_cannot_name_files_are_usage_errors(glob: str) -> None:
    with pytest.raises(UsageError, match="--versions"):
        VersionGlobs([glob], WORKSPACE)


def _event(syscall: str, operation: Operation, result: int = 0, flags: int = 0) -> PathEvent:
    return PathEvent(1, 1, syscall, operation, b"/w/new", result, flags, b"/w/old")


@pytest.mark.parametrize(("event", "expected"), [
    (_event("rename", Operation.CREATE), True),
    (_event("renameat2", Operation.CREATE), True),
    (_event("renameat", Operation.RENAME), False),
    (_event("renameat2", Operation.RENAME, flags=RENAME_EXCHANGE), True),
    (_event("rename", Operation.CREATE, result=-2), False),
    (_event("openat", Operation.CREATE), False),
    (_event("linkat", Operation.CREATE), False),
])
def test_which_renames_give_a_version(event: PathEvent, expected: bool) -> None:
    assert rename_target(event) is expected
