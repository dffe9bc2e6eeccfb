"""`cowsnap check` on real stores: every kind of damage found, every problem listed."""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from cowsnap.cli import main
from cowsnap.model import dump_manifest
from cowsnap.store.check import check_store
from cowsnap.store.content import LARGE_CONTENT
from cowsnap.store.seals import UNHASHED, read_seal, write_seal
from cowsnap.store.store import Store
from tests.conftest import keep_file, rewrite_manifest
from tests.lifecycle.conftest import flip_byte, git_blob_id, loose_path, publish, publish_blobs


def test_a_healthy_store_passes(store: Store, tmp_path: Path) -> None:
    publish(store, tmp_path, [b"one", b"two"])
    publish(store, tmp_path, [b"two", b"three"])
    report = check_store(store)
    assert report.ok and not report.warnings
    assert (report.runs, report.contents, report.verified_bytes) == (2, 3, 11)


def test_every_single_flipped_byte_of_a_loose_object_is_caught(store: Store,
                                                               tmp_path: Path) -> None:
    """Flipped bytes in the zlib stream either fail to inflate or change the bytes:
    both are damage, never a crash."""
    publish(store, tmp_path, [b"a small content, stored compressed\n"])
    path = loose_path(store, git_blob_id(b"a small content, stored compressed\n"))
    for offset in range(path.stat().st_size):
        flip_byte(path, offset)
        report = check_store(store)
        assert len(report.problems) == 1, offset
        assert report.problems[0].subject.startswith("content ")
        flip_byte(path, offset)
    assert check_store(store).ok


def _large_file(directory: Path) -> Path:
    big = directory / "big"
    big.write_bytes(os.urandom(1024 * 1024) * (LARGE_CONTENT // (1024 * 1024)))
    return big


def test_a_flipped_byte_in_a_large_raw_content_is_caught(store: Store, tmp_path: Path) -> None:
    blob = keep_file(store, _large_file(tmp_path))
    assert blob == git_blob_id((tmp_path / "big").read_bytes())
    publish_blobs(store, tmp_path, [(blob, LARGE_CONTENT)])
    assert check_store(store).ok
    flip_byte(store.root / store.contents.large_name(blob), LARGE_CONTENT // 2)
    [problem] = check_store(store).problems
    assert "does not match its id" in problem.problem


def test_a_cloned_large_content_is_sealed_by_the_run_that_stored_it(xfs_dir: Path) -> None:
    """Damage before any check is caught: the writer hashes its clones when it closes,
    so no first reader ever seals a flipped byte as good (issue 10, item 7)."""
    store = Store.open(xfs_dir / "store")
    blob = keep_file(store, _large_file(xfs_dir))
    assert blob.startswith("large-"), "cloned on XFS, not hashed while kept"
    assert read_seal(store.directory, blob) == git_blob_id((xfs_dir / "big").read_bytes())
    publish_blobs(store, xfs_dir, [(blob, LARGE_CONTENT)])
    flip_byte(store.root / store.contents.large_name(blob), 0)
    report = check_store(store)
    assert report.sealed == 0
    [problem] = report.problems
    assert "does not match its id or seal" in problem.problem


def test_a_clone_left_unhashed_is_sealed_by_its_first_check(xfs_dir: Path) -> None:
    """A store written before clones were hashed at once: its first check seals them."""
    store = Store.open(xfs_dir / "store")
    blob = keep_file(store, _large_file(xfs_dir))
    write_seal(store.directory, blob, UNHASHED)
    publish_blobs(store, xfs_dir, [(blob, LARGE_CONTENT)])
    first = check_store(store)
    assert first.ok and first.sealed == 1
    assert read_seal(store.directory, blob) == git_blob_id((xfs_dir / "big").read_bytes())
    assert check_store(store).sealed == 0


def test_missing_contents_and_broken_runs_are_all_listed(store: Store, tmp_path: Path) -> None:
    intact = publish(store, tmp_path, [b"intact"])
    missing = publish(store, tmp_path, [b"will vanish"])
    loose_path(store, git_blob_id(b"will vanish")).unlink()
    unparsable = publish(store, tmp_path, [b"x"])
    (store.runs.published / unparsable / "manifest.json").write_text("{not json")
    lying = publish(store, tmp_path, [b"y"])
    manifest = store.runs.load(lying)
    altered = dataclasses.replace(manifest, exit_status=3)
    rewrite_manifest(store.runs.published / lying / "manifest.json", dump_manifest(altered))
    report = check_store(store)
    subjects = sorted(problem.subject for problem in report.problems)
    assert subjects == sorted([f"content {git_blob_id(b'will vanish')}",
                               f"run {unparsable}", f"run {lying}"])
    text = {problem.subject: problem.problem for problem in report.problems}
    assert missing in text[f"content {git_blob_id(b'will vanish')}"]
    assert "disagrees with its manifest" in text[f"run {lying}"]
    assert intact not in " ".join(text.values())


def test_a_content_whose_size_disagrees_with_its_manifest_is_a_warning(
        store: Store, tmp_path: Path) -> None:
    blob = store.contents.put_bytes(b"12345")
    publish_blobs(store, tmp_path, [(blob, 6)])
    report = check_store(store)
    assert report.ok
    [warning] = report.warnings
    assert warning.problem.startswith("holds 5 bytes, the manifest says 6: the file changed")


def test_a_clean_tracked_file_gone_from_its_repository_is_a_warning(
        store: Store, tmp_path: Path) -> None:
    run_id = publish(store, tmp_path, [b"tracked"])
    manifest = store.runs.load(run_id)
    entry = manifest.files[0]
    missing = "0" * 40
    moved = dataclasses.replace(
        entry, after=dataclasses.replace(entry.after, blob=missing, blob_source="git"),
        git=dataclasses.replace(entry.git, in_repo=True, root=str(tmp_path)))
    rewrite_manifest(store.runs.published / run_id / "manifest.json",
                     dump_manifest(dataclasses.replace(manifest, files=(moved,))))
    report = check_store(store)
    assert report.ok
    assert [warning.subject for warning in report.warnings] == [f"content {missing}"]


@pytest.mark.usefixtures("isolated_home")
def test_cli_exits_1_listing_damage_and_0_when_intact(store: Store, tmp_path: Path) -> None:
    publish(store, tmp_path, [b"fine"])
    runner = CliRunner()
    args = ["check", "--store", str(store.root), "--workspace", str(tmp_path)]
    result = runner.invoke(main, args)
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [
        f"checked 1 run and the 1 content they reference, in the store or in git "
        f"repositories (4 B read) in {store.root}", "no damage found"]
    damaged = publish(store, tmp_path, [b"damaged"])
    flip_byte(loose_path(store, git_blob_id(b"damaged")), 5)
    result = runner.invoke(main, args)
    assert result.exit_code == 1
    lines = result.output.splitlines()
    assert any(line.startswith(f"damaged: content {git_blob_id(b'damaged')}: ")
               and damaged in line for line in lines)
    assert lines[-1].startswith(f"cowsnap: error: the store {store.root} is damaged: 1 problem")
    result = runner.invoke(main, [*args, "--json"])
    assert result.exit_code == 1
    document = json.loads(result.output[:result.output.rindex("}") + 1])
    assert document["ok"] is False and len(document["problems"]) == 1


@pytest.mark.usefixtures("isolated_home")
def test_cli_without_a_store_is_one_line(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["check", "--store", str(tmp_path / "none"),
                                       "--workspace", str(tmp_path)])
    assert result.exit_code == 1
    assert result.output == f"cowsnap: error: no cowsnap store at {tmp_path / 'none'}\n"


def test_check_creates_no_snapshot_directory_where_there_was_none(
        small_filesystem: Path, isolated_home: Path) -> None:
    workspace = small_filesystem / "workspace"
    workspace.mkdir()
    store = Store.open(small_filesystem / "store")
    publish(store, workspace, [b"x"])
    def outside_the_store() -> list[Path]:
        return sorted(path for path in small_filesystem.rglob("*")
                      if store.root not in (path, *path.parents))

    before = outside_the_store()
    result = CliRunner().invoke(main, ["check", "--store", str(store.root),
                                       "--workspace", str(workspace)])
    assert result.exit_code == 0, result.output
    assert outside_the_store() == before
    assert not (isolated_home / ".cache").exists()


def test_a_run_directory_named_with_control_characters_is_listed_escaped(
        store: Store, tmp_path: Path) -> None:
    """A bundle's runs/ may hold any name: check listed it raw, escape sequence and all."""
    publish(store, tmp_path, [b"one"])
    (store.root / "runs" / "R\x1b]0;owned\x07\r").mkdir()
    result = CliRunner().invoke(main, ["check", "--store", str(store.root), "--workspace",
                                       str(tmp_path)])
    assert result.exit_code == 1, result.output
    assert "\x1b" not in result.output and "\x07" not in result.output
    assert "damaged: run R\\x1b]0;owned\\x07\\x0d: " in result.output
