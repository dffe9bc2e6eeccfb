"""config.toml: parsing, the interval rule, and automatic pruning after real runs."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from cowsnap.config import AutoPrune, Config, load_config, parse_config, prune_due
from cowsnap.errors import ConfigError, UsageError
from cowsnap.store.prune import Policy
from cowsnap.units import format_duration, parse_duration
from tests.conftest import Cowsnap


def test_a_full_prune_table() -> None:
    config = parse_config('[prune]\nkeep_last = 3\nkeep_within = "7d"\nmax_size = "1G"\n'
                          'interval = "12h"\n', "config.toml")
    assert config == Config(AutoPrune(
        Policy(keep_last=3, keep_within=timedelta(days=7), max_size=1024**3,
               remove_missing_workspaces=False),
        interval=timedelta(hours=12)), cap=1024**3)


def test_interval_defaults_to_a_day_and_no_rules_means_no_pruning() -> None:
    config = parse_config("[prune]\nmax_size = 1000\n", "c")
    assert config.auto_prune == AutoPrune(
        Policy(max_size=1000, remove_missing_workspaces=False), timedelta(days=1))
    assert parse_config('[prune]\ninterval = "1h"\n', "c").auto_prune is None
    assert parse_config("", "c") == Config()


@pytest.mark.parametrize(("text", "message"), [
    ("[prune\n", "c: "),
    ("[other]\n", "unknown section [other]"),
    ("[prune]\nkeep = 1\n", "unknown [prune] setting 'keep'"),
    ("[prune]\nkeep_last = 0\n", "keep_last must be a whole number of at least 1"),
    ("[prune]\nkeep_last = true\n", "keep_last must be"),
    ('[prune]\nkeep_within = "soon"\n', "invalid duration 'soon'"),
    ('[prune]\nmax_size = "big"\n', "invalid size 'big'"),
    ("prune = 1\n", "[prune] must be a table"),
])
def test_malformed_configuration_is_one_clear_error(text: str, message: str) -> None:
    with pytest.raises(ConfigError) as raised:
        parse_config(text, "c")
    assert message in str(raised.value)


def test_load_reads_xdg_config_home(tmp_path: Path) -> None:
    directory = tmp_path / "cowsnap"
    directory.mkdir()
    assert load_config({"XDG_CONFIG_HOME": str(tmp_path)}) == Config()
    (directory / "config.toml").write_text("[prune]\nkeep_last = 2\n")
    loaded = load_config({"XDG_CONFIG_HOME": str(tmp_path)})
    assert loaded.auto_prune is not None and loaded.auto_prune.policy.keep_last == 2


NOW = datetime(2026, 11, 21, 12, tzinfo=UTC)


@pytest.mark.parametrize(("last", "due"), [
    (None, True),
    (NOW - timedelta(hours=2), True),
    (NOW - timedelta(hours=1), True),
    (NOW - timedelta(minutes=59), False),
    (NOW + timedelta(hours=1), True),
])
def test_prune_due_at_most_once_per_interval(last: datetime | None, due: bool) -> None:
    assert prune_due(last, NOW, timedelta(hours=1)) is due


@pytest.mark.parametrize(("text", "span"), [
    ("7d", timedelta(days=7)), ("12h", timedelta(hours=12)), ("90m", timedelta(minutes=90)),
    ("1d12h", timedelta(hours=36)), ("2w", timedelta(weeks=2)), (" 30S ", timedelta(seconds=30)),
])
def test_durations(text: str, span: timedelta) -> None:
    assert parse_duration(text) == span
    assert parse_duration(format_duration(span)) == span


@pytest.mark.parametrize("text", ["", "7", "d", "7x", "1.5d", "-1d", "7d junk"])
def test_bad_durations(text: str) -> None:
    with pytest.raises(UsageError):
        parse_duration(text)


def _log(cowsnap: Cowsnap, workspace: Path) -> list[str]:
    return [run["run_id"] for run in json.loads(cowsnap("log", "--json", cwd=workspace).stdout)]


def test_runs_prune_automatically_at_most_once_per_interval(cowsnap: Cowsnap,
                                                            ext4_dir: Path) -> None:
    config = cowsnap.home / ".config" / "cowsnap"
    config.mkdir(parents=True)
    (config / "config.toml").write_text('[prune]\nkeep_last = 1\ninterval = "0s"\n')
    for number in range(3):
        result = cowsnap("run", "--", "sh", "-c", f"echo {number} > f", cwd=ext4_dir)
    assert len(_log(cowsnap, ext4_dir)) == 1
    assert b"pruned automatically: 1 run removed" in result.stderr
    (config / "config.toml").write_text('[prune]\nkeep_last = 1\ninterval = "1h"\n')
    for number in range(2):
        cowsnap("run", "--", "sh", "-c", f"echo {number} > f", cwd=ext4_dir)
    assert len(_log(cowsnap, ext4_dir)) == 3, "pruned less than an hour ago: not again"
    assert cowsnap("check", cwd=ext4_dir).returncode == 0


def test_automatic_pruning_keeps_the_runs_of_an_absent_workspace(cowsnap: Cowsnap,
                                                                  ext4_dir: Path) -> None:
    """An unmounted disk looks like a missing workspace: only `cowsnap prune` may
    remove its runs, never the pruning that follows another workspace's run."""
    away, here = ext4_dir / "away", ext4_dir / "here"
    away.mkdir()
    here.mkdir()
    cowsnap("run", "--", "sh", "-c", "echo 1 > f", cwd=away)
    away.rename(ext4_dir / "unmounted")
    config = cowsnap.home / ".config" / "cowsnap"
    config.mkdir(parents=True, exist_ok=True)
    (config / "config.toml").write_text('[prune]\nkeep_last = 1\nmax_size = 1\ninterval = "0s"\n')
    for number in range(2):
        cowsnap("run", "--", "sh", "-c", f"echo {number} > f", cwd=here)
    workspaces = sorted(json.loads((run / "summary.json").read_bytes())["workspace"]
                        for run in (cowsnap.store / "runs").iterdir())
    assert workspaces == [str(away), str(here)]
    cowsnap("prune", "--all", cwd=here)
    assert len(list((cowsnap.store / "runs").iterdir())) == 1


def test_a_malformed_configuration_stops_run_before_the_command(cowsnap: Cowsnap,
                                                                 ext4_dir: Path) -> None:
    config = cowsnap.home / ".config" / "cowsnap"
    config.mkdir(parents=True)
    (config / "config.toml").write_text("[prune]\nkeep_last = -1\n")
    result = cowsnap("run", "--", "touch", "made", cwd=ext4_dir, check=False)
    assert result.returncode == 1
    assert b"keep_last must be a whole number" in result.stderr
    assert not (ext4_dir / "made").exists()
