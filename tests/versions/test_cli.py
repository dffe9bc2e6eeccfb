"""`run --versions`, `versions` and `cat --version` through the real CLI."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from cowsnap import api
from cowsnap.cli.versions import versions_text
from cowsnap.model import Version
from tests.conftest import Cowsnap

WRITER = """
for text in ("first\\n", "second\\n", "third\\n"):
    with open("out.txt", "w") as handle:
        handle.write(text)
"""


def test_versions_listed_and_printed(cowsnap: Cowsnap, workspace: Path) -> None:
    ran = cowsnap("run", "--workspace", str(workspace), "--versions", "*.txt", "--versions",
                  "/nowhere/*", "--", sys.executable, "-c", WRITER, cwd=workspace)
    assert b"cowsnap: kept 3 versions of 1 file (see them with: cowsnap versions " in ran.stderr
    shown = cowsnap("show", cwd=workspace).stdout.decode()
    assert "versions:  *.txt /nowhere/*\n" in shown
    assert " out.txt  [write,create]  (3 versions)" in shown
    listing = cowsnap("versions", "out.txt", cwd=workspace).stdout.decode()
    lines = listing.splitlines()
    assert lines[0].endswith(" 3 versions of out.txt")
    assert [line.split()[0] for line in lines[1:4]] == ["1", "2", "3"]
    assert all(" close " in line and "python" in line for line in lines[1:4])
    assert lines[4].startswith("print one with: cowsnap cat ")

    document = json.loads(cowsnap("versions", "--json", "out.txt", cwd=workspace).stdout)
    assert document["globs"] == ["*.txt", "/nowhere/*"]
    assert document["path"] == f"{workspace}/out.txt"
    assert [item["size"] for item in document["versions"]] == [6, 7, 6]
    run_id = document["run_id"]

    second = cowsnap("cat", run_id, "out.txt", "--version", "2", cwd=workspace)
    assert second.stdout == b"second\n"
    assert cowsnap("cat", "out.txt", "--version", "3", cwd=workspace).stdout == b"third\n"

    missing = cowsnap("cat", "out.txt", "--version", "4", cwd=workspace, check=False)
    assert missing.returncode == 1
    assert b"no version 4 of" in missing.stderr and b"versions 1 to 3" in missing.stderr
    assert cowsnap("cat", "out.txt", "--version", "0", cwd=workspace,
                   check=False).returncode == 2
    both = cowsnap("cat", "out.txt", "--version", "1", "--before", cwd=workspace, check=False)
    assert both.returncode == 2


def test_a_run_without_versions_says_so(cowsnap: Cowsnap, workspace: Path) -> None:
    cowsnap("run", "--workspace", str(workspace), "--", sys.executable, "-c", WRITER,
            cwd=workspace)
    result = cowsnap("versions", "out.txt", cwd=workspace, check=False)
    assert result.returncode == 1
    assert b"was not recorded with --versions" in result.stderr


def test_a_bad_glob_is_refused_before_the_command_runs(cowsnap: Cowsnap,
                                                        workspace: Path) -> None:
    result = cowsnap("run", "--workspace", str(workspace), "--versions", "../*.txt", "--",
                     sys.executable, "-c", WRITER, cwd=workspace, check=False)
    assert result.returncode == 2
    assert b"use an absolute glob" in result.stderr
    assert not (workspace / "out.txt").exists()
    assert json.loads(cowsnap("log", "--json", "--workspace", str(workspace),
                              cwd=workspace).stdout) == []


def test_the_listing_points_out_repeated_contents() -> None:
    def version(number: int, blob: str | None, pid: int, why: str | None = None) -> Version:
        return Version(number=number, time="2026-11-21T09:00:00.000001Z", trigger="close",
                       pid=pid, exe="/bin/sh", comm="sh", size=1, blob=blob,
                       not_captured=why)

    listing = versions_text(api.Versions(
        run_id="r", path=b"/w/f", globs=("f",),
        versions=(version(1, "a" * 40, 10), version(2, "a" * 40, 11),
                  version(3, None, 11, "too large"), version(4, None, 12, "too large"))))
    lines = listing.splitlines()
    assert lines[0] == "run r: 4 versions of /w/f"
    assert lines[1].endswith("pid 10       sh (/bin/sh)")
    assert lines[2].endswith("[same content as 1]")
    assert lines[3].endswith("[not captured: too large]")
    assert lines[4].endswith("[not captured: too large]")
