"""Stage points: every one named in STAGES is reached somewhere, and only those."""

from __future__ import annotations

import os
import re
import threading
import time
from pathlib import Path

import pytest

from cowsnap import stages

PACKAGE = Path(stages.__file__).parent


def test_every_stage_point_is_declared_and_every_declared_stage_exists() -> None:
    used = set()
    for source in PACKAGE.rglob("*.py"):
        used.update(re.findall(r'\breached\("([a-z-]+)"\)', source.read_text()))
    assert used == set(stages.STAGES)


def test_the_named_stage_pauses_once_until_its_marker_goes(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    marker = tmp_path / "marker"
    monkeypatch.setattr(stages, "PAUSE_AT", "run-prepared")
    monkeypatch.setattr(stages, "PAUSE_MARKER", str(marker))
    monkeypatch.setattr(stages, "_passed", set())
    stages.reached("run-preparing")
    assert not marker.exists()
    paused = threading.Thread(target=stages.reached, args=("run-prepared",))
    paused.start()
    deadline = time.monotonic() + 10
    while not marker.exists() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert marker.read_text() == f"{os.getpid()}\n"
    assert paused.is_alive()
    marker.unlink()
    paused.join(timeout=10)
    assert not paused.is_alive()
    stages.reached("run-prepared")
    assert not marker.exists(), "a stage pauses only the first time"
