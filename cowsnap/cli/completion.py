"""`cowsnap completion SHELL`: the script that makes SHELL complete cowsnap's commands,
options, run ids and paths."""

from __future__ import annotations

import click
from click.shell_completion import get_completion_class

SHELLS = ("bash", "zsh", "fish")


@click.command("completion")
@click.argument("shell", type=click.Choice(SHELLS), metavar="SHELL")
@click.pass_context
def completion(ctx: click.Context, shell: str) -> None:
    """Print the completion script for SHELL (bash, zsh or fish).

    Completes commands, options, run ids (newest first) and paths. Install:

    \b
      bash: eval "$(cowsnap completion bash)"   in ~/.bashrc
      zsh:  eval "$(cowsnap completion zsh)"    in ~/.zshrc
      fish: cowsnap completion fish > ~/.config/fish/completions/cowsnap.fish
    """
    root = ctx.find_root()
    chosen = get_completion_class(shell)
    assert chosen is not None
    script = chosen(root.command, {}, "cowsnap", "_COWSNAP_COMPLETE").source()
    click.echo(script)
