"""Checks on untrusted manifests (paths, states, values) before anything is written, and
what a run not recorded here by this user may do."""

from __future__ import annotations

import dataclasses
import os

import pytest

from cowsnap.errors import UntrustedRunError
from cowsnap.model import (
    NOT_IN_REPO,
    FileEntry,
    FileState,
    GitInfo,
    Manifest,
    Operation,
    Version,
)
from cowsnap.restore.trust import (
    OUTSIDE,
    Confined,
    TrustOptions,
    check_manifest,
    confine,
    path_problem,
    state_problem,
    workspace_problem,
)
from tests.restore.states import BLOB_A, file, manifest, symlink


@pytest.mark.parametrize(("path", "problem"), [
    (b"/ws/a", None),
    (b"ws/a", "is not absolute"),
    (b"//ws/a", "is not absolute"),
    (b"/ws/../etc/passwd", "is not normalised"),
    (b"/ws/./a", "is not normalised"),
    (b"/ws//a", "is not normalised"),
    (b"/ws/a/", "is not normalised"),
    (b"/ws/a/.", "is not normalised"),
    (b"/ws/a/..", "is not normalised"),
    (b"/ws/.a/..b/...", None),
    (b"/", None),
    (b"/ws/a//", "is not normalised"),
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
    (dataclasses.replace(file(), size=None), "names a content but records no size"),
    (dataclasses.replace(file(blob=None), size=None), None),
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


def _linked_to(outside: bytes) -> FileEntry:
    linked = dataclasses.replace(file(), links=(outside,))
    return dataclasses.replace(_entry(b"/ws/a", True), before=linked, after=linked)


def test_links_name_only_workspace_paths_and_outside_paths_the_run_recorded() -> None:
    check_manifest(manifest(_linked_to(b"/tmp/x"), _entry(b"/tmp/x", False)))
    with pytest.raises(UntrustedRunError, match="before-state links to a name that is "
                                                "neither a workspace path nor one the run"):
        check_manifest(manifest(_linked_to(b"/etc/shadow"), _entry(b"/tmp/x", False)))


def _confine(run: Manifest, *, recorded_here: bool = False, outside: bool = False,
             same_owner: bool = False, workspace: bytes = b"/home/me/ws") -> Confined:
    return confine(run, TrustOptions(recorded_here=recorded_here, workspace=workspace,
                                     store_root=b"/home/me/.local/share/cowsnap",
                                     outside=outside, same_owner=same_owner))


def _setuid_run() -> Manifest:
    owned = dataclasses.replace(file(mode=0o104755), uid=4321)
    return dataclasses.replace(
        manifest(FileEntry(path=b"/ws/a", operations=(Operation.WRITE,), before=owned,
                           after=file()),
                 _entry(b"/tmp/x", False)), uid=os.geteuid())


def test_an_untrusted_run_is_remapped_and_loses_its_outside_paths() -> None:
    confined = _confine(_setuid_run())
    assert confined.manifest.workspace == "/home/me/ws"
    assert [entry.path for entry in confined.manifest.files] == [b"/home/me/ws/a"]
    assert confined.skipped == ((b"/tmp/x", OUTSIDE),)
    before = confined.manifest.files[0].before
    assert (before.mode, before.uid, confined.owners) == (0o100755, None, False)


def test_outside_paths_and_owners_only_when_asked() -> None:
    confined = _confine(_setuid_run(), outside=True, same_owner=True)
    assert [entry.path for entry in confined.manifest.files] == [b"/home/me/ws/a", b"/tmp/x"]
    before = confined.manifest.files[0].before
    assert (before.mode, before.uid, confined.owners) == (0o104755, 4321, True)


def test_an_untrusted_run_keeps_links_to_outside_paths_only_when_restoring_them() -> None:
    run = manifest(_linked_to(b"/tmp/x"), _entry(b"/tmp/x", False))
    [inside] = _confine(run).manifest.files
    assert inside.before.links == inside.after.links == ()
    inside, _outside = _confine(run, outside=True).manifest.files
    assert (inside.path, inside.before.links) == (b"/home/me/ws/a", (b"/tmp/x",))


def test_the_users_own_run_is_left_as_recorded() -> None:
    run = _setuid_run()
    confined = _confine(run, recorded_here=True)
    assert (confined.manifest, confined.skipped, confined.owners) == (run, (), True)


def test_a_run_recorded_here_by_another_uid_keeps_paths_but_not_owners() -> None:
    run = dataclasses.replace(_setuid_run(), uid=os.geteuid() + 1)
    confined = _confine(run, recorded_here=True)
    assert [entry.path for entry in confined.manifest.files] == [b"/tmp/x", b"/ws/a"]
    assert confined.manifest.files[1].before.mode == 0o100755
    assert not confined.owners


@pytest.mark.parametrize(("workspace", "problem"), [
    (b"/", "is /"),
    (b"/home", "holds the store /home/me/.local/share/cowsnap"),
    (b"/var", "holds the system directory /var/lib"),
    (b"/etc/cron.d", "is or lies inside the system directory /etc"),
    (b"/usr", "is or lies inside the system directory /usr"),
    (b"/home/me/ws", None),
    (b"/var/tmp/ws", None),
])
def test_workspaces_an_untrusted_run_may_not_use(workspace: bytes, problem: str | None) -> None:
    assert workspace_problem(workspace, b"/home/me/.local/share/cowsnap") == problem


def test_a_workspace_holding_the_origin_key_is_refused() -> None:
    assert workspace_problem(b"/home/me", b"/srv/store", b"/home/me/.local/state/cowsnap") \
        == "holds cowsnap's origin key directory /home/me/.local/state/cowsnap"
    assert workspace_problem(b"/home/me/ws", b"/srv/store",
                             b"/home/me/.local/state/cowsnap") is None


def test_values_that_would_overflow_a_syscall_are_refused() -> None:
    assert state_problem(file(mtime=10**30)) == f"has an impossible mtime_ns {10**30}"
    assert state_problem(dataclasses.replace(file(), uid=-5)) == "has an impossible uid -5"
    assert state_problem(dataclasses.replace(file(), uid=2**32 - 1)) is not None
    assert state_problem(file(size=2**63)) is not None
    with pytest.raises(UntrustedRunError, match="impossible uid -1"):
        check_manifest(dataclasses.replace(manifest(), uid=-1))


def test_a_path_may_appear_once() -> None:
    with pytest.raises(UntrustedRunError, match="path '/ws/a' appears twice"):
        check_manifest(manifest(_entry(b"/ws/a", True), _entry(b"/ws/a", True)))


@pytest.mark.parametrize(("size", "blob", "problem"), [
    (3, BLOB_A, None),
    (None, None, None),
    (-1, BLOB_A, "version 1 has an impossible size -1"),
    (2**63, BLOB_A, "version 1 has an impossible size"),
    (3, "../../etc/passwd", "version 1 refers to a malformed content id"),
    (None, BLOB_A, "version 1 names a content but records no size"),
])
def test_intermediate_versions_are_checked_too(size: int | None, blob: str | None,
                                               problem: str | None) -> None:
    version = Version(number=1, time="2026-01-01T00:00:00Z", trigger="close", pid=1,
                      exe=None, comm=None, size=size, blob=blob)
    entry = dataclasses.replace(_entry(b"/ws/a", True), versions=(version,))
    if problem is None:
        check_manifest(manifest(entry))
    else:
        with pytest.raises(UntrustedRunError, match=problem):
            check_manifest(manifest(entry))


def test_a_confined_entry_changes_in_the_confined_fields_only() -> None:
    """Every other field of an entry and its states (versions, renames, times, contents,
    tombstones) comes through confinement as recorded."""
    before = dataclasses.replace(file(mode=0o104755), gid=5, xattrs=(("user.a", b"x"),),
                                 links=(b"/ws/b", b"/tmp/out"), not_captured="unreadable")
    entry = FileEntry(
        path=b"/ws/a", operations=(Operation.WRITE, Operation.RENAME), before=before,
        after=FileState(exists=False, tombstone=True),
        git=GitInfo(in_repo=True, root="/ws", head="ab" * 20, relative_path="a",
                    tracked=True, dirty=False, ignored=False),
        versions=(Version(1, "t", "close", 5, "/bin/x", "x", 3, BLOB_A),),
        renamed_from=b"/ws/z", renamed_to=b"/ws/y")
    run = dataclasses.replace(manifest(entry, _entry(b"/tmp/out", False)),
                              uid=os.geteuid() + 1)
    confined = confine(run, TrustOptions(recorded_here=False, workspace=b"/v"))
    assert confined.manifest.files == (dataclasses.replace(
        entry, path=b"/v/a", git=NOT_IN_REPO, before=dataclasses.replace(
            before, mode=0o100755, uid=None, gid=None, xattrs=None, links=(b"/v/b",))),)
    assert confine(run, TrustOptions(recorded_here=True)).manifest.entry(b"/ws/a") == (
        dataclasses.replace(entry, before=dataclasses.replace(
            before, mode=0o100755, uid=None, gid=None, xattrs=None)))
