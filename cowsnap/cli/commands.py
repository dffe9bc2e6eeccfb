"""Registers every subcommand on the main group; one module per command."""

from __future__ import annotations

import click


def register(group: click.Group) -> None:
    """Add each command module's command to `group`."""
