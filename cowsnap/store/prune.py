"""The retention policy: which runs to keep and which to remove, each with its reasons.

A pure function over run records, like restic's `forget` policy, so every rule
is unit-tested without a store:

1. a run whose workspace no longer exists is removed, whatever else applies
   (automatic pruning, `remove_missing_workspaces=False`, keeps every run of an
   absent workspace instead, whatever else applies: it may be merely unmounted);
2. with `keep_last` and/or `keep_within`, a run is kept when at least one of them
   keeps it (the newest `keep_last` of its workspace; started within
   `keep_within` of now), otherwise removed; with neither, every run is kept;
3. `max_size` then removes kept runs, oldest first across workspaces, until the
   runs and the contents they reference fit, but never the newest kept run of a
   workspace. A content shared by several runs counts once, and removing a run
   frees only what no kept run still references;
4. a run started at or after `protect_since` (the current agent session's
   runs, for the default size cap) is never removed by rules 2 and 3.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from cowsnap.units import format_duration, format_size


@dataclass(frozen=True)
class RunRecord:
    """What the policy needs to know of one run."""

    run_id: str
    workspace: str
    started_at: datetime
    workspace_exists: bool = True
    contents: frozenset[str] = frozenset()
    """Ids of the contents it references that the store holds."""
    own_size: int = 0
    """Bytes of its manifest and summary."""


@dataclass(frozen=True)
class Policy:
    keep_last: int | None = None
    keep_within: timedelta | None = None
    max_size: int | None = None
    protect_since: datetime | None = None
    """Runs started at or after this are never removed (rule 4)."""
    only_workspace: str | None = None
    """When set, every run of another workspace is kept, whatever the rules above say
    (`cowsnap prune` without --all)."""
    remove_missing_workspaces: bool = True
    """False for automatic pruning: a workspace that is merely absent (an unmounted
    disk) keeps all its runs; only an explicit `cowsnap prune` removes them."""


@dataclass(frozen=True)
class Decision:
    run_id: str
    workspace: str
    keep: bool
    reasons: tuple[str, ...]


@dataclass(frozen=True)
class PrunePlan:
    decisions: tuple[Decision, ...]
    """Newest first."""
    size_before: int
    """Bytes of every run and the distinct contents they reference."""
    size_after: int
    """The same for the runs kept."""

    @property
    def kept(self) -> list[Decision]:
        return [decision for decision in self.decisions if decision.keep]

    @property
    def removed(self) -> list[Decision]:
        return [decision for decision in self.decisions if not decision.keep]


def _newest_first(runs: Sequence[RunRecord]) -> list[RunRecord]:
    return sorted(runs, key=lambda run: (run.started_at, run.run_id), reverse=True)


def _keep_rules(runs: list[RunRecord], policy: Policy, now: datetime) -> dict[str, list[str]]:
    """For each run that keep_last / keep_within keep, why (empty lists: neither keeps it)."""
    reasons: dict[str, list[str]] = {run.run_id: [] for run in runs}
    rank: Counter[str] = Counter()
    for run in runs:
        rank[run.workspace] += 1
        if policy.keep_last is not None and rank[run.workspace] <= policy.keep_last:
            reasons[run.run_id].append(f"among the last {policy.keep_last} of its workspace")
        if policy.keep_within is not None and now - run.started_at <= policy.keep_within:
            reasons[run.run_id].append(f"started within {format_duration(policy.keep_within)}")
    return reasons


def _not_kept_reason(policy: Policy) -> str:
    rules = []
    if policy.keep_last is not None:
        rules.append(f"not among the last {policy.keep_last} of its workspace")
    if policy.keep_within is not None:
        rules.append(f"started more than {format_duration(policy.keep_within)} ago")
    return " and ".join(rules)


class _Footprint:
    """The size of a set of runs, contents shared between them counted once."""

    def __init__(self, runs: Sequence[RunRecord], content_sizes: Mapping[str, int]) -> None:
        self._sizes = content_sizes
        self._references: Counter[str] = Counter()
        self.size = 0
        for run in runs:
            self.add(run)

    def add(self, run: RunRecord) -> None:
        self.size += run.own_size
        for content in run.contents:
            if self._references[content] == 0:
                self.size += self._sizes.get(content, 0)
            self._references[content] += 1

    def remove(self, run: RunRecord) -> None:
        self.size -= run.own_size
        for content in run.contents:
            self._references[content] -= 1
            if self._references[content] == 0:
                self.size -= self._sizes.get(content, 0)


def _out_of_scope(run: RunRecord, policy: Policy) -> bool:
    return policy.only_workspace is not None and run.workspace != policy.only_workspace


def plan_prune(runs: Sequence[RunRecord], content_sizes: Mapping[str, int], policy: Policy,
               now: datetime) -> PrunePlan:
    """Decide every run's fate under `policy` (see the module docstring)."""
    ordered = _newest_first(runs)
    reasons: dict[str, list[str]] = {}
    keep: dict[str, bool] = {}
    present = [run for run in ordered if run.workspace_exists]
    keep_reasons = _keep_rules(present, policy, now)
    rules_given = policy.keep_last is not None or policy.keep_within is not None
    protected = {run.run_id for run in ordered
                 if policy.protect_since is not None and run.started_at >= policy.protect_since}
    for run in ordered:
        if _out_of_scope(run, policy):
            keep[run.run_id] = True
            reasons[run.run_id] = ["another workspace (prune --all considers every one)"]
        elif not run.workspace_exists and not policy.remove_missing_workspaces:
            keep[run.run_id] = True
            protected.add(run.run_id)
            reasons[run.run_id] = [f"its workspace {run.workspace} is absent (perhaps not "
                                   f"mounted): only an explicit prune removes its runs"]
        elif not run.workspace_exists:
            keep[run.run_id] = False
            reasons[run.run_id] = [f"its workspace {run.workspace} no longer exists"]
        elif run.run_id in protected:
            keep[run.run_id] = True
            reasons[run.run_id] = ["part of the current session (never removed)"]
        elif not rules_given:
            keep[run.run_id] = True
            reasons[run.run_id] = ["no --keep-last or --keep-within given"]
        elif keep_reasons[run.run_id]:
            keep[run.run_id] = True
            reasons[run.run_id] = keep_reasons[run.run_id]
        else:
            keep[run.run_id] = False
            reasons[run.run_id] = [_not_kept_reason(policy)]
    footprint = _Footprint(ordered, content_sizes)
    size_before = footprint.size
    for run in ordered:
        if not keep[run.run_id]:
            footprint.remove(run)
    if policy.max_size is not None:
        kept = [run for run in ordered if keep[run.run_id]]
        newest = {run.workspace: run.run_id for run in reversed(kept)}
        for run in reversed(kept):
            if footprint.size <= policy.max_size:
                break
            if newest[run.workspace] == run.run_id:
                reasons[run.run_id].append("the newest of its workspace (never removed for size)")
                continue
            if run.run_id in protected or _out_of_scope(run, policy):
                continue
            footprint.remove(run)
            keep[run.run_id] = False
            reasons[run.run_id] = [f"the store is over --max-size {format_size(policy.max_size)}"
                                   f": oldest runs go first"]
    decisions = tuple(Decision(run.run_id, run.workspace, keep[run.run_id],
                               tuple(reasons[run.run_id])) for run in ordered)
    return PrunePlan(decisions=decisions, size_before=size_before, size_after=footprint.size)
