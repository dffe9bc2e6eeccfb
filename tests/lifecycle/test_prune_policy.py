"""The retention policy, table-driven: a pure function, no store."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cowsnap.store.prune import Policy, RunRecord, plan_prune

NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)


def run(name: str, workspace: str = "/a", hours_ago: float = 0, exists: bool = True,
        contents: str = "", size: int = 0) -> RunRecord:
    """A run whose contents are single letters, each letter's size in SIZES."""
    return RunRecord(run_id=name, workspace=workspace,
                     started_at=NOW - timedelta(hours=hours_ago), workspace_exists=exists,
                     contents=frozenset(contents), own_size=size)


SIZES = {letter: 100 for letter in "abcdefgh"}


@dataclass(frozen=True)
class Case:
    runs: list[RunRecord]
    policy: Policy
    kept: set[str]
    reasons: dict[str, str] = field(default_factory=dict)
    """Substrings expected in a run's reasons."""


CASES = {
    "no rules keep everything": Case(
        [run("r1", hours_ago=3), run("r2", hours_ago=2)], Policy(), {"r1", "r2"},
        {"r1": "no --keep-last or --keep-within given"}),
    "keep-last is per workspace": Case(
        [run("a1", "/a", 5), run("a2", "/a", 4), run("a3", "/a", 3),
         run("b1", "/b", 10), run("b2", "/b", 1)],
        Policy(keep_last=2), {"a2", "a3", "b1", "b2"},
        {"a1": "not among the last 2 of its workspace", "b1": "among the last 2"}),
    "keep-within by start time": Case(
        [run("old", hours_ago=30), run("edge", hours_ago=24), run("new", hours_ago=1)],
        Policy(keep_within=timedelta(days=1)), {"edge", "new"},
        {"old": "started more than 1d ago", "new": "started within 1d"}),
    "either keep rule keeps a run": Case(
        [run("r1", hours_ago=50), run("r2", hours_ago=40), run("r3", hours_ago=2)],
        Policy(keep_last=2, keep_within=timedelta(hours=12)), {"r2", "r3"},
        {"r1": "not among the last 2 of its workspace and started more than 12h ago",
         "r3": "among the last 2 of its workspace"}),
    "keep-within can give up a whole workspace": Case(
        [run("a1", "/a", 100), run("b1", "/b", 1)],
        Policy(keep_within=timedelta(days=2)), {"b1"}),
    "a missing workspace loses its runs whatever the rules": Case(
        [run("gone1", "/gone", 1, exists=False), run("gone2", "/gone", 2, exists=False),
         run("here", "/here", 3)],
        Policy(keep_last=5), {"here"},
        {"gone1": "its workspace /gone no longer exists"}),
    "missing workspaces go even with no rules": Case(
        [run("gone", "/gone", 1, exists=False), run("here", "/here", 1)], Policy(), {"here"}),
    "runs of a missing workspace do not count for keep-last": Case(
        [run("gone", "/a", 1, exists=False), run("a0", "/a", 2), run("a1", "/a", 3)],
        Policy(keep_last=1), {"a0"}),
    "automatic pruning keeps every run of an absent workspace": Case(
        [run("gone1", "/gone", 100, exists=False, contents="ab"),
         run("gone2", "/gone", 90, exists=False, contents="c"),
         run("a1", "/a", 10, contents="d"), run("a2", "/a", 1, contents="e")],
        Policy(keep_last=1, keep_within=timedelta(hours=2), max_size=0,
               remove_missing_workspaces=False), {"gone1", "gone2", "a2"},
        {"gone1": "is absent (perhaps not mounted): only an explicit prune removes"}),
    "max-size drops the oldest across workspaces first": Case(
        [run("a1", "/a", 10, contents="a"), run("b1", "/b", 9, contents="b"),
         run("a2", "/a", 8, contents="c"), run("b2", "/b", 7, contents="d")],
        Policy(max_size=250), {"a2", "b2"},
        {"a1": "over --max-size 250 B", "b1": "over --max-size"}),
    "max-size stops as soon as the store fits": Case(
        [run("a1", "/a", 10, contents="a"), run("a2", "/a", 9, contents="b"),
         run("a3", "/a", 8, contents="c")],
        Policy(max_size=200), {"a2", "a3"}),
    "max-size never removes a workspace's newest": Case(
        [run("a1", "/a", 10, contents="a"), run("a2", "/a", 9, contents="b"),
         run("b1", "/b", 8, contents="c")],
        Policy(max_size=0), {"a2", "b1"},
        {"a2": "the newest of its workspace (never removed for size)"}),
    "removing a run frees only what no kept run shares": Case(
        [run("a1", "/a", 10, contents="ab"), run("a2", "/a", 9, contents="ab"),
         run("a3", "/a", 8, contents="abc")],
        Policy(max_size=300), {"a1", "a2", "a3"}),
    "strictly oldest first, even a run that frees nothing by itself": Case(
        [run("a1", "/a", 10, contents="ab"), run("a2", "/a", 9, contents="cd"),
         run("a3", "/a", 8, contents="ab")],
        Policy(max_size=250), {"a3"}),
    "manifest sizes count too": Case(
        [run("a1", "/a", 10, size=1000), run("a2", "/a", 9, size=10)],
        Policy(max_size=500), {"a2"}),
    "max-size after keep rules": Case(
        [run("a1", "/a", 10, contents="a"), run("a2", "/a", 9, contents="b"),
         run("a3", "/a", 8, contents="c"), run("a4", "/a", 7, contents="d")],
        Policy(keep_last=3, max_size=250), {"a3", "a4"},
        {"a1": "not among the last 3", "a2": "over --max-size"}),
}


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_policy(case: Case) -> None:
    plan = plan_prune(case.runs, SIZES, case.policy, NOW)
    assert {decision.run_id for decision in plan.kept} == case.kept
    assert {decision.run_id for decision in plan.removed} == (
        {record.run_id for record in case.runs} - case.kept)
    reasons = {decision.run_id: "; ".join(decision.reasons) for decision in plan.decisions}
    assert all(reasons.values()), "every decision says why"
    for run_id, expected in case.reasons.items():
        assert expected in reasons[run_id]


def test_decisions_are_newest_first_with_the_sizes_before_and_after() -> None:
    runs = [run("r1", hours_ago=3, contents="ab", size=5), run("r2", hours_ago=1, contents="b"),
            run("r3", hours_ago=2, contents="c")]
    plan = plan_prune(runs, SIZES, Policy(keep_last=2), NOW)
    assert [decision.run_id for decision in plan.decisions] == ["r2", "r3", "r1"]
    assert plan.size_before == 305
    assert plan.size_after == 200


def test_equal_start_times_order_by_id() -> None:
    runs = [run("x2"), run("x1"), run("x3")]
    plan = plan_prune(runs, SIZES, Policy(keep_last=1), NOW)
    assert [decision.run_id for decision in plan.kept] == ["x3"]


def test_contents_not_in_the_store_cost_nothing() -> None:
    runs = [run("r1", hours_ago=2, contents="z"), run("r2", hours_ago=1, contents="a")]
    plan = plan_prune(runs, SIZES, Policy(), NOW)
    assert plan.size_before == 100


def _footprint(runs: list[RunRecord]) -> int:
    contents = set().union(*(run.contents for run in runs)) if runs else set()
    return sum(run.own_size for run in runs) + sum(SIZES.get(blob, 0) for blob in contents)


records = st.builds(
    run, name=st.text("abcdef0123456789", min_size=8, max_size=8),
    workspace=st.sampled_from(["/a", "/b", "/c"]), hours_ago=st.integers(0, 200),
    exists=st.booleans(), contents=st.text("abcdefghz", max_size=4),
    size=st.integers(0, 300))
policies = st.builds(
    Policy, keep_last=st.none() | st.integers(1, 4),
    keep_within=st.none() | st.integers(0, 100).map(lambda hours: timedelta(hours=hours)),
    max_size=st.none() | st.integers(0, 3000))


@given(st.lists(records, max_size=12, unique_by=lambda record: record.run_id), policies)
def test_policy_invariants(runs: list[RunRecord], policy: Policy) -> None:
    plan = plan_prune(runs, SIZES, policy, NOW)
    assert sorted(d.run_id for d in plan.decisions) == sorted(r.run_id for r in runs)
    kept = {decision.run_id for decision in plan.kept}
    by_id = {record.run_id: record for record in runs}
    assert plan.size_before == _footprint(runs)
    assert plan.size_after == _footprint([by_id[run_id] for run_id in kept])
    for record in runs:
        if not record.workspace_exists:
            assert record.run_id not in kept
    rules = policy.keep_last is not None or policy.keep_within is not None
    for workspace in {record.workspace for record in runs if record.workspace_exists}:
        mine = sorted((r for r in runs if r.workspace == workspace and r.workspace_exists),
                      key=lambda r: (r.started_at, r.run_id))
        if not rules or (policy.keep_last is not None):
            assert mine[-1].run_id in kept, "max-size never removes a workspace's newest"
    if policy.max_size is not None and plan.size_after > policy.max_size:
        newest = {}
        for record in sorted(runs, key=lambda r: (r.started_at, r.run_id)):
            if record.run_id in kept:
                newest[record.workspace] = record.run_id
        assert kept == set(newest.values()), "over budget only with newest runs left"
