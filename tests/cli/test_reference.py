"""docs/cli.md is exactly what --help says (sqlite-utils' model)."""

from pathlib import Path

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
    for name in main.commands:
        result = runner.invoke(main, [name, "--help"])
        assert result.exit_code == 0, result.output
        assert "Usage: " in result.output
        assert main.commands[name].help, f"{name} has no help text"


def test_unknown_command_is_a_usage_error() -> None:
    result = CliRunner().invoke(main, ["no-such-command"])
    assert result.exit_code == 2
