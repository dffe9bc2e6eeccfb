"""Human sizes ("256M", "1G") as used on the command line and in configuration."""

from __future__ import annotations

import re
from datetime import timedelta

from cowsnap.errors import UsageError

SUFFIXES = {"": 1, "K": 1024, "M": 1024**2, "G": 1024**3, "T": 1024**4}


def parse_size(text: str) -> int | None:
    """Bytes for "512", "64K", "256M", "1G" (binary units); None for "none" or "unlimited"."""
    value = text.strip().upper().removesuffix("B").removesuffix("I")
    if value in {"NONE", "UNLIMITED"}:
        return None
    number, suffix = (value[:-1], value[-1]) if value[-1:] in SUFFIXES else (value, "")
    try:
        amount = float(number)
    except ValueError:
        raise UsageError(f"invalid size {text!r}: use a number with K, M, G or T") from None
    if amount < 0:
        raise UsageError(f"invalid size {text!r}: it is negative")
    return int(amount * SUFFIXES[suffix])


DURATION_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_DURATION = re.compile(r"(\d+)([smhdw])")


def parse_duration(text: str) -> timedelta:
    """A span like "7d", "12h", "1d12h" or "90m" (s, m, h, d, w)."""
    value = text.strip().lower()
    parts = _DURATION.findall(value)
    if not value or "".join(number + unit for number, unit in parts) != value:
        raise UsageError(f"invalid duration {text!r}: use a number with s, m, h, d or w "
                         f"(e.g. 7d, 12h, 1d12h)")
    return timedelta(seconds=sum(int(number) * DURATION_UNITS[unit] for number, unit in parts))


def format_duration(span: timedelta) -> str:
    """The shortest exact spelling of `span` in the units parse_duration reads."""
    seconds = int(span.total_seconds())
    if seconds == 0:
        return "0s"
    parts = []
    for unit in ("w", "d", "h", "m", "s"):
        count, seconds = divmod(seconds, DURATION_UNITS[unit])
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts)


def format_size(size: int) -> str:
    """Bytes for people: "512 B", "1.5 KiB", "3.2 GiB"."""
    if abs(size) < 1024:
        return f"{size} B"
    amount = size / 1024
    for unit in ("KiB", "MiB", "GiB"):
        if abs(amount) < 1024:
            return f"{amount:.1f} {unit}"
        amount /= 1024
    return f"{amount:.1f} TiB"
