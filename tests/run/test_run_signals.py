"""`cowsnap run` under signals: Ctrl-C reaches the command, a killed cowsnap leaves no run."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import Cowsnap


def wait_for(path: Path, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        if time.monotonic() > deadline:
            raise AssertionError(f"{path} never appeared")
        time.sleep(0.02)


def start(cowsnap: Cowsnap, cwd: Path, script: str) -> subprocess.Popen[bytes]:
    """`cowsnap run -- sh -c script` as the leader of its own process group, like a shell job."""
    return subprocess.Popen([sys.executable, "-m", "cowsnap", "run", "--", "sh", "-c", script],
                            cwd=cwd, env=cowsnap.env(), stderr=subprocess.PIPE,
                            process_group=0)


@pytest.mark.timeout(60)
def test_ctrl_c_reaches_the_command_and_the_run_is_recorded(cowsnap: Cowsnap,
                                                             tmp_path: Path) -> None:
    script = ("trap 'echo interrupted > caught.txt; exit 3' INT; "
              "touch ready; while :; do sleep 0.05; done")
    process = start(cowsnap, tmp_path, script)
    wait_for(tmp_path / "ready")
    os.killpg(process.pid, signal.SIGINT)
    _, stderr = process.communicate(timeout=30)
    assert process.returncode == 3, stderr.decode()
    assert (tmp_path / "caught.txt").read_text() == "interrupted\n"
    manifest = json.loads(cowsnap("show", "--json", cwd=tmp_path).stdout)
    assert manifest["exit_status"] == 3
    assert str(tmp_path / "caught.txt") in {entry["path"] for entry in manifest["files"]}


@pytest.mark.timeout(60)
def test_sigterm_to_cowsnap_is_forwarded_and_recorded(cowsnap: Cowsnap,
                                                      tmp_path: Path) -> None:
    process = start(cowsnap, tmp_path, "touch ready; exec sleep 30")
    wait_for(tmp_path / "ready")
    process.send_signal(signal.SIGTERM)
    process.communicate(timeout=30)
    assert process.returncode == 128 + signal.SIGTERM
    manifest = json.loads(cowsnap("show", "--json", cwd=tmp_path).stdout)
    assert manifest["exit_status"] == 128 + signal.SIGTERM


@pytest.mark.timeout(60)
def test_killed_cowsnap_takes_the_command_along_and_leaves_no_run(cowsnap: Cowsnap,
                                                                  tmp_path: Path) -> None:
    process = start(cowsnap, tmp_path, "echo $$ > pid; touch ready; exec sleep 30")
    wait_for(tmp_path / "ready")
    child = int((tmp_path / "pid").read_text())
    process.kill()
    process.communicate(timeout=30)
    deadline = time.monotonic() + 10
    while Path(f"/proc/{child}").exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    assert not Path(f"/proc/{child}").exists(), "the traced command outlived cowsnap"
    assert json.loads(cowsnap("log", "--json", cwd=tmp_path).stdout) == []
    cowsnap("run", "--", "true", cwd=tmp_path)
    assert list((cowsnap.store / "incomplete").iterdir()) == []
    assert len(json.loads(cowsnap("log", "--json", cwd=tmp_path).stdout)) == 1


def test_ignore_file_is_created_once_with_a_notice(cowsnap: Cowsnap, tmp_path: Path) -> None:
    first = cowsnap("run", "--", "true", cwd=tmp_path).stderr.decode()
    second = cowsnap("run", "--", "true", cwd=tmp_path).stderr.decode()
    ignore_file = cowsnap.home / ".config" / "cowsnap" / "ignore.json"
    assert f"created {ignore_file}" in first
    assert "ignore.json" not in second
    assert "/proc" in json.loads(ignore_file.read_text())
