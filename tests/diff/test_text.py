"""Diffs of manifest entries rendered as text, --stat, --name-status and JSON: pure,
over in-memory contents (the line diff itself is libgit2's)."""

from __future__ import annotations

import re
from pathlib import Path

from cowsnap.diff.model import RunDiff, file_diff, run_diff
from cowsnap.diff.text import Kind, diff_json, unified
from cowsnap.errors import ContentNotFoundError
from cowsnap.model import FileEntry, Operation
from tests.restore.states import ABSENT_FILE, WS, directory, entry, file, manifest, symlink

CONTENTS = {"1" * 40: b"one\ntwo\nthree\n", "2" * 40: b"one\n2\nthree\nfour\n",
            "3" * 40: b"\x00\x01binary", "4" * 40: b"caf\xe9\n"}


def read(item: FileEntry, side: str) -> bytes:
    state = item.before if side == "before" else item.after
    if state.blob not in CONTENTS:
        raise ContentNotFoundError(f"no {side}-content: not captured: too large")
    return CONTENTS[state.blob]


def lines(item: FileEntry) -> list[bytes]:
    return [line for _kind, line in unified(file_diff(item, WS, read))]


def test_a_changed_file_is_a_git_style_unified_diff() -> None:
    changed = entry("src/a.txt", file("1" * 40), file("2" * 40))
    assert lines(changed) == [
        b"diff --git a/src/a.txt b/src/a.txt",
        b"--- a/src/a.txt", b"+++ b/src/a.txt",
        b"@@ -1,3 +1,4 @@", b" one", b"-two", b"+2", b" three", b"+four",
    ]
    kinds = [kind for kind, _line in unified(file_diff(changed, WS, read))]
    assert kinds[:4] == [Kind.HEADER, Kind.HEADER, Kind.HEADER, Kind.HUNK]
    assert Kind.ADDED in kinds and Kind.REMOVED in kinds


def test_created_and_deleted_files() -> None:
    created = entry("new", ABSENT_FILE, file("1" * 40), [Operation.CREATE])
    assert lines(created)[:4] == [b"diff --git a/new b/new", b"new file mode 100644",
                                  b"--- /dev/null", b"+++ b/new"]
    deleted = entry("old", file("1" * 40, mode=0o100755), ABSENT_FILE, [Operation.DELETE])
    assert lines(deleted)[1:4] == [b"deleted file mode 100755", b"--- a/old", b"+++ /dev/null"]


def test_binary_mode_symlink_and_directory_changes() -> None:
    binary = entry("bin", file("1" * 40), file("3" * 40))
    assert lines(binary)[1:] == [b"Binary files a/bin and b/bin differ"]
    mode = entry("run.sh", file(mode=0o100644), file(mode=0o100755), [Operation.METADATA])
    assert lines(mode)[1:] == [b"old mode 100644", b"new mode 100755"]
    link = entry("link", symlink(b"old-target"), symlink(b"new-target"))
    assert lines(link)[-5:] == [b"@@ -1 +1 @@", b"-old-target", b"\\ No newline at end of file",
                                b"+new-target", b"\\ No newline at end of file"]
    made = entry("dir", ABSENT_FILE, directory(), [Operation.MKDIR])
    assert lines(made)[1:] == [b"new directory mode 040755"]


def test_uncaptured_content_says_why() -> None:
    big = entry("big", file("9" * 40), file("1" * 40))
    assert lines(big)[1:] == [b"content not shown: no before-content: not captured: too large"]


def _run() -> RunDiff:
    return run_diff(manifest(
        entry("a.txt", file("1" * 40), file("2" * 40)),
        entry("bin", ABSENT_FILE, file("3" * 40), [Operation.CREATE]),
        entry("caf\xe9.txt".encode("latin-1").decode("utf-8", "surrogateescape"),
              ABSENT_FILE, file("4" * 40), [Operation.CREATE]),
        entry("read-only", file("1" * 40), file("1" * 40), [Operation.READ]),
    ), read)


def test_only_changed_paths_are_listed_and_paths_filter() -> None:
    assert [item.name for item in _run().files] == [b"a.txt", b"bin", b"caf\xe9.txt"]
    run = manifest(entry("d/x", file("1" * 40), file("2" * 40)),
                   entry("y", file("1" * 40), file("2" * 40)))
    assert [item.name for item in run_diff(run, read, [WS + b"/d"]).files] == [b"d/x"]


def test_patch_headers_quote_names_as_every_command_shows_them() -> None:
    created = next(item for item in _run().files if item.name == b"caf\xe9.txt")
    lines = [line for _kind, line in unified(created)]
    assert lines[0] == b'diff --git "a/caf\\xe9.txt" "b/caf\\xe9.txt"'
    assert b'+++ "b/caf\\xe9.txt"' in lines and b"--- /dev/null" in lines


def test_json_is_the_documented_shape() -> None:
    document = diff_json(_run())
    docs = (Path(__file__).resolve().parents[2] / "docs" / "cli-json.md").read_text()
    section = docs.split("## `cowsnap diff --json`", 1)[1].split("\n## ", 1)[0]
    tables = section.split("Each `files` item:")
    top = set(re.findall(r"^\| `([a-z_]+)` \|", tables[0], flags=re.MULTILINE))
    item_keys = set(re.findall(r"^\| `([a-z_]+)` \|", tables[1], flags=re.MULTILINE))
    assert set(document) == top
    plain, binary, latin = document["files"]
    assert set(plain) == item_keys
    assert plain["patch"] == ("--- a/a.txt\n+++ b/a.txt\n@@ -1,3 +1,4 @@\n one\n-two\n+2\n"
                              " three\n+four\n")
    assert plain["old"]["blob"] == "1" * 40 and plain["status"] == "c."
    assert binary["binary"] is True and binary["patch"] is None and binary["old"] is None
    assert latin["name"] == "caf\\xe9.txt" and latin["name_b64"] == "Y2Fm6S50eHQ="
    assert "patch_b64" in latin


def test_paths_outside_the_workspace_keep_their_absolute_name() -> None:
    outside = FileEntry(path=b"/etc/app.conf", operations=(Operation.WRITE,),
                        before=file("1" * 40), after=file("2" * 40), in_workspace=False)
    assert lines(outside)[:3] == [b"diff --git /etc/app.conf /etc/app.conf",
                                  b"--- /etc/app.conf", b"+++ /etc/app.conf"]


def test_an_impossible_mode_is_shown_not_a_traceback() -> None:
    """diff reads a bundle's manifest unchecked: a mode no file can have (negative, or
    beyond C's mode_t) is written as its bits, as any other."""
    for mode, shown in ((-1, b"177777"), (2**64 + 0o100640, b"100640")):
        changed = entry("odd", file(mode=0o100644), file(mode=mode), [Operation.METADATA])
        assert lines(changed)[1:3] == [b"old mode 100644", b"new mode " + shown]
