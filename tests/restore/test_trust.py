"""Checks on untrusted manifests: paths and states, before anything is written."""

from __future__ import annotations

import dataclasses

import pytest

from cowsnap.errors import UntrustedRunError
from cowsnap.model import FileEntry, FileState, Operation
from cowsnap.restore.trust import check_manifest, path_problem, state_problem
from tests.restore.states import file, manifest, symlink


@pytest.mark.parametrize(("path", "problem"), [
    (b"/ws/a", None),
    (b"ws/a", "is not absolute"),
    (b"//ws/a", "is not absolute"),
    (b"/ws/../etc/passwd", "is not normalised"),
    (b"/ws/./a", "is not normalised"),
    (b"/ws//a", "is not normalised"),
    (b"/ws/a/", "is not normalised"),
    (b"/ws/\x00a", "holds a NUL byte"),
])
def test_paths_must_be_absolute_and_normalised(path: bytes, problem: str | None) -> None:
    assert path_problem(path) == problem


@pytest.mark.parametrize(("state", "problem"), [
    (file(), None),
    (FileState(exists=False), None),
    (dataclasses.replace(file(), type="socket"), "has an unknown type 'socket'"),  # type: ignore[arg-type]
    (file(mode=0o40755), "has a mode that is not a file's"),
    (symlink(b""), "is a symlink without a valid target"),
    (symlink(b"a\x00b"), "is a symlink without a valid target"),
    (file(blob="../../etc/passwd"), "refers to a malformed content id '../../etc/passwd'"),
    (dataclasses.replace(file(), blob_source="http"),  # type: ignore[arg-type]
     "has an unknown content source 'http'"),
])
def test_states_must_be_coherent(state: FileState, problem: str | None) -> None:
    assert state_problem(state) == problem


def _entry(path: bytes, in_workspace: bool) -> FileEntry:
    return FileEntry(path=path, operations=(Operation.WRITE,), before=file(), after=file(),
                     in_workspace=in_workspace)


def test_in_workspace_flag_must_match_the_path() -> None:
    check_manifest(manifest(_entry(b"/ws/a", True), _entry(b"/tmp/x", False)))
    with pytest.raises(UntrustedRunError, match="outside the workspace but recorded inside"):
        check_manifest(manifest(_entry(b"/etc/passwd", True)))
    with pytest.raises(UntrustedRunError, match="inside the workspace but recorded outside"):
        check_manifest(manifest(_entry(b"/ws/a", False)))


def test_a_bad_state_names_its_side_and_path() -> None:
    bad = dataclasses.replace(_entry(b"/ws/a", True), after=file(mode=0o120777))
    with pytest.raises(UntrustedRunError,
                       match=r"path '/ws/a' after-state has a mode that is not a file's"):
        check_manifest(manifest(bad))


def test_the_workspace_itself_must_be_normalised() -> None:
    with pytest.raises(UntrustedRunError, match="its workspace is not normalised"):
        check_manifest(dataclasses.replace(manifest(), workspace="/ws/../etc"))
