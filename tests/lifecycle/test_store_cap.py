"""The store's size cap: on by default, pruning oldest first, never the current session."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cowsnap.config import DEFAULT_CAP, Config, parse_config
from cowsnap.store.cap import (
    ESTIMATE,
    Estimate,
    estimate,
    note_growth,
    prune_needed,
    record_measured,
)
from cowsnap.store.prune import Policy, RunRecord, plan_prune
from cowsnap.store.store import Store
from tests.conftest import Cowsnap

NOW = datetime(2026, 11, 30, 12, tzinfo=UTC)


def record(name: str, hours_ago: float, content: str) -> RunRecord:
    return RunRecord(run_id=name, workspace="/w", started_at=NOW - timedelta(hours=hours_ago),
                     contents=frozenset({content}))


def test_runs_of_the_current_session_are_never_removed_for_size() -> None:
    runs = [record("old", 5, "a"), record("s1", 2, "b"), record("s2", 1, "c"),
            record("s3", 0, "d")]
    sizes = {"a": 100, "b": 100, "c": 100, "d": 100}
    plan = plan_prune(runs, sizes, Policy(max_size=100, protect_since=NOW - timedelta(hours=2)),
                      NOW)
    assert {decision.run_id for decision in plan.kept} == {"s1", "s2", "s3"}
    assert plan.size_after == 300
    unprotected = plan_prune(runs, sizes, Policy(max_size=100), NOW)
    assert {decision.run_id for decision in unprotected.kept} == {"s3"}


def test_the_cap_is_on_by_default_and_max_size_sets_or_lifts_it() -> None:
    assert Config().cap == DEFAULT_CAP == 2 * 1024**3
    assert parse_config("", "c").cap == DEFAULT_CAP
    assert parse_config('[prune]\nmax_size = "5G"\n', "c").cap == 5 * 1024**3
    assert parse_config('[prune]\nkeep_last = 3\n', "c").cap == DEFAULT_CAP
    unlimited = parse_config('[prune]\nmax_size = "unlimited"\n', "c")
    assert unlimited.cap is None and unlimited.auto_prune is None


def test_the_estimate_adds_each_runs_growth_to_the_last_measure(tmp_path: Path) -> None:
    store = Store.open(tmp_path / "store")
    note_growth(store, 10)
    assert estimate(store) is None, "no measure yet: the next run measures"
    record_measured(store, 1000)
    note_growth(store, 10)
    note_growth(store, 5)
    assert estimate(store) == Estimate(measured=1000, total=1015)
    (store.root / ESTIMATE).write_text("garbage\n")
    assert estimate(store) is None


def test_a_prune_is_needed_past_the_cap_and_not_after_every_run_once_stuck_over() -> None:
    assert not prune_needed(Estimate(measured=500, total=1000), 1000)
    assert prune_needed(Estimate(measured=500, total=1001), 1000)
    stuck = Estimate(measured=1500, total=1550)
    assert not prune_needed(stuck, 1000), "the session alone is over: wait for growth"
    assert prune_needed(Estimate(measured=1500, total=1600), 1000)


def test_runs_of_vanished_workspaces_stay_while_under_the_cap(cowsnap: Cowsnap,
                                                              tmp_path: Path) -> None:
    gone = tmp_path / "gone"
    gone.mkdir()
    run_in_session(cowsnap, gone, "s", "f")
    gone_run = json.loads(cowsnap("log", "--json", cwd=gone).stdout)
    (gone / "f").unlink()
    gone.rmdir()
    (cowsnap.store / ESTIMATE).unlink()
    here = tmp_path / "here"
    here.mkdir()
    run_in_session(cowsnap, here, "s", "g")
    ids = {entry.name for entry in (cowsnap.store / "runs").iterdir()}
    assert gone_run[0]["run_id"] in ids, "measuring the store removed nothing"
    assert estimate(Store.open(cowsnap.store)) is not None


def run_in_session(cowsnap: Cowsnap, workspace: Path, session: str, name: str) -> None:
    env = {**cowsnap.env(), "COWSNAP_SESSION": session}
    script = f"head -c 6000 /dev/urandom > {name}"
    subprocess.run([sys.executable, "-m", "cowsnap", "sh", "-c", script], cwd=workspace,
                   env=env, check=True, capture_output=True, timeout=60)


def test_runs_prune_the_oldest_past_the_cap_keeping_the_session(cowsnap: Cowsnap,
                                                                 workspace: Path) -> None:
    config = cowsnap.home / ".config" / "cowsnap"
    config.mkdir(parents=True)
    (config / "config.toml").write_text('[prune]\nmax_size = "20K"\n')
    for number in range(4):
        run_in_session(cowsnap, workspace, "earlier", f"old{number}")
    for number in range(4):
        run_in_session(cowsnap, workspace, "current", f"new{number}")
    runs = json.loads(cowsnap("log", "--json", cwd=workspace).stdout)
    sessions = [run["session"] for run in runs]
    assert sessions.count("current") == 4, "the current session's runs all stay"
    assert sessions.count("earlier") < 4, "older runs went for size"
    status = json.loads(cowsnap("status", "--json", cwd=workspace).stdout)
    assert status["cap"] == 20 * 1024
    assert cowsnap("check", cwd=workspace).returncode == 0


def test_without_configuration_runs_keep_the_estimate(cowsnap: Cowsnap,
                                                      workspace: Path) -> None:
    for number in range(2):
        run_in_session(cowsnap, workspace, "s", f"f{number}")
    size = estimate(Store.open(cowsnap.store))
    assert size is not None and size.total > 6000
    status = json.loads(cowsnap("status", "--json", cwd=workspace).stdout)
    assert status["cap"] == DEFAULT_CAP
    assert os.path.exists(cowsnap.store / ESTIMATE)
