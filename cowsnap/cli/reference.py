"""The CLI reference (docs/cli.md), generated from the commands' own --help.

Regenerate with `python -m cowsnap.cli.reference > docs/cli.md`; a test fails
when the checked-in file is stale, so the docs cannot drift from the code.
"""

from __future__ import annotations

import click

from cowsnap.cli import main

HEADER = (
    "# cowsnap command-line reference\n\n"
    "Generated from `--help` by `python -m cowsnap.cli.reference > docs/cli.md`;\n"
    "do not edit by hand.\n"
)


def _help_text(command: click.Command, path: list[str]) -> str:
    with click.Context(command, info_name=" ".join(path), terminal_width=88) as context:
        return command.get_help(context)


def render_reference() -> str:
    """Markdown with the --help of `cowsnap` and of every subcommand, in name order."""
    sections = [HEADER, "## cowsnap\n\n```\n" + _help_text(main, ["cowsnap"]) + "\n```\n"]
    for name in main.list_commands(click.Context(main)):
        command = main.get_command(click.Context(main), name)
        assert command is not None
        text = _help_text(command, ["cowsnap", name])
        sections.append(f"## cowsnap {name}\n\n```\n{text}\n```\n")
    return "\n".join(sections)


if __name__ == "__main__":
    click.echo(render_reference(), nl=False)
