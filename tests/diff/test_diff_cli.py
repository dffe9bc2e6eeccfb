"""`cowsnap diff` through the real CLI, on a real run."""

from __future__ import annotations

import json
import os
from pathlib import Path

from tests.conftest import Cowsnap

SCRIPT = ("printf 'one\\n2\\nthree\\n' > a.txt; printf '\\000bin' > b.bin; rm gone.txt; "
          "mkdir d; echo x > d/x.txt; chmod 755 run.sh; ln -sfn a.txt link")


def _recorded(cowsnap: Cowsnap, workspace: Path) -> None:
    (workspace / "a.txt").write_text("one\ntwo\nthree\n")
    (workspace / "gone.txt").write_text("bye\n")
    (workspace / "run.sh").write_text("#!/bin/sh\n")
    os.chmod(workspace / "run.sh", 0o644)
    cowsnap("run", "--", "sh", "-c", SCRIPT, cwd=workspace)


def test_plain_unified_diff_when_not_a_terminal(cowsnap: Cowsnap,
                                                ext4_workspace: Path) -> None:
    _recorded(cowsnap, ext4_workspace)
    out = cowsnap("diff", cwd=ext4_workspace).stdout
    assert b"\x1b[" not in out
    assert (b"diff --git a/a.txt b/a.txt\n--- a/a.txt\n+++ b/a.txt\n@@ -1,3 +1,3 @@\n"
            b" one\n-two\n+2\n three\n") in out
    assert b"Binary files a/b.bin and b/b.bin differ\n" in out
    assert b"diff --git a/gone.txt b/gone.txt\ndeleted file mode 100644\n" in out
    assert b"diff --git a/run.sh b/run.sh\nold mode 100644\nnew mode 100755\n" in out
    assert b"diff --git a/link b/link\nnew file mode 120000\n" in out


def test_stat_name_status_json_and_paths(cowsnap: Cowsnap, ext4_workspace: Path) -> None:
    _recorded(cowsnap, ext4_workspace)
    names = cowsnap("diff", "--name-status", cwd=ext4_workspace).stdout.decode().splitlines()
    assert names == ["M\ta.txt", "A\tb.bin", "A\td", "A\td/x.txt", "D\tgone.txt",
                     "A\tlink", "M\trun.sh"]
    stat = cowsnap("diff", "--stat", cwd=ext4_workspace).stdout.decode().splitlines()
    assert stat[0] == " a.txt    | 2 +-"
    assert stat[-1] == " 7 files changed, 3 insertions(+), 2 deletions(-)"
    document = json.loads(cowsnap("diff", "--json", "d", cwd=ext4_workspace).stdout)
    assert document["schema"] == "cowsnap.diff/1"
    assert [item["name"] for item in document["files"]] == ["d", "d/x.txt"]
    run = json.loads(cowsnap("log", "--json", cwd=ext4_workspace).stdout)[0]["run_id"]
    only = cowsnap("diff", run, "gone.txt", "--name-status", cwd=ext4_workspace).stdout
    assert only == b"D\tgone.txt\n"


def test_exclusive_flags_are_a_usage_error(cowsnap: Cowsnap, ext4_workspace: Path) -> None:
    _recorded(cowsnap, ext4_workspace)
    result = cowsnap("diff", "--stat", "--json", cwd=ext4_workspace, check=False)
    assert result.returncode == 2


def test_colour_and_pager_on_a_terminal(cowsnap: Cowsnap, ext4_workspace: Path) -> None:
    _recorded(cowsnap, ext4_workspace)
    env = {**cowsnap.env(), "PAGER": "cat", "TERM": "xterm"}
    status, output = cowsnap.on_terminal("diff", "a.txt", cwd=ext4_workspace, env=env,
                                         timeout=30)
    assert status == 0
    assert b"\x1b[32m+2" in output and b"\x1b[31m-two" in output
