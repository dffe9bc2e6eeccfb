"""Git context on real repositories, isolated from a hostile user configuration."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pygit2
import pytest
from pygit2.enums import ConfigLevel
from record_support import git, make_recorder, make_repository, play, run_facts

from cowsnap.gitlib.config import isolated_config
from cowsnap.gitlib.context import GitContext
from cowsnap.gitlib.worktree import discover_worktree_root
from cowsnap.model import Operation
from cowsnap.record.policy import GitFacts
from cowsnap.store.bundle import export_bundle
from cowsnap.store.store import Store


@pytest.fixture
def repository(workspace: Path) -> dict[str, Path]:
    return make_repository(workspace)


@pytest.fixture
def hostile_global_config(tmp_path: Path) -> Iterator[Path]:
    """A user whose global git configuration ignores every file and breaks status."""
    home = tmp_path / "hostile-home"
    home.mkdir()
    (home / "ignore-all").write_text("*\n")
    (home / ".gitconfig").write_text(
        f"[core]\n\texcludesFile = {home / 'ignore-all'}\n\tfsmonitor = /bin/false\n"
        "[status]\n\tshowUntrackedFiles = no\n[include]\n\tpath = /nonexistent/x\n"
    )
    saved = pygit2.settings.search_path[ConfigLevel.GLOBAL]
    pygit2.settings.search_path[ConfigLevel.GLOBAL] = str(home)
    try:
        yield home
    finally:
        pygit2.settings.search_path[ConfigLevel.GLOBAL] = saved


def facts(context: GitContext, path: Path) -> GitFacts | None:
    return context.describe(os.fsencode(path))[1]


def test_each_state_is_told_apart(workspace: Path, repository: dict[str, Path]) -> None:
    context = GitContext()
    clean = facts(context, repository["clean.txt"])
    assert clean is not None and clean.tracked and not clean.dirty
    assert clean.blob == git(workspace, "hash-object", "clean.txt")
    assert facts(context, repository["dirty.txt"]) == GitFacts(True, True, False, None)
    assert facts(context, repository["untracked.txt"]) == GitFacts(False, False, False, None)
    assert facts(context, repository["ignored.log"]) == GitFacts(False, False, True, None)
    assert facts(context, workspace / ".git" / "HEAD") is None
    info, _ = context.describe(os.fsencode(repository["clean.txt"]))
    assert info.root == str(workspace) and info.relative_path == "clean.txt"
    assert info.head == git(workspace, "rev-parse", "HEAD")
    [status] = context.repositories()
    assert status.dirty and status.summary().root == str(workspace)


def test_status_is_computed_once_per_repository(
    workspace: Path, repository: dict[str, Path]
) -> None:
    context = GitContext()
    first = context.status_for(os.fsencode(repository["clean.txt"]))
    (workspace / "later.txt").write_text("x")
    assert all(context.status_for(os.fsencode(path)) is first for path in repository.values())
    assert facts(context, workspace / "later.txt") == GitFacts(False, False, False, None)
    assert facts(GitContext(), workspace / "later.txt") == GitFacts(False, False, False, None)


def test_outside_any_repository(tmp_path: Path) -> None:
    assert GitContext().describe(os.fsencode(tmp_path / "nothing" / "here"))[1] is None


def test_hostile_global_configuration_is_ignored(
    workspace: Path, repository: dict[str, Path], hostile_global_config: Path
) -> None:
    bare_view = pygit2.Repository(str(workspace))
    assert bare_view.path_is_ignored("untracked.txt"), "the hostile config should bite"

    assert facts(GitContext(), repository["untracked.txt"]) == GitFacts(False, False, False, None)
    assert discover_worktree_root(workspace) == workspace
    with isolated_config():
        assert pygit2.settings.search_path[ConfigLevel.GLOBAL] != str(hostile_global_config)
    assert pygit2.settings.search_path[ConfigLevel.GLOBAL] == str(hostile_global_config)


def test_recorder_uses_git_before_and_after_the_run(
    workspace: Path, store: Store, tmp_path: Path, repository: dict[str, Path]
) -> None:
    head_before = git(workspace, "rev-parse", "HEAD")
    clean_blob = git(workspace, "hash-object", "clean.txt")
    recorder, _ = make_recorder(workspace, store, tmp_path / "snap")
    play(recorder, Operation.READ, repository["untracked.txt"])
    play(recorder, Operation.READ, repository["ignored.log"])
    play(recorder, Operation.READ, repository["dirty.txt"])
    play(recorder, Operation.READ, repository[".gitignore"])
    play(recorder, Operation.WRITE, repository["clean.txt"],
         lambda: repository["clean.txt"].write_text("edited\n"))

    def commit() -> None:
        git(workspace, "commit", "-q", "-am", "second")

    play(recorder, Operation.WRITE, workspace / ".git" / "index", commit)
    manifest = recorder.finish(run_facts())

    [repo] = manifest.git_repositories
    assert repo.head_before == head_before and repo.dirty_before is True
    assert repo.head == git(workspace, "rev-parse", "HEAD") != head_before
    assert repo.dirty is False

    clean = manifest.entry(os.fsencode(repository["clean.txt"]))
    assert clean is not None
    assert clean.before.blob == clean_blob and clean.before.blob_source == "store", \
        "the run changed it: kept whatever becomes of the repository's objects"
    assert store.read(clean_blob) == b"clean\n"
    assert clean.after.blob_source == "git", "committed by the run, so clean afterwards"
    assert clean.git.tracked and not clean.git.dirty and clean.git.head == repo.head

    def kept(name: str) -> str | None:
        found = manifest.entry(os.fsencode(repository[name]))
        assert found is not None
        return found.before.blob

    assert kept("untracked.txt") is not None
    assert kept("dirty.txt") is not None
    assert kept("ignored.log") is None
    assert kept(".gitignore") is None
    index = manifest.entry(os.fsencode(workspace / ".git" / "index"))
    assert index is not None and not index.git.in_repo
    assert index.before.blob_source == "store"

    store.runs.begin(manifest.run_id).publish(manifest)
    bundle = export_bundle(store, manifest.run_id, tmp_path / "bundle")
    committed = clean.after.blob
    assert committed is not None and not store.contents.has(committed)
    assert bundle.read(committed) == b"edited\n", "the bundle carries referenced git blobs"


def test_nested_repositories_and_missing_directories(
    workspace: Path, repository: dict[str, Path]
) -> None:
    inner = workspace / "vendor" / "inner"
    inner.mkdir(parents=True)
    git(inner, "init", "-q")
    (inner / "x").write_text("x")
    context = GitContext()
    info, inner_facts = context.describe(os.fsencode(inner / "x"))
    assert info.root == str(inner) and info.relative_path == "x"
    assert inner_facts == GitFacts(False, False, False, None)
    outer, _ = context.describe(os.fsencode(workspace / "gone" / "deeper" / "file"))
    assert outer.root == str(workspace) and outer.relative_path == "gone/deeper/file"
    assert len(context.repositories()) == 2


def test_a_broken_repository_is_a_warning_not_a_crash(
    workspace: Path, store: Store, tmp_path: Path, repository: dict[str, Path]
) -> None:
    (workspace / ".git" / "index").write_bytes(b"DIRC garbage")
    recorder, _ = make_recorder(workspace, store, tmp_path / "snap")
    play(recorder, Operation.WRITE, repository["clean.txt"],
         lambda: repository["clean.txt"].write_text("edited\n"))
    manifest = recorder.finish(run_facts())
    [warning] = manifest.warnings
    assert warning.startswith(f"git status of {workspace} failed")
    clean = manifest.entry(os.fsencode(repository["clean.txt"]))
    assert clean is not None and not clean.git.in_repo
    assert clean.before.blob_source == "store"


def test_worktree_root_of_subdirectories_linked_worktrees_and_none(
    workspace: Path, repository: dict[str, Path], tmp_path: Path
) -> None:
    (workspace / "sub" / "deeper").mkdir(parents=True)
    assert discover_worktree_root(workspace / "sub" / "deeper") == workspace
    assert discover_worktree_root(workspace / ".git" / "refs") == workspace
    linked = tmp_path / "linked"
    git(workspace, "worktree", "add", "-q", str(linked))
    (linked / "inner").mkdir()
    assert discover_worktree_root(linked / "inner") == linked
    stray = tmp_path / "stray"
    (stray / ".git").mkdir(parents=True)
    assert discover_worktree_root(stray) != stray, "a .git without HEAD is no repository"
