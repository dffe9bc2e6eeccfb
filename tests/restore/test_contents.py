"""The contents a restore writes: every one read and checked against its id and each
path's recorded size before the first write, and a small one written from the bytes
checked, not read again (a pack changed between the check and the write changes
nothing)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from cowsnap.errors import UntrustedRunError
from cowsnap.model import FileState
from cowsnap.restore.contents import Contents
from cowsnap.restore.plan import Action, Step, Target
from cowsnap.store.content import LARGE_CONTENT
from cowsnap.store.keeping import ContentWriter
from cowsnap.store.store import Store
from tests.conftest import keep_file
from tests.restore.states import ABSENT_FILE, entry, file
from tests.store.test_pack import packs


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store.open(tmp_path / "store")


def writes(store: Store, data: list[bytes]) -> list[Step]:
    """A WRITE step bringing back each of `data`, kept in one pack of `store`."""
    with ContentWriter(store.contents) as writer:
        blobs = [writer.keep_bytes(content) for content in data]
    steps = []
    for number, (blob, content) in enumerate(zip(blobs, data, strict=True)):
        want = file(blob, size=len(content))
        steps.append(Step(Action.WRITE, Target(entry(f"f{number}", want, ABSENT_FILE),
                                               want, ABSENT_FILE), ABSENT_FILE))
    return steps


def written(contents: Contents, step: Step, where: Path) -> bytes:
    fd = os.open(where, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        contents.write(step.target.entry, step.target.want, fd)
    finally:
        os.close(fd)
    return where.read_bytes()


def test_checked_contents_are_written_as_checked(store: Store, tmp_path: Path) -> None:
    data = [b"content %d\n" % number * (number + 1) for number in range(50)]
    steps = writes(store, data)
    [pack] = packs(store)
    with Contents(store) as contents:
        assert contents.verify(steps) == {}
        pack.chmod(0o600)
        pack.write_bytes(b"\0" * pack.stat().st_size)
        assert [written(contents, step, tmp_path / "out") for step in steps] == data


def test_a_second_path_naming_a_checked_content_with_another_size_is_refused(
        store: Store) -> None:
    """The content is read and checked once, for the first path naming it; every other
    path naming it must have recorded its size too (a hostile manifest's would not)."""
    [good, bad] = writes(store, [b"good\n", b"bad\n"])
    other = FileState(exists=True, type="file", mode=0o100644, size=4, mtime_ns=1, uid=0,
                      blob=good.target.want.blob, blob_source="store")
    lying = Step(Action.WRITE, Target(bad.target.entry, other, ABSENT_FILE), ABSENT_FILE)
    with Contents(store) as contents, pytest.raises(UntrustedRunError, match="does not match"):
        contents.verify([good, lying])
    with Contents(store) as contents:
        assert contents.verify([good, bad, good]) == {}


@pytest.mark.parametrize("size", [LARGE_CONTENT, 5])
def test_a_content_without_a_recorded_size_is_refused(
        store: Store, tmp_path: Path, size: int) -> None:
    """Whole and checked is not enough: a path naming a content must record its size
    (trust.check_manifest refuses such a run first; a large one was written empty)."""
    source = tmp_path / "source"
    source.write_bytes(b"x" * size)
    blob = keep_file(store, source)
    unsized = FileState(exists=True, type="file", mode=0o100644, size=None, mtime_ns=1,
                        uid=0, blob=blob, blob_source="store")
    step = Step(Action.WRITE, Target(entry("f", unsized, ABSENT_FILE), unsized, ABSENT_FILE),
                ABSENT_FILE)
    with Contents(store) as contents, pytest.raises(UntrustedRunError, match="does not match"):
        contents.verify([step])
