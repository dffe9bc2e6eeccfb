"""The CLI is a renderer (issue 14): it imports only cowsnap.api, cowsnap.errors and its
own modules, and only cowsnap/cli/__init__.py decides how the process exits."""

from __future__ import annotations

import ast
from pathlib import Path

CLI = Path(__file__).resolve().parents[2] / "cowsnap" / "cli"
ALLOWED = ("cowsnap.api", "cowsnap.errors", "cowsnap.cli")
FORMAT_ALSO = ("cowsnap.paths", "cowsnap.units")
"""cli/format.py shows paths and sizes as the rest of cowsnap words them."""
EXITS = {("sys", "exit"), ("os", "_exit"), ("os", "kill"), ("ctx", "exit")}


def _imported(tree: ast.Module) -> set[str]:
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.update(f"{node.module}.{alias.name}" if node.module == "cowsnap"
                         else node.module for alias in node.names)
    return {name for name in names if name == "cowsnap" or name.startswith("cowsnap.")}


def test_cli_modules_import_only_the_api_errors_and_each_other() -> None:
    for module in sorted(CLI.glob("*.py")):
        allowed = ALLOWED + (FORMAT_ALSO if module.name == "format.py" else ())
        allowed += ("cowsnap.__version__",) if module.name == "__init__.py" else ()
        stray = {name for name in _imported(ast.parse(module.read_text()))
                 if not any(name == root or name.startswith(root + ".") for root in allowed)}
        assert not stray, f"cowsnap/cli/{module.name} imports {sorted(stray)}"


def test_only_cli_init_decides_the_exit() -> None:
    for module in sorted(CLI.glob("*.py")):
        if module.name == "__init__.py":
            continue
        for node in ast.walk(ast.parse(module.read_text())):
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
                assert (node.value.id, node.attr) not in EXITS, \
                    f"cowsnap/cli/{module.name}:{node.lineno} {node.value.id}.{node.attr}"
            if isinstance(node, ast.Name):
                assert node.id != "SystemExit", f"cowsnap/cli/{module.name}:{node.lineno}"
