"""Where the store lives: --store, else $COWSNAP_STORE, else $XDG_DATA_HOME/cowsnap."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path


def default_store_dir(environ: Mapping[str, str] | None = None) -> Path:
    """The store directory when no --store is given (DESIGN section 2)."""
    env = os.environ if environ is None else environ
    if env.get("COWSNAP_STORE"):
        return Path(env["COWSNAP_STORE"]).expanduser().absolute()
    data_home = env.get("XDG_DATA_HOME") or str(Path(env.get("HOME", "~")) / ".local" / "share")
    return (Path(data_home).expanduser() / "cowsnap").absolute()


def resolve_store_dir(explicit: str | os.PathLike[str] | None,
                      environ: Mapping[str, str] | None = None) -> Path:
    """The store directory for an explicit --store value, or the default."""
    if explicit:
        return Path(explicit).expanduser().absolute()
    return default_store_dir(environ)


def config_dir(environ: Mapping[str, str] | None = None) -> Path:
    """$XDG_CONFIG_HOME/cowsnap (~/.config/cowsnap): ignore.json, config.toml."""
    env = os.environ if environ is None else environ
    config_home = env.get("XDG_CONFIG_HOME") or str(Path(env.get("HOME", "~")) / ".config")
    return (Path(config_home).expanduser() / "cowsnap").absolute()
