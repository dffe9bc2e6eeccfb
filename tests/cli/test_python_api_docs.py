"""docs/python-api.md: its examples run, in order, in one namespace (sqlite-utils' model)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parents[2] / "docs" / "python-api.md"


def examples() -> list[str]:
    return re.findall(r"^```python\n(.*?)^```$", DOCS.read_text(), flags=re.S | re.M)


def test_the_documented_examples_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / ".config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / ".local" / "share"))
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / ".local" / "state"))
    found = examples()
    assert len(found) >= 10
    namespace: dict[str, object] = {}
    for number, code in enumerate(found, 1):
        try:
            exec(compile(code, f"docs/python-api.md example {number}", "exec"), namespace)
        except Exception as error:
            raise AssertionError(f"example {number} failed:\n{code}") from error
