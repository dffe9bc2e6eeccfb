"""The vocabulary stands alone (issue 11): `cowsnap.model` needs nothing but itself and
the error types; a restore plan is made without the recorder or libgit2, a diff without
the recorder; `store` does not import `record` (which imports it)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

import cowsnap

PACKAGE = Path(cowsnap.__file__).parent


def _loaded_by(module: str) -> set[str]:
    """Modules a fresh interpreter holds after importing `module` (beyond its start-up)."""
    script = ("import sys; before = set(sys.modules); import " + module +
              "; print('\\n'.join(sorted(set(sys.modules) - before)))")
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, check=True,
                            timeout=60)
    return set(result.stdout.decode().split())


def test_the_model_needs_nothing_outside_itself() -> None:
    loaded = _loaded_by("cowsnap.model")
    ours = {name for name in loaded if name.startswith("cowsnap.")}
    assert ours - {"cowsnap.errors"} == {name for name in ours
                                         if name.startswith("cowsnap.model")}
    assert not {name.split(".")[0] for name in loaded} & {"pygit2", "click", "ptrace",
                                                           "btrfsutil", "isal"}


@pytest.mark.parametrize(("module", "unwanted"), [
    ("cowsnap.restore.plan", ("cowsnap.record", "cowsnap.gitlib", "pygit2")),
    ("cowsnap.diff.model", ("cowsnap.record",)),  # its line diffs are libgit2's
])
def test_planning_and_diffing_load_no_recorder(module: str, unwanted: tuple[str, ...]) -> None:
    assert not {name for name in _loaded_by(module) if name.startswith(unwanted)}


def _imports_of(package: str) -> set[str]:
    found = set()
    for source in (PACKAGE / package).glob("*.py"):
        for node in ast.walk(ast.parse(source.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module:
                found.add(node.module)
            elif isinstance(node, ast.Import):
                found.update(alias.name for alias in node.names)
    return found


def test_the_store_does_not_import_the_recorder() -> None:
    assert not {name for name in _imports_of("store") if name.startswith("cowsnap.record")}
