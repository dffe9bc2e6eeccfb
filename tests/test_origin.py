"""The origin tag: only this user's key, on the very manifest bytes, proves a run is its own."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from cowsnap.origin import KEY_NAME, origin_tag, recorded_here, state_dir, user_key


@pytest.fixture
def state_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    return tmp_path / "state" / "cowsnap"


def test_a_tag_verifies_only_on_the_same_bytes(state_home: Path) -> None:
    tag = origin_tag(b"manifest")
    assert tag is not None
    assert recorded_here(b"manifest", tag + b"\n")
    assert not recorded_here(b"manifest!", tag)
    assert not recorded_here(b"manifest", None)
    assert state_dir() == state_home
    assert os.stat(state_home / KEY_NAME).st_mode & 0o777 == 0o600


def test_another_key_does_not_verify(state_home: Path, tmp_path: Path,
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    tag = origin_tag(b"manifest")
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "elsewhere"))
    assert user_key(create=True) is not None
    assert not recorded_here(b"manifest", tag)


def test_a_key_others_may_read_or_a_linked_key_is_no_key(state_home: Path,
                                                         tmp_path: Path) -> None:
    assert origin_tag(b"m") is not None
    key = state_home / KEY_NAME
    os.chmod(key, 0o644)
    assert user_key(create=False) is None
    os.chmod(key, 0o600)
    os.link(key, tmp_path / "second-name")
    assert user_key(create=False) is None


def test_without_a_usable_directory_nothing_is_trusted(tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    shared = tmp_path / "shared"
    (shared / "cowsnap").mkdir(parents=True)
    os.chmod(shared / "cowsnap", 0o777)
    monkeypatch.setenv("XDG_STATE_HOME", str(shared))
    assert origin_tag(b"m") is None
    assert not recorded_here(b"m", b"anything")
