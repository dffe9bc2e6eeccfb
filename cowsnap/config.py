"""The configuration file, `$XDG_CONFIG_HOME/cowsnap/config.toml`.

Its `[prune]` table turns on automatic pruning after each run, with the same
rules as `cowsnap prune` but one (it never removes the runs of a workspace that
is absent: it may be an unmounted disk), at most once per `interval` (the store
records when it was last pruned):

    [prune]
    keep_last = 20         # per workspace
    keep_within = "7d"     # runs younger than this are kept
    max_size = "5G"        # the whole store
    interval = "1d"        # default 1d

Each `[remote.NAME]` table names a git remote for push and fetch
(docs/remotes.md; `cowsnap remote add` writes them):

    [remote.ci]
    url = "git@example.com:team/runs.git"
    max_content = "50M"    # larger contents are not pushed (default 50M)

Without configuration the store is capped at DEFAULT_CAP (2 GiB): after a run,
when the store may have grown past the cap, the oldest runs go until it fits,
never a run of the current agent session nor a workspace's newest run
(cowsnap.store.cap, docs/agents.md). `[prune] max_size` sets the cap;
`max_size = "unlimited"` removes it.

A missing file means no automatic pruning beyond the cap, and no remotes; a
malformed one is an error before the command runs, never a surprise afterwards.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cowsnap.errors import ConfigError, CowsnapError
from cowsnap.store.location import config_dir
from cowsnap.units import parse_duration, parse_size

if TYPE_CHECKING:
    from cowsnap.store.prune import Policy

CONFIG_FILE = "config.toml"
DEFAULT_INTERVAL = timedelta(days=1)
DEFAULT_CAP = 2 * 1024**3
"""Bytes the store may hold without configuration."""
PRUNE_KEYS = {"keep_last", "keep_within", "max_size", "interval"}
REMOTE_KEYS = {"url", "max_content"}
REMOTE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")


@dataclass(frozen=True)
class AutoPrune:
    policy: Policy
    interval: timedelta = DEFAULT_INTERVAL


@dataclass(frozen=True)
class RemoteSettings:
    url: str
    max_content: int | None = None


@dataclass(frozen=True)
class Config:
    auto_prune: AutoPrune | None = None
    remotes: Mapping[str, RemoteSettings] = field(default_factory=dict)
    cap: int | None = DEFAULT_CAP
    """The store's size cap in bytes (None: unlimited)."""


def _prune_settings(table: Any, source: str) -> AutoPrune | None:
    if not isinstance(table, Mapping):
        raise ConfigError(f"{source}: [prune] must be a table")
    unknown = sorted(set(table) - PRUNE_KEYS)
    if unknown:
        raise ConfigError(f"{source}: unknown [prune] setting {unknown[0]!r} "
                          f"(known: {', '.join(sorted(PRUNE_KEYS))})")
    from cowsnap.store.prune import Policy  # only with a [prune] table: most runs have none

    try:
        keep_last = table.get("keep_last")
        if keep_last is not None and (type(keep_last) is not int or keep_last < 1):
            raise ConfigError("keep_last must be a whole number of at least 1")
        keep_within = table.get("keep_within")
        max_size = table.get("max_size")
        interval = table.get("interval")
        policy = Policy(
            keep_last=keep_last,
            keep_within=None if keep_within is None else parse_duration(str(keep_within)),
            max_size=None if max_size is None else parse_size(str(max_size)))
        every = DEFAULT_INTERVAL if interval is None else parse_duration(str(interval))
    except CowsnapError as error:
        raise ConfigError(f"{source}: [prune] {error}") from None
    if policy == Policy():
        return None
    return AutoPrune(policy=replace(policy, remove_missing_workspaces=False), interval=every)


def _remote_settings(tables: Any, source: str) -> dict[str, RemoteSettings]:
    if not isinstance(tables, Mapping):
        raise ConfigError(f"{source}: [remote] must hold [remote.NAME] tables")
    remotes = {}
    for name, table in tables.items():
        if not REMOTE_NAME.fullmatch(name):
            raise ConfigError(f"{source}: {name!r} is not a remote name (letters, digits, "
                              f"'.', '_', '-')")
        if not isinstance(table, Mapping) or not isinstance(table.get("url"), str):
            raise ConfigError(f"{source}: [remote.{name}] needs a url")
        unknown = sorted(set(table) - REMOTE_KEYS)
        if unknown:
            raise ConfigError(f"{source}: unknown [remote.{name}] setting {unknown[0]!r} "
                              f"(known: {', '.join(sorted(REMOTE_KEYS))})")
        cap = table.get("max_content")
        try:
            max_content = None if cap is None else parse_size(str(cap))
        except CowsnapError as error:
            raise ConfigError(f"{source}: [remote.{name}] {error}") from None
        remotes[name] = RemoteSettings(url=table["url"], max_content=max_content)
    return remotes


def parse_config(text: str, source: str) -> Config:
    """The configuration in `text` (TOML); `source` names it in errors."""
    import tomllib  # only when there is a config file: most runs have none

    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{source}: {error}") from None
    except RecursionError:
        raise ConfigError(f"{source}: nested too deeply") from None
    unknown = sorted(set(document) - {"prune", "remote"})
    if unknown:
        raise ConfigError(f"{source}: unknown section [{unknown[0]}]")
    table = document.get("prune")
    auto_prune = None if table is None else _prune_settings(table, source)
    cap: int | None = DEFAULT_CAP
    if isinstance(table, Mapping) and "max_size" in table:
        cap = parse_size(str(table["max_size"]))
    return Config(auto_prune=auto_prune, cap=cap,
                  remotes=_remote_settings(document.get("remote", {}), source))


def config_path(environ: Mapping[str, str] | None = None) -> Path:
    return config_dir(environ) / CONFIG_FILE


def load_config(environ: Mapping[str, str] | None = None) -> Config:
    path = config_path(environ)
    try:
        text = path.read_text()
    except FileNotFoundError:
        return Config()
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(f"cannot read {path}: {error}") from None
    return parse_config(text, str(path))


def prune_due(last: datetime | None, now: datetime, interval: timedelta) -> bool:
    """Whether automatic pruning should run now, having last run at `last`."""
    return last is None or now - last >= interval or now < last

