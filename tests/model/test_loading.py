"""Loading checks every entry, also the thousands shaped like one checked before (the
loader remembers accepted shapes and shares equal operation lists and git contexts)."""

from __future__ import annotations

import copy
import itertools
import json
from typing import Any

import pytest

from cowsnap.errors import CorruptManifestError
from cowsnap.model import dump_manifest, load_manifest
from cowsnap.model.schema import MAX_SHAPES
from tests.record.test_manifest import full_entry, manifest_with


def loaded_after(change: str) -> object:
    """A manifest with two entries of one shape, the second changed by `change`."""
    data = json.loads(dump_manifest(manifest_with(full_entry(b"/w/a"), full_entry(b"/w/b"))))
    exec(change, {"data": data, "second": data["files"][1]})
    return load_manifest(json.dumps(data).encode(), "m.json")


@pytest.mark.parametrize(("change", "reason"), [
    ("second['operations'] = ['read', 'teleport']", "teleport"),
    ("second['operations'] = ['read', ['write']]", "corrupt manifest m.json"),
    ("second['before']['type'] = 'pipe'", "pipe"),
    ("second['after']['blob_source'] = 'elsewhere'", "elsewhere"),
    ("second['before']['mode'] = 'rwx'", "mode"),
    ("second['before']['mode'] = True", "mode"),
    ("second['git']['root'] = 5", "root"),
    ("second['git']['tracked'] = None", "tracked"),
    ("second['git']['in_repo'] = 1", "in_repo"),
    ("second['git']['dirty'] = 0.0", "dirty"),
    ("second['git']['root'] = ['/w']", "root"),
    ("second['before']['blob_source'] = ['store']", "blob_source"),
    ("second['after']['exists'] = 1", "exists"),
    ("second['path'] = 'w/b'", "absolute"),
    ("data['files'][0]['before'] = {'exists': False}; second['before'] = {'exists': True}",
     "has no 'type'"),
    ("second['after'] = {'exists': True, 'type': 'symlink', 'target': 'x'}",
     "a required key 'mode' is missing"),
])
def test_an_entry_shaped_like_a_valid_one_is_still_checked(change: str, reason: str) -> None:
    loaded_after("")
    with pytest.raises(CorruptManifestError, match=reason):
        loaded_after(change)


def test_entries_of_one_shape_load_as_recorded() -> None:
    manifest = manifest_with(*(full_entry(b"/w/f%d" % number) for number in range(50)))
    loaded = load_manifest(dump_manifest(manifest), "m.json")
    assert loaded == manifest
    assert loaded.files[0].git is loaded.files[1].git


def test_more_shapes_than_remembered_are_all_checked() -> None:
    entries = [full_entry(b"/w/f%04d" % number) for number in range(MAX_SHAPES + 20)]
    data = json.loads(dump_manifest(manifest_with(*entries)))
    for number, entry in enumerate(data["files"]):
        entry["before"][f"later_key_{number}"] = number
    data["files"][-1]["after"]["type"] = "pipe"
    with pytest.raises(CorruptManifestError, match="pipe"):
        load_manifest(json.dumps(data).encode(), "m.json")
    del data["files"][-1]
    assert len(load_manifest(json.dumps(data).encode(), "m.json").files) == MAX_SHAPES + 19


VALUES: list[Any] = [True, False, None, 0, 1, -1, 1.5, "", "file", "directory", "symlink",
                     "fifo", "pipe", "store", "git", "elsewhere", "/w/x", "ab" * 20, [],
                     {}, ["read"], [{"path": "/w/x"}], {"exists": False}, {"user.a": "AA=="}]


def _verdict(data: dict[str, Any]) -> str:
    try:
        return repr(load_manifest(json.dumps(data).encode(), "m.json").files[-1])
    except CorruptManifestError as error:
        return str(error)


@pytest.mark.parametrize("part", ["before", "after", "git", None])
def test_an_entry_of_a_known_shape_gets_the_verdict_of_a_fresh_load(part: str | None) -> None:
    """Each key of an entry (or its states, or git context) set to each of many values:
    loaded after an entry of the usual shape or alone, the same entry or the same error."""
    good = json.loads(dump_manifest(manifest_with(full_entry(b"/w/a"), full_entry(b"/w/b"))))
    keys = set(good["files"][1] if part is None else good["files"][1][part])
    keys |= {"exists", "type", "blob_source", "target_b64", "links", "future"}
    for key, value in itertools.product(sorted(keys - {"path"}), VALUES):
        data = copy.deepcopy(good)
        changed = data["files"][1] if part is None else data["files"][1][part]
        if isinstance(changed, dict):
            changed[key] = value
        alone = copy.deepcopy(data)
        del alone["files"][0]
        assert _verdict(data) == _verdict(alone), (key, value)
