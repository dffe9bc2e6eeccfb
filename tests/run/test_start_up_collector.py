"""The program pauses the cycle collector while it starts up and resumes it, start-up's
objects frozen, before the command runs (cowsnap.program, cowsnap.collector); an api
operation's modules are imported with it paused. Checked by the collector's state,
never by timings."""

from __future__ import annotations

import gc
import subprocess
import sys
from pathlib import Path

import pytest

from cowsnap import api
from tests.conftest import Cowsnap

PROBE = """
import gc, sys
import click
from cowsnap.cli import commands

loads = []
load = commands.load

def noting_load(name):
    loads.append(gc.isenabled())
    return load(name)

commands.load = noting_load

@click.command("probe")
def probe():
    print(loads[-1], gc.isenabled(), gc.get_freeze_count() > 0)

commands.COMMANDS["probe"] = "__main__:probe"
sys.argv = ["cowsnap", *sys.argv[1:]]
from cowsnap.program import main
main()
"""


def test_the_collector_is_off_while_starting_and_on_when_the_command_runs(
        cowsnap: Cowsnap, tmp_path: Path) -> None:
    probed = subprocess.run([sys.executable, "-c", PROBE, "probe"], cwd=tmp_path,
                            env=cowsnap.env(), capture_output=True, text=True, timeout=60,
                            check=True)
    loading, running, frozen = probed.stdout.split()
    assert (loading, running, frozen) == ("False", "True", "True")


def test_a_program_that_only_starts_keeps_the_collector_off(cowsnap: Cowsnap,
                                                            tmp_path: Path) -> None:
    """--version runs no command: nothing to resume it for, and it never collected."""
    script = ("import atexit, gc, sys\n"
              "collected = []\n"
              "gc.callbacks.append(lambda phase, info: collected.append(phase))\n"
              "atexit.register(lambda: print(gc.isenabled(), len(collected)))\n"
              "sys.argv = ['cowsnap', '--version']\n"
              "from cowsnap.program import main\n"
              "collected.clear()\n"
              "main()\n")
    done = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, env=cowsnap.env(),
                          capture_output=True, text=True, timeout=60, check=True)
    assert done.stdout.split()[-2:] == ["False", "0"]


def test_an_operation_is_imported_with_the_collector_off_and_it_is_left_as_it_was(
        monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[bool] = []
    real = api.importlib.import_module

    def noting_import(name: str) -> object:
        seen.append(gc.isenabled())
        return real(name)

    monkeypatch.setattr(api.importlib, "import_module", noting_import)
    monkeypatch.delitem(vars(api), "log", raising=False)
    assert gc.isenabled()
    assert callable(api.log)
    assert seen == [False]
    assert gc.isenabled()
