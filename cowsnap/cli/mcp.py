"""`cowsnap mcp`: serve cowsnap's tools to an agent over MCP on stdin/stdout."""

from __future__ import annotations

import click

from cowsnap import api
from cowsnap.cli.options import location_options


@click.command("mcp")
@location_options
def mcp(workspace: str | None, store: str | None) -> None:
    """Serve the MCP tools run, log, show, diff, restore and rewind over stdio.

    For agents that speak MCP (docs/agents.md lists the tools and their results).
    Runs belong to the session $COWSNAP_SESSION, else to a new one per server.
    """
    api.mcp_server(workspace, store).run("stdio")
