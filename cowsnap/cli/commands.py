"""Every subcommand, by name, and the module that defines it.

Modules are imported only when their command runs (or help lists it), so
`cowsnap run` does not pay for importing diff or restore, nor they for the tracer.
To add a command: one line here, "name": "module:function", and a module in
cowsnap/cli/ that imports only cowsnap.api, cowsnap.errors and cowsnap.cli.*,
returns the api result it rendered (cowsnap.cli decides the exit status from
it), and names paths, counts and times with cowsnap.cli.format.
"""

from __future__ import annotations

import importlib

import click

COMMANDS = {
    "agent": "cowsnap.cli.agent:agent",
    "cat": "cowsnap.cli.cat:cat",
    "check": "cowsnap.cli.check:check",
    "completion": "cowsnap.cli.completion:completion",
    "diff": "cowsnap.cli.diff:diff",
    "fetch": "cowsnap.cli.remote:fetch",
    "forget": "cowsnap.cli.forget:forget",
    "log": "cowsnap.cli.log:log",
    "mcp": "cowsnap.cli.mcp:mcp",
    "prune": "cowsnap.cli.prune:prune",
    "push": "cowsnap.cli.remote:push",
    "remote": "cowsnap.cli.remote:remote",
    "restore": "cowsnap.cli.restore:restore",
    "rewind": "cowsnap.cli.rewind:rewind",
    "run": "cowsnap.cli.run:run",
    "sh": "cowsnap.cli.sh:sh",
    "show": "cowsnap.cli.show:show",
    "status": "cowsnap.cli.status:status",
    "versions": "cowsnap.cli.versions:versions",
}


def load(name: str) -> click.Command | None:
    """The command called `name`, imported on demand; None if there is none."""
    target = COMMANDS.get(name)
    if target is None:
        return None
    module, _, attribute = target.partition(":")
    command: click.Command = getattr(importlib.import_module(module), attribute)
    return command
