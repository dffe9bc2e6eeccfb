"""The --json shapes documented in docs/cli-json.md are the ones printed."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

from cowsnap.cli.status import status_document
from cowsnap.snapshot.base import Availability
from cowsnap.store.runs import RunSummary

DOCS = (Path(__file__).resolve().parents[2] / "docs" / "cli-json.md").read_text()


def documented_keys(heading: str) -> set[str]:
    """The backticked first-column keys of the table under `heading`."""
    section = DOCS.split(f"## `{heading}`", 1)[1].split("\n## ", 1)[0]
    return set(re.findall(r"^\| `([a-z_]+)` \|", section, flags=re.MULTILINE))


def test_status_keys_are_documented() -> None:
    from cowsnap import api

    report = api.Status(workspace=Path("/w"), store=Path("/s"),
                        backends=[Availability("copy", True, "works anywhere")], backend="copy")
    document = status_document(report)
    assert set(document) == documented_keys("cowsnap status --json")
    assert set(document["backends"][0]) == {"name", "available", "reason"}


def test_log_keys_are_documented() -> None:
    fields = {field.name for field in dataclasses.fields(RunSummary)}
    assert fields == documented_keys("cowsnap log --json")
