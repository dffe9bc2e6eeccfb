"""`cowsnap run` end to end, on each backend's real filesystem, through the real CLI."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Cowsnap, btrfs_workspace, plain_workspace

NON_UTF8 = b"caf\xe9.txt"

SCENARIO = (
    "echo new > changed.txt; "
    "echo more >> appended.txt; "
    "rm deleted.txt; "
    "mv old-name.txt new-name.txt; "
    "mkdir -p made/deeper; echo x > made/deeper/file.txt; "
    "ln -s changed.txt link; "
    "chmod 600 mode.txt; "
    "cat read.txt > /dev/null; "
    "printf data > \"$(printf 'caf\\351.txt')\"; "
    "echo temp > temp.txt; rm temp.txt"
)


def populate(workspace: Path) -> None:
    for name, text in {"changed.txt": "old\n", "appended.txt": "start\n",
                       "deleted.txt": "bye\n", "old-name.txt": "moving\n",
                       "mode.txt": "m\n", "read.txt": "input\n"}.items():
        (workspace / name).write_text(text)
    os.chmod(workspace / "mode.txt", 0o644)
    subprocess.run(["sync"], check=True)


def manifest_of(cowsnap: Cowsnap, workspace: Path, run: str | None = None) -> dict[str, Any]:
    args = ["show", "--json"] + ([run] if run else [])
    return json.loads(cowsnap(*args, cwd=workspace).stdout)


def entries(manifest: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {entry["path"]: entry for entry in manifest["files"]}


def test_scenario_is_recorded_exactly(cowsnap: Cowsnap,
                                      backend_workspace: tuple[str, Path]) -> None:
    backend, workspace = backend_workspace
    populate(workspace)
    result = cowsnap("run", "--backend", backend, "--", "sh", "-c", SCENARIO, cwd=workspace)
    assert b"cowsnap: run " in result.stderr
    manifest = manifest_of(cowsnap, workspace)
    assert f"undo it with: cowsnap restore {manifest['run_id']}".encode() in result.stderr
    assert manifest["schema"] == "cowsnap.manifest/1"
    assert manifest["backend"] == backend
    assert manifest["exit_status"] == 0
    assert manifest["workspace"] == str(workspace)
    paths = [entry["path"] for entry in manifest["files"]]
    assert paths == sorted(paths)
    files = entries(manifest)
    ws = str(workspace)

    changed = files[f"{ws}/changed.txt"]
    assert "write" in changed["operations"]
    assert changed["before"]["exists"] and changed["after"]["exists"]
    assert changed["before"]["blob"] and changed["after"]["blob"]
    assert changed["before"]["blob"] != changed["after"]["blob"]

    deleted = files[f"{ws}/deleted.txt"]
    assert "delete" in deleted["operations"]
    assert deleted["before"]["blob"]
    assert deleted["after"]["exists"] is False and deleted["after"]["tombstone"] is True

    assert "rename" in files[f"{ws}/old-name.txt"]["operations"]
    assert files[f"{ws}/old-name.txt"]["after"]["exists"] is False
    assert files[f"{ws}/new-name.txt"]["before"]["exists"] is False
    assert files[f"{ws}/new-name.txt"]["after"]["exists"] is True

    assert "mkdir" in files[f"{ws}/made"]["operations"]
    assert files[f"{ws}/made/deeper"]["after"]["type"] == "directory"
    link = files[f"{ws}/link"]
    assert link["after"]["type"] == "symlink" and link["after"]["target"] == "changed.txt"

    mode = files[f"{ws}/mode.txt"]
    assert "metadata" in mode["operations"]
    assert mode["before"]["mode"] & 0o777 == 0o644 and mode["after"]["mode"] & 0o777 == 0o600

    assert files[f"{ws}/read.txt"]["operations"] == ["read"]
    temp = files[f"{ws}/temp.txt"]
    assert {"create", "delete"} <= set(temp["operations"])
    assert temp["before"]["exists"] is False and temp["after"]["exists"] is False

    odd = [entry for entry in manifest["files"] if entry.get("path_b64")]
    assert len(odd) == 1
    assert base64.b64decode(odd[0]["path_b64"]) == os.fsencode(ws) + b"/" + NON_UTF8

    before = cowsnap("cat", "changed.txt", "--before", cwd=workspace).stdout
    after = cowsnap("cat", "changed.txt", "--after", cwd=workspace).stdout
    assert (before, after) == (b"old\n", b"new\n")
    assert cowsnap("cat", "deleted.txt", "--before", cwd=workspace).stdout == b"bye\n"
    assert cowsnap("cat", os.fsdecode(NON_UTF8), cwd=workspace).stdout == b"data"


def normalised(manifest: dict[str, Any], workspace: Path) -> dict[str, Any]:
    """The manifest without what legitimately differs between backends."""
    text = json.dumps(manifest).replace(str(workspace), "<ws>")
    encoded = base64.b64encode(os.fsencode(workspace)).decode()
    data: dict[str, Any] = json.loads(text)
    for key in ("run_id", "backend", "started_at", "finished_at", "timings", "tool_version"):
        data.pop(key, None)
    for entry in data["files"]:
        if "path_b64" in entry:
            raw = base64.b64decode(entry["path_b64"])
            entry["path_b64"] = raw.replace(os.fsencode(workspace), b"<ws>").hex()
        for side in ("before", "after"):
            entry[side].pop("mtime_ns", None)
            if entry[side].get("type") == "directory":
                entry[side].pop("size", None)
    assert encoded not in json.dumps(data)
    return data


@pytest.mark.timeout(300)
def test_same_manifest_on_every_backend(cowsnap: Cowsnap, tmp_path: Path) -> None:
    seen = {}
    for backend, workspaces in (("btrfs", btrfs_workspace()),
                                ("reflink", plain_workspace("xfs")),
                                ("copy", plain_workspace("ext4"))):
        for workspace in workspaces:
            populate(workspace)
            cowsnap("run", "--backend", backend, "--", "sh", "-c", SCENARIO, cwd=workspace)
            seen[backend] = normalised(manifest_of(cowsnap, workspace), workspace)
    assert seen["btrfs"] == seen["reflink"] == seen["copy"]


@pytest.mark.parametrize(("script", "status"), [("exit 0", 0), ("exit 7", 7),
                                                 ("kill -9 $$", 137)])
def test_exit_status_is_the_commands(cowsnap: Cowsnap, tmp_path: Path, script: str,
                                     status: int) -> None:
    result = cowsnap("run", "--", "sh", "-c", script, cwd=tmp_path, check=False)
    assert result.returncode == status
    assert json.loads(cowsnap("show", "--json", cwd=tmp_path).stdout)["exit_status"] == status


def test_stdio_passes_through(cowsnap: Cowsnap, tmp_path: Path) -> None:
    result = subprocess.run(
        [*_cli(), "run", "--", "sh", "-c", "cat; echo out; echo err >&2"], cwd=tmp_path,
        env=cowsnap.env(), input=b"from stdin\n", capture_output=True, timeout=60)
    assert result.returncode == 0
    assert result.stdout == b"from stdin\nout\n"
    assert result.stderr.startswith(b"err\n")


def _cli() -> list[str]:
    return [sys.executable, "-m", "cowsnap"]


def test_command_not_found_exits_127_with_one_line(cowsnap: Cowsnap, tmp_path: Path) -> None:
    result = cowsnap("run", "--", "no-such-command-xyz", cwd=tmp_path, check=False)
    assert result.returncode == 127
    lines = result.stderr.decode().strip().splitlines()
    assert lines[-1].startswith("cowsnap: error: ")
    assert "no-such-command-xyz" in lines[-1]
    assert b"Traceback" not in result.stderr
    assert cowsnap("log", "--json", cwd=tmp_path).stdout.strip() == b"[]"


def test_outside_workspace_write_keeps_its_before_state(cowsnap: Cowsnap,
                                                          tmp_path: Path) -> None:
    workspace = tmp_path / "ws"
    workspace.mkdir()
    outside = tmp_path / "outside.txt"
    outside.write_text("outside before\n")
    cowsnap("run", "--workspace", str(workspace), "--", "sh", "-c",
            f"echo outside after > {outside}", cwd=workspace)
    manifest = manifest_of(cowsnap, workspace)
    entry = entries(manifest)[str(outside)]
    assert entry["in_workspace"] is False
    assert cowsnap("cat", str(outside), "--before", cwd=workspace).stdout == b"outside before\n"
    assert cowsnap("cat", str(outside), cwd=workspace).stdout == b"outside after\n"


def test_log_lists_newest_first_and_prefixes_resolve(cowsnap: Cowsnap, tmp_path: Path) -> None:
    for text in ("one", "two"):
        cowsnap("run", "--", "sh", "-c", f"echo {text} > f.txt", cwd=tmp_path)
    runs = json.loads(cowsnap("log", "--json", cwd=tmp_path).stdout)
    assert [run["command"][-1] for run in runs] == ["echo two > f.txt", "echo one > f.txt"]
    oldest = runs[1]["run_id"]
    assert manifest_of(cowsnap, tmp_path, oldest[:-1])["run_id"] == oldest
    assert cowsnap("cat", oldest, "f.txt", cwd=tmp_path).stdout == b"one\n"


def test_bundle_is_a_readable_store(cowsnap: Cowsnap, tmp_path: Path) -> None:
    bundle = tmp_path / "bundle"
    cowsnap("run", "--output", str(bundle), "--", "sh", "-c", "echo b > f.txt", cwd=tmp_path)
    result = subprocess.run([*_cli(), "cat", "--store", str(bundle), "f.txt"], cwd=tmp_path,
                            env=cowsnap.env(), capture_output=True, timeout=60, check=True)
    assert result.stdout == b"b\n"


@pytest.mark.parametrize("args", [
    ["show", "no-such-run"],
    ["cat", "no-such-run", "f.txt"],
    ["run", "--workspace", "/no/such/dir", "--", "true"],
    ["run", "--backend", "btrfs", "--", "true"],
    ["cat", "never-touched.txt"],
])
def test_bad_input_is_one_line_and_exit_1(cowsnap: Cowsnap, tmp_path: Path,
                                          args: list[str]) -> None:
    cowsnap("run", "--", "sh", "-c", "echo x > f.txt", cwd=tmp_path)
    result = cowsnap(*args, cwd=tmp_path, check=False)
    assert result.returncode == 1, result.stderr
    lines = result.stderr.decode().strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("cowsnap: error: "), lines


def test_unwritable_store_is_one_line(cowsnap: Cowsnap, tmp_path: Path) -> None:
    cowsnap.store.write_text("not a directory")
    result = cowsnap("run", "--", "true", cwd=tmp_path, check=False)
    assert result.returncode == 1
    assert result.stderr.decode().startswith("cowsnap: error: ")
    assert len(result.stderr.decode().strip().splitlines()) == 1


def test_corrupt_manifest_is_reported(cowsnap: Cowsnap, tmp_path: Path) -> None:
    cowsnap("run", "--", "sh", "-c", "echo x > f.txt", cwd=tmp_path)
    (manifest,) = cowsnap.store.glob("runs/*/manifest.json")
    manifest.write_text("{not json")
    result = cowsnap("show", cwd=tmp_path, check=False)
    assert result.returncode == 1
    assert "manifest" in result.stderr.decode()
    assert len(result.stderr.decode().strip().splitlines()) == 1
