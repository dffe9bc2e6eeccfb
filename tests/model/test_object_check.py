"""`ObjectCheck` (the cached shape check of manifest objects) gives `check_object`'s
verdict on every object, also once the object's shape is known."""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from cowsnap.model.schema import STATE_KEYS, ObjectCheck, check_object

GOOD: dict[str, Any] = {
    "exists": True, "type": "file", "mode": 33188, "size": 3, "mtime_ns": 1, "uid": 0,
    "gid": 0, "blob": "a" * 40, "blob_source": "store", "target": None}
VALUES: list[Any] = [True, False, None, 0, 1.5, "file", "directory", "git", "elsewhere",
                     [], {}]


def _verdict(check: Any, data: Any) -> str | None:
    try:
        check(data)
    except ValueError as error:
        return str(error)
    return None


def _variants() -> list[Any]:
    found: list[Any] = [GOOD, [], "state", {**GOOD, "exists": False}]
    for key, value in itertools.product(GOOD, VALUES):
        found.append({**GOOD, key: value})
    for key in GOOD:
        found.append({name: value for name, value in GOOD.items() if name != key})
        found.append({**{name: value for name, value in GOOD.items() if name != key},
                      "exists": True})
    found.append({name: GOOD[name] for name in reversed(GOOD)})
    return found


@pytest.mark.parametrize("rounds", [1, 2])
def test_cached_check_agrees_with_the_full_check(rounds: int) -> None:
    check = ObjectCheck(STATE_KEYS, "file state")
    for _ in range(rounds):  # the second round meets every shape already known
        for data in _variants():
            assert _verdict(check, data) == _verdict(
                lambda value: check_object(value, STATE_KEYS, "file state"), data), data
