"""Paths deeper than PATH_MAX, reached through directory fds: followed, never hanging."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from cowsnap.trace import choice
from tests.conftest import Cowsnap, btrfs_workspace, missing_environment

pytestmark = pytest.mark.timeout(120)

LEVEL = "L" * 200
DEPTH = 25
DESCEND = f"""
import os, sys
fd = os.open(sys.argv[1], os.O_RDONLY)
for _ in range({DEPTH}):
    try:
        os.mkdir({LEVEL!r}, dir_fd=fd)
    except FileExistsError:
        pass
    deeper = os.open({LEVEL!r}, os.O_RDONLY, dir_fd=fd)
    os.close(fd)
    fd = deeper
"""
REWRITE = DESCEND + """
out = os.open("deep", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644, dir_fd=fd)
os.write(out, sys.argv[2].encode())
"""
CHDIR = DESCEND + """
os.fchdir(fd)
os.stat(".")
with open("here", "w") as out:
    out.write("made in a deep cwd")
"""


@pytest.fixture(params=["native", "python"])
def btrfs(cowsnap: Cowsnap, request: pytest.FixtureRequest,
          monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A btrfs workspace, and the tracer `cowsnap run` uses (both, in turn)."""
    monkeypatch.setenv(choice.VARIABLE, request.param)
    if choice.choose().name != request.param:
        missing_environment(f"the {request.param} tracer is not available")
    yield from btrfs_workspace()


def deep_entries(cowsnap: Cowsnap, workspace: Path) -> dict[str, dict[str, object]]:
    manifest = json.loads(cowsnap("show", "--json", cwd=workspace).stdout)
    prefix = str(workspace / "/".join([LEVEL] * DEPTH)) + "/"
    return {e["path"][len(prefix):]: e for e in manifest["files"] if e["path"].startswith(prefix)}


def test_a_deep_file_rewritten_through_dirfds_keeps_its_before_state(
    cowsnap: Cowsnap, btrfs: Path
) -> None:
    cowsnap("run", "--", sys.executable, "-c", REWRITE, str(btrfs), "old", cwd=btrfs)
    cowsnap("run", "--", sys.executable, "-c", REWRITE, str(btrfs), "new!", cwd=btrfs)
    deep = deep_entries(cowsnap, btrfs)["deep"]
    assert deep["operations"] == ["write"]
    before, after = deep["before"], deep["after"]
    assert isinstance(before, dict) and isinstance(after, dict)
    assert (before["exists"], before["size"]) == (True, 3)
    assert (after["exists"], after["size"]) == (True, 4)


def test_a_cwd_deeper_than_path_max_does_not_hang_the_run(
    cowsnap: Cowsnap, btrfs: Path
) -> None:
    result = cowsnap("run", "--", sys.executable, "-c", CHDIR, str(btrfs), cwd=btrfs)
    assert result.returncode == 0
    here = deep_entries(cowsnap, btrfs)["here"]
    assert here["operations"] == ["create"]
