"""The PreToolUse hook's answer (cowsnap.agent.hook), for `cowsnap agent hook`.

Kept apart from cowsnap.api.agents: the hook runs before every command an
agent runs, so this module loads nothing of the store, the recorder or the
tracer.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from cowsnap.agent import hook, permissions
from cowsnap.agent.hook import AGENTS, Answer
from cowsnap.agent.wrapper import self_invocation

__all__ = ["AGENTS", "Answer", "hook_answer"]


def hook_answer(raw: bytes, agent: str, environ: Mapping[str, str] = os.environ) -> Answer:
    """The answer to the hook input `raw` from `agent` (one of AGENTS). Never raises: a
    failure is an answer saying the command runs unrecorded."""

    def rules(cwd: str | None) -> permissions.Rules:
        home = Path(environ.get("HOME") or Path.home())
        return permissions.load_rules(permissions.project_dir(cwd, environ), home)

    try:
        return hook.answer(raw, agent, self_invocation(), rules)
    except Exception as error:  # a hook must never stop the agent's command
        message = f"cowsnap: the hook failed ({error}); the command runs unrecorded"
        return Answer({"systemMessage": message}, message)
