"""The restore plan as a pure function of manifest data and observed states."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping, Sequence

from hypothesis import given
from hypothesis import strategies as st

from cowsnap.model import ABSENT, UNKNOWN_BEFORE, FileEntry, FileState, Manifest, Operation
from cowsnap.restore.plan import (
    Action,
    Current,
    Plan,
    Target,
    make_plan,
    parent_of,
    seen_entries,
    select,
)
from tests.restore.states import (
    BLOB_A,
    BLOB_B,
    WS,
    directory,
    entry,
    file,
    manifest,
    symlink,
)


def plan_for(run: Manifest, now: Mapping[str, FileState | Current], side: str = "before",
             paths: Sequence[bytes] | None = None) -> Plan:
    targets = select(run, "before" if side == "before" else "after", paths)
    current = {}
    for target in targets:
        seen = now.get(target.path[len(WS) + 1:].decode(), ABSENT)
        current[target.path] = seen if isinstance(seen, Current) else Current(seen)
    return make_plan(targets, current, as_root=False)


def actions(plan: Plan) -> list[tuple[str, str]]:
    return [(str(step.action), step.path[len(WS) + 1:].decode()) for step in plan.steps]


def test_unchanged_and_read_only_paths_are_left_alone() -> None:
    run = manifest(entry("read", file(), file(), [Operation.READ]),
                   entry("same", file(), file()))
    assert select(run, "before") == []


def test_a_file_changed_through_another_of_its_names_is_restored() -> None:
    linked = dataclasses.replace(file(mode=0o100600), links=(WS + b"/b",))
    run = manifest(entry("a", file(), linked, [Operation.EXISTENCE]),
                   entry("b", ABSENT, dataclasses.replace(linked, links=(WS + b"/a",)),
                         [Operation.CREATE, Operation.METADATA]),
                   entry("c", file(), file(mode=0o100600), [Operation.EXISTENCE]))
    plan = plan_for(run, {"a": file(mode=0o100600), "b": file(mode=0o100600),
                          "c": file(mode=0o100600)})
    assert actions(plan) == [("metadata", "a"), ("remove", "b")]


def test_undo_orders_clear_create_remove_then_directory_metadata() -> None:
    run = manifest(
        entry("made", ABSENT, directory(), [Operation.MKDIR]),
        entry("made/deep", ABSENT, directory(), [Operation.MKDIR]),
        entry("made/deep/f", ABSENT, file(), [Operation.CREATE]),
        entry("old", file(), ABSENT, [Operation.RENAME]),
        entry("new", ABSENT, file(), [Operation.CREATE]),
        entry("tree", directory(), file(BLOB_B), [Operation.DELETE, Operation.CREATE]),
        entry("tree/x", file(), ABSENT, [Operation.DELETE]),
        entry("mode", file(mode=0o100644), file(mode=0o100600), [Operation.METADATA]),
    )
    now = {"made": directory(), "made/deep": directory(), "made/deep/f": file(),
           "new": file(), "tree": file(BLOB_B), "mode": file(mode=0o100600)}
    plan = plan_for(run, now)
    assert plan.conflicts == () and plan.failures == ()
    assert actions(plan) == [
        ("clear", "tree"),
        ("metadata", "mode"), ("write", "old"), ("mkdir", "tree"), ("write", "tree/x"),
        ("remove", "new"), ("remove", "made/deep/f"), ("remove", "made/deep"),
        ("remove", "made"),
        ("dir-metadata", "tree"),
    ]


def test_a_directory_replaced_by_a_file_is_emptied_first() -> None:
    run = manifest(entry("p", file(), directory(), [Operation.DELETE, Operation.MKDIR]),
                   entry("p/inner", ABSENT, file(), [Operation.CREATE]))
    plan = plan_for(run, {"p": Current(directory(), children=frozenset({b"inner"})),
                          "p/inner": file()})
    assert actions(plan) == [("clear", "p/inner"), ("clear", "p"), ("write", "p")]


def test_redo_goes_the_other_way() -> None:
    run = manifest(entry("f", file(BLOB_A), file(BLOB_B)),
                   entry("gone", file(), ABSENT, [Operation.DELETE]))
    plan = plan_for(run, {"f": file(BLOB_A), "gone": file()}, side="after")
    assert actions(plan) == [("write", "f"), ("remove", "gone")]
    assert plan.steps[0].target.want.blob == BLOB_B


def test_a_path_changed_since_is_a_conflict_unless_already_restored() -> None:
    run = manifest(entry("f", file(BLOB_A), file(BLOB_B)),
                   entry("g", file(BLOB_A), file(BLOB_B)))
    plan = plan_for(run, {"f": file("c" * 40), "g": file(BLOB_A)})
    assert plan.conflicts == ((WS + b"/f", "changed since the run: content differs"),)
    assert actions(plan) == [("write", "f")]


def test_conflict_reasons() -> None:
    run = manifest(entry("gone", file(BLOB_A), file(BLOB_B)),
                   entry("new", file(BLOB_A), ABSENT, [Operation.DELETE]),
                   entry("typed", file(BLOB_A), file(BLOB_B)),
                   entry("link", symlink(b"a"), symlink(b"b"), [Operation.CREATE]),
                   entry("perm", file(mode=0o100644), file(mode=0o100600),
                         [Operation.METADATA]))
    plan = plan_for(run, {"new": file("c" * 40), "typed": directory(),
                          "link": symlink(b"c"), "perm": file(mode=0o100700)})
    assert dict(plan.conflicts) == {
        WS + b"/gone": "changed since the run: no longer exists",
        WS + b"/new": "changed since the run: exists now",
        WS + b"/typed": "changed since the run: is now a directory, was a file",
        WS + b"/link": "changed since the run: symlink points elsewhere",
        WS + b"/perm": "changed since the run: permissions differ",
    }


def test_content_compared_by_size_and_time_without_ids() -> None:
    run = manifest(entry("f", file(None, mtime=1), file(None, mtime=2),
                         [Operation.METADATA]))
    assert plan_for(run, {"f": file(None, mtime=2)}).conflicts == ()
    assert plan_for(run, {"f": file(None, mtime=3)}).conflicts != ()


def test_metadata_only_change_needs_no_content() -> None:
    run = manifest(entry("f", file(None, mtime=1), file(None, mtime=2),
                         [Operation.METADATA]))
    plan = plan_for(run, {"f": file(None, mtime=2)})
    assert plan.failures == ()
    assert actions(plan) == [("metadata", "f")]


def test_uncaptured_content_and_unknown_states_are_failures() -> None:
    too_large = file(None, not_captured="too large")
    unknown = FileState(exists=False, not_captured=UNKNOWN_BEFORE)
    run = manifest(entry("big", too_large, file(BLOB_B, size=5, mtime=2)),
                   entry("fifo", FileState(exists=True, type="other", mode=0o10644),
                         ABSENT, [Operation.DELETE]),
                   entry("unseen", unknown, file(BLOB_B)))
    plan = plan_for(run, {"big": file(BLOB_B, size=5, mtime=2), "unseen": file(BLOB_B)})
    assert dict(plan.failures) == {
        WS + b"/big": "content not captured: too large",
        WS + b"/fifo": "a special file cannot be recreated",
        WS + b"/unseen": "its state was not recorded",
    }
    assert plan.steps == ()


def test_entries_the_run_did_not_create_keep_their_directory() -> None:
    run = manifest(entry("made", ABSENT, directory(), [Operation.MKDIR]),
                   entry("made/x", ABSENT, file(), [Operation.CREATE]))
    plan = plan_for(run, {"made": Current(directory(), children=frozenset({b"x", b"mine"})),
                          "made/x": file()})
    assert plan.conflicts == (
        (WS + b"/made", "directory holds entries the run did not create: mine"),)


def test_what_was_seen_through_a_symlink_is_not_the_workspaces() -> None:
    run = manifest(
        entry("conf", directory(), symlink(b"/etc"), [Operation.DELETE, Operation.CREATE]),
        entry("conf/passwd", file(), file(BLOB_B), [Operation.DELETE]),
    )
    seen = {item.path: item for item in seen_entries(run)}
    assert seen[WS + b"/conf/passwd"].after == ABSENT
    plan = plan_for(run, {"conf": symlink(b"/etc")})
    assert plan.conflicts == ()
    assert actions(plan) == [("clear", "conf"), ("mkdir", "conf"), ("write", "conf/passwd"),
                             ("dir-metadata", "conf")]
    redo = plan_for(run, {"conf": directory(), "conf/passwd": file()}, side="after")
    assert actions(redo) == [("clear", "conf/passwd"), ("clear", "conf"),
                             ("symlink", "conf")]


def test_a_path_of_thousands_of_components_is_walked_without_recursion() -> None:
    """A hostile (or very deep) manifest: 5,000 components under a symlink, which
    recursing over the ancestors exceeded Python's recursion limit for."""
    deep = "/".join(["d"] * 5000)
    run = manifest(entry("d", directory(), symlink(b"/etc"), [Operation.DELETE, Operation.CREATE]),
                   entry(deep, file(), file(BLOB_B), [Operation.WRITE]))
    seen = {item.path: item for item in seen_entries(run)}
    assert seen[f"{WS.decode()}/{deep}".encode()].after == ABSENT
    assert seen[f"{WS.decode()}/{deep}".encode()].before == file()


def test_paths_select_a_subtree_and_the_workspace_root_is_never_a_target() -> None:
    run = manifest(entry("d/x", file(), file(BLOB_B)), entry("top", file(), file(BLOB_B)),
                   FileEntry(path=WS, operations=(Operation.METADATA,),
                             before=directory(0o40755), after=directory(0o40700)))
    chosen = select(run, "before", [WS + b"/d"])
    assert [target.path for target in chosen] == [WS + b"/d/x"]
    assert [target.path for target in select(run, "before")] == [WS + b"/d/x", WS + b"/top"]


def test_touched_lists_each_target_once_in_path_order() -> None:
    run = manifest(entry("b", file(), directory(), [Operation.DELETE, Operation.MKDIR]),
                   entry("a", ABSENT, file(), [Operation.CREATE]))
    plan = plan_for(run, {"b": Current(directory()), "a": file()})
    assert [target.path for target in plan.touched()] == [WS + b"/a", WS + b"/b"]
    assert all(isinstance(target, Target) for target in plan.touched())
    assert {step.action for step in plan.steps} == {Action.REMOVE, Action.CLEAR, Action.WRITE}


@given(st.lists(st.sampled_from([b"/", b"//", b"a", b".", b".."]), max_size=8))
def test_parent_of_is_dirname(pieces: list[bytes]) -> None:
    path = b"".join(pieces)
    assert parent_of(path) == os.path.dirname(path)


def test_paths_select_by_whole_names_only() -> None:
    run = manifest(entry("d.txt", file(), file(BLOB_B)), entry("dx", file(), file(BLOB_B)),
                   entry("d/x", file(), file(BLOB_B)), entry("e/y", file(), file(BLOB_B)))
    for chosen in ([WS + b"/d/", WS + b"/e/y"], [WS + b"/d", WS + b"/e/y"]):
        assert [target.path for target in select(run, "before", chosen)] == [
            WS + b"/d/x", WS + b"/e/y"]
    assert [target.path for target in select(run, "before", [WS + b"/dx"])] == [WS + b"/dx"]
    assert select(run, "before", []) == []


def test_a_path_recorded_twice_is_shadowed_as_its_last_entry_says() -> None:
    """An unchecked manifest (diff reads any) may name a path twice: the later entry
    decides whether what lies beneath it was seen through a symlink."""
    run = dataclasses.replace(manifest(), files=(
        entry("d", directory(), symlink(b"/etc")), entry("d", directory(), directory()),
        entry("d/x", file(), file(BLOB_B))))
    assert [item.after for item in seen_entries(run)][-1] == file(BLOB_B)
    run = dataclasses.replace(run, files=(run.files[1], run.files[0], run.files[2]))
    assert [item.after for item in seen_entries(run)][-1] == ABSENT
