"""docs/cli.md is exactly what --help says (sqlite-utils' model)."""

from pathlib import Path

import click
from click.testing import CliRunner

from cowsnap.cli import main
from cowsnap.cli.reference import render_reference

DOCS = Path(__file__).resolve().parents[2] / "docs" / "cli.md"


def test_cli_reference_is_current() -> None:
    assert DOCS.read_text() == render_reference(), (
        "docs/cli.md is stale: run `python -m cowsnap.cli.reference > docs/cli.md`"
    )


def test_every_command_has_help() -> None:
    runner = CliRunner()
    context = click.Context(main)
    for name in main.list_commands(context):
        result = runner.invoke(main, [name, "--help"])
        assert result.exit_code == 0, result.output
        assert "Usage: " in result.output
        command = main.get_command(context, name)
        assert command is not None and command.help, f"{name} has no help text"


def test_unknown_command_is_a_usage_error() -> None:
    result = CliRunner().invoke(main, ["no-such-command"])
    assert result.exit_code == 2


def test_man_page_is_current() -> None:
    from cowsnap.cli.reference import render_man

    page = DOCS.parent / "cowsnap.1"
    assert page.read_text() == render_man(), (
        "docs/cowsnap.1 is stale: run `python -m cowsnap.cli.reference --man > docs/cowsnap.1`"
    )
    assert ".SS cowsnap diff" in page.read_text()
