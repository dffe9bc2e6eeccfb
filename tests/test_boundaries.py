"""Each outside library behind one module (issue 13, Structure): libgit2 (pygit2) only in
cowsnap/gitlib/, libc through ctypes only in cowsnap/libc.py and the Python fallback
tracer (cowsnap/trace/, the ptrace interface python-ptrace lacks), isal only in
store/deflate.py; read from the source, whatever a run happens to import."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "cowsnap"
ALLOWED = {
    "pygit2": ("gitlib/",),
    "ctypes": ("libc.py", "trace/"),
    "isal": ("store/deflate.py",),
    "btrfsutil": ("snapshot/btrfs.py",),
    "ptrace": ("trace/",),
}


def imported(source: Path) -> set[str]:
    """The top-level packages `source` imports, wherever in it (functions included,
    and `importlib.import_module("name")`)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(source.read_text(), str(source))):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
        elif isinstance(node, ast.Call) and getattr(node.func, "attr", None) == "import_module" \
                and node.args and isinstance(node.args[0], ast.Constant):
            names.add(str(node.args[0].value).split(".")[0])
    return names


@pytest.mark.parametrize("library", sorted(ALLOWED))
def test_a_library_is_imported_only_behind_its_module(library: str) -> None:
    offenders = [str(path.relative_to(PACKAGE)) for path in sorted(PACKAGE.rglob("*.py"))
                 if library in imported(path)
                 and not str(path.relative_to(PACKAGE)).startswith(ALLOWED[library])]
    assert offenders == []
    assert any(library in imported(path) for path in PACKAGE.rglob("*.py"))
