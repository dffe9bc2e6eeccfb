"""The store's lifecycle knows versions: prune keeps those of kept runs, check
verifies them."""

from __future__ import annotations

import os
import zlib
from pathlib import Path

from cowsnap import api
from cowsnap.store.prune import Policy
from tests.versions.conftest import Runner

WRITER = """
for text in ("one", "two", "three"):
    with open("out.txt", "w") as handle:
        handle.write(text)
"""


def test_prune_keeps_the_versions_of_kept_runs(run_versions: Runner, workspace: Path) -> None:
    run = run_versions(WRITER, ["out.txt"])
    out = str(workspace / "out.txt")
    result = api.prune(Policy(keep_last=1), store=run.store.root, workspace=workspace,
                       cwd=workspace)
    assert not result.plan.removed
    assert [b"".join(api.cat(out, store=run.store.root, cwd=workspace, version=number))
            for number in (1, 2, 3)] == [b"one", b"two", b"three"]
    assert api.check(store=run.store.root, workspace=workspace,
                     cwd=workspace).report.problems == ()


def test_check_finds_a_damaged_version(run_versions: Runner, workspace: Path) -> None:
    run = run_versions(WRITER, ["out.txt"])
    first = run.entry(workspace / "out.txt").versions[0].blob
    assert first is not None
    loose = run.store.root / run.store.contents.loose_name(first)
    os.chmod(loose, 0o600)
    loose.write_bytes(zlib.compress(b"blob 3\x00ONE"))
    problems = api.check(store=run.store.root, workspace=workspace,
                         cwd=workspace).report.problems
    assert any(first in problem.subject or first in problem.problem for problem in problems)
