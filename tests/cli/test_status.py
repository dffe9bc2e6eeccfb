"""`cowsnap status`: human text and stable JSON."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from cowsnap.cli import main
from cowsnap.trace.choice import choose as choose_tracer

pytestmark = pytest.mark.usefixtures("isolated_home")


def test_json_names_workspace_store_and_every_backend(ext4_dir: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["status", "--json", "--workspace", str(ext4_dir),
                                       "--store", str(tmp_path / "store")])
    assert result.exit_code == 0, result.output
    document = json.loads(result.output)
    assert document["workspace"] == str(ext4_dir)
    assert document["store"] == str(tmp_path / "store")
    assert document["backend"] == "copy"
    assert [item["name"] for item in document["backends"]] == ["btrfs", "reflink", "copy"]
    assert [item["available"] for item in document["backends"]] == [False, False, True]
    assert document["backends"][0]["reason"] == f"{ext4_dir} is on ext4, not btrfs"


def test_text_shows_the_auto_choice(xfs_dir: Path, isolated_home: Path) -> None:
    result = CliRunner().invoke(main, ["status", "--workspace", str(xfs_dir)])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == f"workspace: {xfs_dir}"
    assert lines[1] == f"store:     {isolated_home / '.local' / 'share' / 'cowsnap'}"
    assert lines[2] == "backend:   reflink"
    assert lines[4].startswith("  btrfs    unavailable: ")
    assert lines[5] == "  reflink  available: reflink copies work on xfs"
    tracer = choose_tracer()
    assert lines[7] == f"tracer:    {tracer.name} ({tracer.reason})"


def test_the_workspace_defaults_to_the_current_directory(
        ext4_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ext4_dir)
    result = CliRunner().invoke(main, ["status", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["workspace"] == str(ext4_dir)


def test_a_missing_workspace_exits_1_with_one_line(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["status", "--workspace", str(tmp_path / "nope")])
    assert result.exit_code == 1
    assert result.output == f"cowsnap: error: workspace {tmp_path / 'nope'} does not exist\n"
