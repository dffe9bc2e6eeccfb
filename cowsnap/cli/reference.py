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


def _help_text(command: click.Command, context: click.Context) -> str:
    with context:
        return command.get_help(context)


def render_reference() -> str:
    """Markdown with the --help of `cowsnap` and of every subcommand, in name order.

    Contexts are built as click builds them for a real invocation (the group's
    settings, subcommands as its children), so options like `-h` show as they work.
    """
    root = click.Context(main, info_name="cowsnap", terminal_width=88, **main.context_settings)
    sections = [HEADER, "## cowsnap\n\n```\n" + _help_text(main, root) + "\n```\n"]
    for name in main.list_commands(root):
        command = main.get_command(root, name)
        assert command is not None
        child = click.Context(command, info_name=name, parent=root, terminal_width=88)
        text = _help_text(command, child)
        sections.append(f"## cowsnap {name}\n\n```\n{text}\n```\n")
    return "\n".join(sections)

if __name__ == "__main__":
    click.echo(render_reference(), nl=False)
