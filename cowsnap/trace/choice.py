"""Which tracer runs: the native core when it is built, else the Python tracer (the
reference); COWSNAP_TRACER=python or =native asks for one."""

from __future__ import annotations

import importlib
import os
from typing import Literal, NamedTuple

VARIABLE = "COWSNAP_TRACER"


class TracerChoice(NamedTuple):
    name: Literal["native", "python"]
    reason: str


def choose() -> TracerChoice:
    """The tracer trace() uses now, and why (for `cowsnap status`)."""
    requested = os.environ.get(VARIABLE, "")
    if requested == "python":
        return TracerChoice("python", f"{VARIABLE}=python")
    try:
        importlib.import_module("cowsnap.trace._core")
    except ImportError as error:
        return TracerChoice("python", f"the native core is not built ({error})")
    if requested == "native":
        return TracerChoice("native", f"{VARIABLE}=native")
    if requested:
        return TracerChoice("native", f"{VARIABLE}={requested} is unknown; the default is native")
    return TracerChoice("native", "the native core is built")
