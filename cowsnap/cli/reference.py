"""The CLI reference (docs/cli.md), generated from the commands' own --help.

Regenerate with `python -m cowsnap.cli.reference > docs/cli.md` and the man page
with `python -m cowsnap.cli.reference --man > docs/cowsnap.1`; a test fails when
either checked-in file is stale, so the docs cannot drift from the code.
"""

from __future__ import annotations

import click

from cowsnap.cli import main

HEADER = (
    "# cowsnap command-line reference\n\n"
    "Generated from `--help` by `python -m cowsnap.cli.reference > docs/cli.md`;\n"
    "do not edit by hand.\n"
)

EXIT_STATUS = (
    ("0", "success"),
    ("1", "an error (one line on stderr), damage found by check, a path not restored"),
    ("2", "a usage error (one line on stderr, and which --help to read)"),
    ("127", "run: the command cannot be executed"),
    ("130", "interrupted (Ctrl-C) while cowsnap itself was waiting for input"),
    ("141", "the reader of the output went away early (cowsnap cat | head), as git"),
    ("N", "run: the command's own exit status (128+N when signal N ended it)"),
)
ENVIRONMENT = (
    ("COWSNAP_STORE", "the store directory (default: $XDG_DATA_HOME/cowsnap)"),
    ("COWSNAP_PAGER, PAGER", "the pager for diff, show and log on a terminal (default: less; "
                             "empty or cat: none); LESS defaults to FRX, as with git"),
    ("NO_COLOR", "no colour unless --color=always"),
    ("COWSNAP_SESSION", "the agent session runs are recorded in (run --session)"),
)


def _conventions_markdown() -> str:
    rows = "".join(f"| `{code}` | {meaning} |\n" for code, meaning in EXIT_STATUS)
    variables = "".join(f"| `{name}` | {meaning} |\n" for name, meaning in ENVIRONMENT)
    return (f"## Exit status\n\n| status | meaning |\n| --- | --- |\n{rows}\n"
            f"## Environment\n\n| variable | meaning |\n| --- | --- |\n{variables}")


def _help_text(command: click.Command, context: click.Context) -> str:
    with context:
        return command.get_help(context)


def _help_texts() -> list[tuple[str, str]]:
    """(name, --help text) of `cowsnap` and of every subcommand, in name order.

    Contexts are built as click builds them for a real invocation (the group's
    settings, subcommands as its children), so options like `-h` show as they work.
    """
    root = click.Context(main, info_name="cowsnap", terminal_width=88, **main.context_settings)
    texts = [("cowsnap", _help_text(main, root))]
    for name in main.list_commands(root):
        command = main.get_command(root, name)
        assert command is not None
        child = click.Context(command, info_name=name, parent=root, terminal_width=88)
        texts.append((f"cowsnap {name}", _help_text(command, child)))
    return texts


def render_reference() -> str:
    """Markdown with the --help of `cowsnap` and of every subcommand."""
    sections = [HEADER]
    sections.extend(f"## {name}\n\n```\n{text}\n```\n" for name, text in _help_texts())
    sections.append(_conventions_markdown())
    return "\n".join(sections)


def _roff(text: str) -> str:
    """Text set verbatim in a man page: a backslash as \\e, no line read as a request."""
    return "\n".join("\\&" + line if line.startswith((".", "'")) else line
                     for line in text.replace("\\", "\\e").splitlines())


def render_man() -> str:
    """A man page (section 1), the same --help texts as docs/cli.md."""
    texts = _help_texts()
    lines = ['.TH COWSNAP 1 "" "cowsnap" "User Commands"', ".SH NAME",
             "cowsnap \\- run any command, see exactly what it touched and changed, and undo it",
             ".SH SYNOPSIS", ".B cowsnap", "COMMAND [OPTIONS] [ARGS]...", ".SH DESCRIPTION",
             ".nf", _roff(texts[0][1]), ".fi", ".SH COMMANDS"]
    for name, text in texts[1:]:
        lines.extend([f".SS {name}", ".nf", _roff(text), ".fi"])
    lines.append(".SH EXIT STATUS")
    for code, meaning in EXIT_STATUS:
        lines.extend([".TP", f".B {code}", _roff(meaning)])
    lines.append(".SH ENVIRONMENT")
    for name, meaning in ENVIRONMENT:
        lines.extend([".TP", f".B {name}", _roff(meaning)])
    lines.extend([".SH SEE ALSO", "git(1), restic(1); docs/cli-json.md for --json output."])
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    import sys

    click.echo(render_man() if sys.argv[1:] == ["--man"] else render_reference(), nl=False)
