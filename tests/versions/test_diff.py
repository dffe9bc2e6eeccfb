"""What one version changed: version N against N-1, version 1 against the before-state."""

from __future__ import annotations

from pathlib import Path

import pytest

from cowsnap import api
from cowsnap.diff.model import FileDiff
from cowsnap.errors import VersionNotFoundError
from cowsnap.gitlib.patch import Hunk
from tests.versions.conftest import Runner

WRITER = """
for lines in (["a", "b"], ["a", "B", "c"], ["a", "B", "c"], ["c"]):
    with open("notes.txt", "w") as handle:
        handle.write("".join(line + "\\n" for line in lines))
"""


def changed_lines(hunks: tuple[Hunk, ...]) -> list[str]:
    return [origin + line.decode().rstrip("\n") for hunk in hunks
            for origin, line in hunk.lines if origin in "+-"]


def test_each_version_against_the_one_before(run_versions: Runner, workspace: Path) -> None:
    (workspace / "notes.txt").write_text("old\n")
    run = run_versions(WRITER, ["notes.txt"])
    path = str(workspace / "notes.txt")
    # the third write repeats the second: the same process, the same content, no version
    assert len(run.entry(workspace / "notes.txt").versions) == 3

    def version(number: int) -> FileDiff:
        diff = api.version_diff(path, number, store=run.store.root, cwd=workspace)
        assert diff.run_id == run.manifest.run_id and len(diff.files) == 1
        return diff.files[0]

    first = version(1)
    assert first.name == b"notes.txt" and first.status == "c."
    assert changed_lines(first.hunks) == ["-old", "+a", "+b"]
    assert changed_lines(version(2).hunks) == ["-b", "+B", "+c"]
    assert (version(3).additions, version(3).deletions) == (0, 2)
    with pytest.raises(VersionNotFoundError, match="it has versions 1 to 3"):
        api.version_diff(path, 4, store=run.store.root, cwd=workspace)
