"""Human sizes ("256M", "1G") as used on the command line and in configuration."""

from __future__ import annotations

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
