"""Turning what a user typed into settings, with one clear error when it makes no sense.

The CLI passes option values through unchanged; a Python caller may build the
dataclasses directly.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from cowsnap.errors import UsageError
from cowsnap.record.policy import CaptureReads, CaptureSettings
from cowsnap.units import parse_duration, parse_size

if TYPE_CHECKING:
    from cowsnap.store.prune import Policy

CAPTURE_READS: tuple[CaptureReads, ...] = ("uncommitted", "all", "none")


def parse_capture(capture_reads: str = "uncommitted",
                  max_file_size: str | None = "256M") -> CaptureSettings:
    """CaptureSettings from `--capture-reads` and `--max-file-size` ("none": no cap)."""
    for choice in CAPTURE_READS:
        if capture_reads == choice:
            size = parse_size(max_file_size) if max_file_size is not None else None
            return CaptureSettings(capture_reads=choice, max_file_size=size)
    raise UsageError(f"invalid --capture-reads {capture_reads!r}: use one of "
                     f"{', '.join(CAPTURE_READS)}")


def parse_policy(keep_last: int | None = None, keep_within: str | None = None,
                 max_size: str | None = None, only_workspace: str | None = None) -> Policy:
    """A retention Policy from `--keep-last`, `--keep-within` and `--max-size`; with
    `only_workspace`, other workspaces' runs are all kept. (Imported here: `cowsnap run`
    parses its settings with this module and never prunes by policy.)"""
    from cowsnap.store.prune import Policy

    if keep_last is not None and keep_last < 1:
        raise UsageError("--keep-last must be at least 1")
    return Policy(keep_last=keep_last,
                  keep_within=parse_duration(keep_within) if keep_within else None,
                  max_size=parse_size(max_size) if max_size else None,
                  only_workspace=only_workspace)
