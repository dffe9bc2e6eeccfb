"""Many runners pushing to one remote at once never lose a run; fetching one run
transfers that run's objects only."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from cowsnap.remote.fetch import fetch_runs, list_runs
from cowsnap.store.store import Store
from tests.remote import synthetic
from tests.remote.conftest import daemon_server

PUSHERS = 8
RUNS_EACH = 50
PAYLOAD = 4096


@pytest.mark.timeout(600)
def test_eight_runners_pushing_fifty_runs_each_lose_none(tmp_path: Path) -> None:
    base = tmp_path / "served"
    base.mkdir()
    for server in daemon_server(base, "runs.git"):
        pushers = [subprocess.Popen(
            [sys.executable, synthetic.__file__, str(tmp_path / f"runner-{index}"),
             str(tmp_path / f"workspace-{index}"), str(index * RUNS_EACH), str(RUNS_EACH),
             server.url], stderr=subprocess.PIPE) for index in range(PUSHERS)]
        for pusher in pushers:
            _out, errors = pusher.communicate(timeout=300)
            assert pusher.returncode == 0, errors.decode()

        expected = {run_id for index in range(PUSHERS)
                    for run_id in Store.open(tmp_path / f"runner-{index}").runs.ids()}
        assert len(expected) == PUSHERS * RUNS_EACH
        laptop = Store.open(tmp_path / "laptop")
        listed = list_runs(laptop, server.url)
        assert {item.run_id for item in listed} == expected
        assert all(item.summary is not None for item in listed)

        one = sorted(expected)[123]
        single = fetch_runs(Store.open(tmp_path / "one-run"), server.url, [one])
        assert [(run.run_id, run.status) for run in single.runs] == [(one, "fetched")]
        assert PAYLOAD < single.received_bytes < 2 * PAYLOAD

        everything = fetch_runs(laptop, server.url, [])
        assert {run.run_id for run in everything.runs if run.status == "fetched"} == expected
        assert everything.received_bytes > PUSHERS * RUNS_EACH * PAYLOAD
        assert set(laptop.runs.ids()) == expected
        for index in (0, PUSHERS - 1):
            runner = Store.open(tmp_path / f"runner-{index}")
            for run_id in runner.runs.ids()[::10]:
                assert laptop.runs.load(run_id) == runner.runs.load(run_id)
                [entry] = laptop.runs.load(run_id).files
                assert entry.after.blob is not None
                assert laptop.read(entry.after.blob) == runner.read(entry.after.blob)
