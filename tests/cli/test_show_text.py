"""`cowsnap show` renders one status line per path and hides unchanged outside paths."""

from __future__ import annotations

from dataclasses import replace

from cowsnap.cli.show import show_text
from cowsnap.model import FileEntry, FileState, Manifest, Operation, status_code

ABSENT = FileState(exists=False)


def file_state(blob: str, mode: int = 0o100644) -> FileState:
    return FileState(exists=True, type="file", mode=mode, size=3, mtime_ns=1, blob=blob)


def manifest(*files: FileEntry) -> Manifest:
    return Manifest(run_id="r1", tool_version="0", command=("make",), exit_status=0,
                    start_cwd="/w", workspace="/w", backend="copy", uid=0, gid=0,
                    started_at="2026-01-01T00:00:00Z", finished_at="2026-01-01T00:00:01Z",
                    files=files)


CREATED = FileEntry(b"/w/new", (Operation.CREATE,), ABSENT, file_state("a"))
DELETED = FileEntry(b"/w/gone", (Operation.DELETE,), file_state("a"),
                    FileState(exists=False, tombstone=True))
CHANGED = FileEntry(b"/w/changed", (Operation.WRITE,), file_state("a"), file_state("b"))
CHMODDED = FileEntry(b"/w/mode", (Operation.METADATA,), file_state("a"),
                     file_state("a", 0o100600))
LIBRARY = FileEntry(b"/usr/lib/libc.so.6", (Operation.READ,), file_state("c"), file_state("c"),
                    in_workspace=False)


def test_status_codes() -> None:
    assert [status_code(entry) for entry in (CREATED, DELETED, CHANGED, CHMODDED, LIBRARY)] == [
        "+.", "-.", "c.", ".p", ".."]


def test_unchanged_outside_paths_are_summarised_unless_all() -> None:
    text = show_text(manifest(CREATED, LIBRARY))
    assert "+. new  [create]" in text
    assert "libc" not in text
    assert "(and 1 unchanged paths outside the workspace or only looked at, 1 of them read; " \
           "--all lists them)" in text
    assert ".. /usr/lib/libc.so.6  [read]" in show_text(manifest(CREATED, LIBRARY),
                                                        everything=True)


def test_non_utf8_paths_are_shown_escaped() -> None:
    entry = FileEntry(b"/w/caf\xe9", (Operation.CREATE,), ABSENT, file_state("a"))
    assert '"caf\\xe9"' in show_text(manifest(entry))


def test_free_text_from_a_run_cannot_reach_the_terminal_raw() -> None:
    hostile = replace(manifest(CREATED), warnings=("\x1b]0;owned\x07 look",),
                      session="s\x1b[2J", backend="copy\x1b[31m")
    text = show_text(hostile)
    assert "\x1b" not in text and "\x07" not in text
    assert "warning:   \\x1b]0;owned\\x07 look" in text
    assert "session:   s\\x1b[2J" in text
