"""Options shared by several commands."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click

F = TypeVar("F", bound=Callable[..., Any])

workspace_option = click.option(
    "--workspace", type=click.Path(path_type=str),
    help="The workspace (default: the btrfs subvolume, else git repository, "
         "else current directory).")
store_option = click.option(
    "--store", type=click.Path(path_type=str),
    help="The store directory (default: $COWSNAP_STORE, else $XDG_DATA_HOME/cowsnap).")
json_option = click.option("--json", "as_json", is_flag=True,
                           help="Print machine-readable JSON (documented in docs/cli-json.md).")

session_option = click.option(
    "--session", envvar="COWSNAP_SESSION", metavar="SESSION",
    help="Record the run as part of this agent session (default: $COWSNAP_SESSION).")


def location_options(function: F) -> F:
    """--workspace and --store."""
    return workspace_option(store_option(function))
