"""Property: for any sequence of file operations, traced on any backend, undo gives back
the exact tree from before the run and redo the exact tree from after it.

Symlinks may point at one another (loops included), at missing paths and out of
the workspace, and may be renamed like any file; only regular files are
hard-linked.
"""

from __future__ import annotations

import shlex
import shutil
import subprocess
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cowsnap import api
from tests.restore.conftest import read_tree

NAMES = ["a", "b", "c", "d", "d/e", "d/f", "d/g", "d/g/h"]
LINKS = ["k", "d/l"]
TARGETS = [*NAMES, *LINKS, "l", "../outside", "missing"]
TEXTS = ["", "x", "hello\\n", "line1\\nline2\\n", "\\001\\000bin"]
MODES = ["600", "640", "755", "700"]

name = st.sampled_from(NAMES)
any_name = st.sampled_from(NAMES + LINKS)
text = st.sampled_from(TEXTS)


def _quoted(*parts: str) -> str:
    return " ".join(shlex.quote(part) for part in parts)


def _regular(path: str) -> str:
    return f"[ -f {path} ] && [ ! -L {path} ] && "


operation = st.one_of(
    st.builds(lambda p, t: f"printf '{t}' > {p}", any_name, text),
    st.builds(lambda p, t: f"printf '{t}' >> {p}", any_name, text),
    st.builds(lambda p: f"[ -f {p} ] && : > {p}", any_name),
    st.builds(lambda p: _quoted("rm", "-f", p), any_name),
    st.builds(lambda p, q: _quoted("mv", "-fT", p, q), any_name, any_name),
    st.builds(lambda p: _quoted("mkdir", "-p", p), name),
    st.builds(lambda p: _quoted("rmdir", p), name),
    st.builds(lambda p, q: _quoted("ln", "-sfn", q, p), st.sampled_from(LINKS),
              st.sampled_from(TARGETS)),
    st.builds(lambda p, m: _quoted("chmod", m, p), any_name, st.sampled_from(MODES)),
    st.builds(lambda p, q: _regular(p) + _quoted("ln", "-fT", p, q), name, name),
)
scripts = st.lists(operation, min_size=1, max_size=10).map(
    lambda operations: "exec 2>/dev/null; " + "; ".join(operations) + "; true")


def _empty(workspace: Path) -> None:
    for child in workspace.iterdir():
        if child.is_dir() and not child.is_symlink():
            shutil.rmtree(child)
        else:
            child.unlink()


@settings(max_examples=50, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(setup=scripts, script=scripts)
def test_undo_and_redo_are_exact(backend_workspace: tuple[str, Path], tmp_path: Path,
                                 isolated_home: Path, setup: str, script: str) -> None:
    backend, workspace = backend_workspace
    _empty(workspace)
    subprocess.run(["sh", "-c", setup], cwd=workspace, check=True, timeout=10)
    before = read_tree(workspace)
    store = tmp_path / "store"
    result = api.run(api.RunRequest(command=["sh", "-c", script], workspace=workspace,
                                    store=store, backend=backend, cwd=workspace))
    assert result.recording_error is None
    after = read_tree(workspace)
    undo = api.restore(result.run_id, side="before", workspace=workspace, store=store,
                       cwd=workspace)
    assert undo.failures == ()
    assert read_tree(workspace) == before
    redo = api.restore(result.run_id, side="after", workspace=workspace, store=store,
                       cwd=workspace)
    assert redo.failures == ()
    assert read_tree(workspace) == after
