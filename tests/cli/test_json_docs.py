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


def test_status_usage_keys_are_documented() -> None:
    from cowsnap.cli.status import usage_document
    from cowsnap.store.usage import Usage, WorkspaceUsage

    usage = Usage(size=1, runs=1, workspaces=(WorkspaceUsage("/w", 1, True),), contents=1,
                  contents_size=1, referenced_size=1)
    document = usage_document(usage)
    section = DOCS.split("## `cowsnap status --json`", 1)[1].split("\n## ", 1)[0]
    for key in document:
        assert f"`{key}`" in section
    assert set(document["workspaces"][0]) == {"workspace", "runs", "exists"}


def test_prune_keys_are_documented() -> None:
    from cowsnap import api
    from cowsnap.cli.prune import prune_document
    from cowsnap.store.prune import Decision, PrunePlan

    plan = PrunePlan((Decision("r", "/w", True, ("why",)),), 2, 1)
    result = api.PruneResult(store=Path("/s"), plan=plan, reclaimed_contents=0,
                             reclaimed_size=0, dry_run=True, removed_snapshots=())
    document = prune_document(result)
    assert set(document) == documented_keys("cowsnap prune --json")
    assert set(document["runs"][0]) == {"run_id", "workspace", "keep", "reasons"}


def test_check_keys_are_documented() -> None:
    from cowsnap import api
    from cowsnap.cli.check import check_document
    from cowsnap.store.check import CheckReport, Problem

    report = CheckReport(runs=1, contents=1, verified_bytes=1, sealed=0,
                         problems=(Problem("run r", "bad"),), warnings=())
    document = check_document(api.CheckResult(store=Path("/s"), report=report,
                                              removed_snapshots=()))
    assert set(document) == documented_keys("cowsnap check --json")
    assert set(document["problems"][0]) == {"subject", "problem"}


def test_versions_keys_are_documented() -> None:
    from cowsnap import api
    from cowsnap.cli.versions import versions_document
    from cowsnap.model import Version

    version = Version(number=1, time="t", trigger="close", pid=1, exe=None, comm=None,
                      size=1, blob=None)
    document = versions_document(api.Versions(run_id="r", path=b"/w/\xff", globs=("*",),
                                              versions=(version,)))
    section = DOCS.split("## `cowsnap versions --json`", 1)[1].split("\n## ", 1)[0]
    top, items = section.split("Each `versions` item", 1)

    def keys(text: str) -> set[str]:
        return set(re.findall(r"^\| `([a-z_]+)` \|", text, flags=re.MULTILINE))

    assert set(document) == keys(top) | {"path_b64"}
    assert set(document["versions"][0]) == keys(items)


def test_remote_keys_are_documented() -> None:
    from cowsnap import api
    from cowsnap.cli.remote import (
        fetch_document,
        push_document,
        remote_check_document,
        remote_log_document,
        remote_prune_document,
    )
    from cowsnap.remote.fetch import FetchReport, Listed, RemoteCheck
    from cowsnap.remote.push import PushReport
    from cowsnap.store.prune import PrunePlan

    assert set(push_document(PushReport("u", (), 0))) == documented_keys("cowsnap push --json")
    assert set(fetch_document(FetchReport("u", (), 0))) == documented_keys(
        "cowsnap fetch --json")
    assert set(remote_log_document([Listed("r", "c", None, "p")])[0]) == documented_keys(
        "cowsnap log --remote REMOTE --json")
    assert set(remote_check_document(RemoteCheck("u", 0, 0, 0, ()))) == documented_keys(
        "cowsnap check --remote REMOTE --json")
    pruned = api.RemotePruneResult("u", PrunePlan((), 0, 0), False, {}, ())
    assert set(remote_prune_document(pruned)) == documented_keys(
        "cowsnap prune --remote REMOTE --json")


def test_restore_and_forget_keys_are_documented() -> None:
    from cowsnap import api
    from cowsnap.cli.forget import forget_document
    from cowsnap.cli.restore import restore_document
    from cowsnap.restore.plan import Plan

    restored = api.Restored(run_id="r", side="before", plan=Plan(steps=(), conflicts=(),
                                                                  failures=()),
                            undo_run=None, failures=((b"/w/\xff", "why"),), dry_run=True)
    document = restore_document(restored)
    assert set(document) == documented_keys("cowsnap restore --json")
    assert document["failures"] == [{"path": "/w/\\xff", "path_b64": "L3cv/w==",
                                     "problem": "why"}]
    forgotten = api.ForgetResult(store=Path("/s"), run_ids=("r",), dry_run=True,
                                 reclaimed_contents=0, reclaimed_size=0)
    assert set(forget_document(forgotten)) == documented_keys("cowsnap forget --json")
