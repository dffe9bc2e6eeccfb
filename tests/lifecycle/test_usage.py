"""`cowsnap status` shows the store's size, runs per workspace and the space saved by
deduplication."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from cowsnap.cli import main
from cowsnap.store.store import Store
from cowsnap.store.usage import store_usage, take_inventory
from tests.lifecycle.conftest import git_blob_id, loose_path, publish

SHARED = b"the same content, written in two workspaces" * 100


def test_usage_counts_shared_contents_once(store: Store, tmp_path: Path) -> None:
    one, two = tmp_path / "one", tmp_path / "two"
    one.mkdir()
    two.mkdir()
    publish(store, one, [SHARED, b"only one"])
    publish(store, one, [SHARED])
    publish(store, two, [SHARED])
    usage = store_usage(store, take_inventory(store))
    shared_size = loose_path(store, git_blob_id(SHARED)).stat().st_size
    assert usage.runs == 3 and usage.contents == 2
    assert usage.dedup_saved == 2 * shared_size
    assert usage.referenced_size == usage.contents_size + 2 * shared_size
    assert [(item.workspace, item.runs, item.exists) for item in usage.workspaces] == [
        (str(one), 2, True), (str(two), 1, True)]
    assert usage.size >= usage.contents_size + sum(
        path.stat().st_size for path in (store.root / "runs").rglob("*") if path.is_file())


@pytest.mark.usefixtures("isolated_home")
def test_status_text_and_json(store: Store, tmp_path: Path) -> None:
    here, gone = tmp_path / "here", tmp_path / "gone"
    here.mkdir()
    gone.mkdir()
    publish(store, here, [SHARED])
    publish(store, gone, [SHARED])
    shutil.rmtree(gone)
    args = ["status", "--store", str(store.root), "--workspace", str(here)]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    size_line = next(line for line in lines if line.startswith("store size: "))
    assert "; 2 runs; 1 content held in the store (" in size_line
    assert "deduplication saves " in size_line
    assert lines[-3:] == ["runs per workspace:", f"  1  {gone}  (no longer exists: "
                          "cowsnap prune --all removes its runs)", f"  1  {here}"]
    document = json.loads(CliRunner().invoke(main, [*args, "--json"]).output)
    assert document["usage"]["runs"] == 2 and document["usage"]["dedup_saved"] > 0
    assert document["usage_error"] is None


@pytest.mark.usefixtures("isolated_home")
def test_status_without_a_store_and_with_a_damaged_one(store: Store, tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["status", "--store", str(tmp_path / "none"),
                                       "--workspace", str(tmp_path)])
    assert result.output.splitlines()[-1] == "store size: no store yet"
    run_id = publish(store, tmp_path, [b"x"])
    (store.runs.published / run_id / "manifest.json").write_text("{")
    result = CliRunner().invoke(main, ["status", "--store", str(store.root),
                                       "--workspace", str(tmp_path)])
    assert result.exit_code == 0
    lines = result.output.splitlines()
    assert "; 1 run; 0 contents held in the store (" in lines[-2]
    assert lines[-1].startswith(f"damaged run {run_id} (cowsnap check lists the damage; "
                                f"cowsnap forget {run_id} removes it): ")
