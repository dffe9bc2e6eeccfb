"""The ignore configuration: created with defaults once, expanded, strictly parsed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cowsnap.errors import IgnoreConfigError
from cowsnap.record.ignore import DEFAULT_IGNORES, load_ignores


def test_created_with_defaults_on_first_use(isolated_home: Path) -> None:
    first = load_ignores()
    assert first.created is True
    assert first.path == isolated_home / ".config" / "cowsnap" / "ignore.json"
    assert json.loads(first.path.read_text()) == list(DEFAULT_IGNORES)
    second = load_ignores()
    assert second.created is False and second.rules == first.rules
    rules = first.rules
    assert rules.covers(b"/proc/self/maps") and rules.covers(b"/dev")
    assert rules.covers(str(isolated_home / ".cache" / "pip" / "x").encode())
    assert not rules.covers(b"/processes") and not rules.covers(b"/home")


def test_home_and_config_home_are_expanded(isolated_home: Path) -> None:
    path = isolated_home / ".config" / "cowsnap" / "ignore.json"
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps(["$HOME/build", "$XDG_CONFIG_HOME/app/", "/opt/x"]))
    loaded = load_ignores()
    assert loaded.created is False
    assert loaded.rules.prefixes == (
        str(isolated_home / "build").encode(),
        str(isolated_home / ".config" / "app").encode(),
        b"/opt/x",
    )
    assert loaded.rules.adding(["/srv/store"]).covers(b"/srv/store/objects")


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("{not json", "is not valid JSON"),
        ('{"paths": []}', "must be a JSON list of path strings"),
        ('["/ok", 3]', "must be a JSON list of path strings"),
        ('["relative/path"]', "'relative/path' is not an absolute path"),
    ],
)
def test_a_malformed_file_is_a_clear_error(isolated_home: Path, text: str, reason: str) -> None:
    path = isolated_home / ".config" / "cowsnap" / "ignore.json"
    path.parent.mkdir(parents=True)
    path.write_text(text)
    with pytest.raises(IgnoreConfigError, match=reason) as caught:
        load_ignores()
    assert str(path) in str(caught.value) and "\n" not in str(caught.value)
