"""`cowsnap mcp`: serve cowsnap's tools to an agent over MCP on stdin/stdout."""

from __future__ import annotations

from pathlib import Path

import click

from cowsnap.cli.options import location_options


@click.command("mcp")
@location_options
def mcp(workspace: str | None, store: str | None) -> None:
    """Serve the MCP tools run, log, show, diff, restore and rewind over stdio.

    For agents that speak MCP (docs/agents.md lists the tools and their results).
    Runs belong to the session $COWSNAP_SESSION, else to a new one per server.
    """
    from cowsnap.agent.mcp_server import ServerSettings, build_server, new_session
    from cowsnap.workspace import detect_workspace

    root = detect_workspace(Path(workspace) if workspace else None)
    settings = ServerSettings(workspace=root, store=store, session=new_session())
    build_server(settings).run("stdio")
