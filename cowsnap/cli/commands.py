"""Registers every subcommand on the main group; one module per command."""

from __future__ import annotations

import click

from cowsnap.cli import status


def register(group: click.Group) -> None:
    """Add each command module's command to `group`."""
    group.add_command(status.status)
