"""A bundle (`--output`) carries the run's intermediate versions."""

from __future__ import annotations

import sys
from pathlib import Path

from cowsnap import api

WRITER = """
for text in ("one", "two", "three"):
    with open("out.txt", "w") as handle:
        handle.write(text)
"""


def test_a_bundle_holds_every_version(tmp_path: Path, isolated_home: Path) -> None:
    workspace = tmp_path / "workspace"
    workspace.mkdir()
    bundle = tmp_path / "bundle"
    result = api.run(api.RunRequest(
        command=[sys.executable, "-c", WRITER], workspace=workspace,
        store=tmp_path / "store", backend="copy", cwd=workspace, versions=("out.txt",),
        output=bundle))
    assert result.recording_error is None and result.bundle == bundle
    out = str(workspace / "out.txt")
    assert len(api.versions(out, store=bundle, cwd=workspace).versions) == 3
    assert [b"".join(api.cat(out, store=bundle, cwd=workspace, version=number))
            for number in (1, 2, 3)] == [b"one", b"two", b"three"]
