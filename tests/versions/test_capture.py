"""Versions taken from real processes under the real tracer."""

from __future__ import annotations

import itertools
import os
from pathlib import Path

import pytest

from cowsnap import api
from cowsnap.errors import VersionNotFoundError
from tests.versions.conftest import Runner

APPENDERS = """
import os, sys
children = []
for writer in range(4):
    pid = os.fork()
    if pid == 0:
        for i in range(50):
            fd = os.open("log.txt", os.O_WRONLY | os.O_CREAT | os.O_APPEND)
            os.write(fd, b"%d %d\\n" % (os.getpid(), i))
            os.close(fd)
        os._exit(0)
    children.append(pid)
for pid in children:
    assert os.waitpid(pid, 0)[1] == 0
"""

REWRITER = """
import itertools
import os
for i in range(1000):
    fd = os.open("state.txt", os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
    os.write(fd, b"iteration %d\\n" % i * (1 + i % 7))
    os.close(fd)
"""


def test_four_appenders_give_every_close_its_own_exact_version(
        run_versions: Runner, workspace: Path) -> None:
    run = run_versions(APPENDERS, ["*.txt"])
    log = workspace / "log.txt"
    final = log.read_bytes()
    versions = run.entry(log).versions
    contents = run.contents(log)
    assert len(final.splitlines()) == 200
    assert len(versions) == 200
    assert [version.number for version in versions] == list(range(1, 201))
    assert {version.trigger for version in versions} == {"close"}
    writers = {version.pid for version in versions}
    assert len(writers) == 4
    appended: dict[int, int] = dict.fromkeys(writers, 0)
    previous = b""
    for version, content in zip(versions, contents, strict=True):
        # taken while its writer was stopped at that close: the writer's own line is
        # in it, its next one cannot be; other writers run on, so the content is the
        # file at some moment within that close: a prefix of the final file, growing
        assert final.startswith(content) and content.startswith(previous)
        assert version.size == len(content)
        mine = b"%d %d\n" % (version.pid, appended[version.pid])
        assert mine in content.splitlines(keepends=True)
        assert b"%d %d\n" % (version.pid, appended[version.pid] + 1) not in content
        appended[version.pid] += 1
        previous = content
    assert set(appended.values()) == {50}


def test_a_fast_rewriter_loses_and_duplicates_no_version(
        run_versions: Runner, workspace: Path) -> None:
    run = run_versions(REWRITER, ["state.txt"])
    expected = [b"iteration %d\n" % i * (1 + i % 7) for i in range(1000)]
    assert run.contents(workspace / "state.txt") == expected
    assert len(set(expected)) == 1000


def test_rename_into_place_is_a_version(run_versions: Runner, workspace: Path) -> None:
    script = """
import itertools
import os
for i in range(3):
    with open("doc.md.tmp", "w") as handle:
        handle.write("draft %d\\n" % i)
    os.rename("doc.md.tmp", "doc.md")
"""
    run = run_versions(script, ["*.md"])
    doc = run.entry(workspace / "doc.md")
    assert [version.trigger for version in doc.versions] == ["rename"] * 3
    assert run.contents(workspace / "doc.md") == [b"draft 0\n", b"draft 1\n", b"draft 2\n"]
    assert run.entry(workspace / "doc.md.tmp").versions == ()
    assert all(version.comm and version.exe for version in doc.versions)
    assert {version.pid for version in doc.versions} != {os.getpid()}


def test_a_glob_that_matches_nothing_keeps_no_version(
        run_versions: Runner, workspace: Path) -> None:
    run = run_versions("open('a.txt', 'w').write('x')", ["output/*.json"])
    assert run.manifest.version_globs == ("output/*.json",)
    assert all(entry.versions == () for entry in run.manifest.files)
    found = api.versions(str(workspace / "a.txt"), store=run.store.root, cwd=workspace)
    assert found.versions == ()
    with pytest.raises(VersionNotFoundError, match=r"no version 1 .*\(it has no version\)"):
        api.cat(str(workspace / "a.txt"), version=1, store=run.store.root, cwd=workspace)


def test_absolute_globs_reach_outside_the_workspace(
        run_versions: Runner, workspace: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    script = f"""
for text in ("one", "two"):
    with open({str(outside / "out.log")!r}, "w") as handle:
        handle.write(text)
    with open({str(outside / "other.txt")!r}, "w") as handle:
        handle.write(text)
    with open("in.log", "w") as handle:
        handle.write(text)
"""
    run = run_versions(script, [f"{outside}/*.log", "*.log"])
    assert run.contents(outside / "out.log") == [b"one", b"two"]
    assert run.contents(workspace / "in.log") == [b"one", b"two"]
    assert run.entry(outside / "other.txt").versions == ()
    relative_only = run_versions(script, ["*.log", "*.txt"])
    assert relative_only.entry(outside / "out.log").versions == ()
    assert relative_only.entry(outside / "other.txt").versions == ()


def test_a_shell_appending_gives_no_version_twice(
        run_versions: Runner, workspace: Path) -> None:
    # the shell closes each redirection twice (the opened fd, then the dup2'd
    # stdout): the same process giving the same content again is no new version
    run = run_versions(["sh", "-c", "for i in 1 2 3; do echo $i >> n.txt; done"],
                       ["n.txt"])
    contents = run.contents(workspace / "n.txt")
    assert contents[-3:] == [b"1\n", b"1\n2\n", b"1\n2\n3\n"]
    assert all(a != b for a, b in itertools.pairwise(contents))


def test_versions_need_a_run_recorded_with_them(
        run_versions: Runner, workspace: Path) -> None:
    run = run_versions("open('a.txt', 'w').write('x')", [])
    assert run.manifest.version_globs == ()
    with pytest.raises(VersionNotFoundError, match="not recorded with --versions"):
        api.versions(str(workspace / "a.txt"), store=run.store.root, cwd=workspace)


def test_an_exchange_gives_both_paths_a_version(run_versions: Runner, workspace: Path) -> None:
    script = """
import ctypes, os
for name, text in (("left.txt", "L"), ("right.txt", "R")):
    with open(name, "w") as handle:
        handle.write(text)
libc = ctypes.CDLL(None, use_errno=True)
AT_FDCWD, RENAME_EXCHANGE = -100, 2
if libc.renameat2(AT_FDCWD, b"left.txt", AT_FDCWD, b"right.txt", RENAME_EXCHANGE) != 0:
    raise OSError(ctypes.get_errno(), "renameat2")
"""
    run = run_versions(script, ["*.txt"])
    left, right = run.entry(workspace / "left.txt"), run.entry(workspace / "right.txt")
    assert [version.trigger for version in left.versions] == ["close", "rename"]
    assert run.contents(workspace / "left.txt") == [b"L", b"R"]
    assert run.contents(workspace / "right.txt") == [b"R", b"L"]
    assert right.versions[-1].trigger == "rename"


THREADS = """
import os, threading
def append(name):
    for i in range(25):
        fd = os.open("t.txt", os.O_WRONLY | os.O_CREAT | os.O_APPEND)
        os.write(fd, b"%s %d\\n" % (name, i))
        os.close(fd)
threads = [threading.Thread(target=append, args=(b"t%d" % n,)) for n in range(4)]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join()
"""


def test_threads_sharing_a_process_each_close_a_version(
        run_versions: Runner, workspace: Path) -> None:
    run = run_versions(THREADS, ["t.txt"], only_writes=True)
    final = (workspace / "t.txt").read_bytes()
    contents = run.contents(workspace / "t.txt")
    assert len(final.splitlines()) == 100
    # one process: two threads closing the same content are one version, so
    # there may be fewer than 100; but each version is new, and none is lost
    assert all(final.startswith(content) for content in contents)
    assert all(a != b for a, b in itertools.pairwise(contents))
    assert contents[-1] == final
