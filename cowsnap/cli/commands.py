"""Registers every subcommand on the main group; one module per command."""

from __future__ import annotations

import click

from cowsnap.cli import diff, restore, run, runs, status


def register(group: click.Group) -> None:
    """Add each command module's command to `group`."""
    for command in (run.run, runs.log, runs.show, runs.cat, status.status, diff.diff,
                    restore.restore):
        group.add_command(command)
