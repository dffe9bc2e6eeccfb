"""cowsnap.cli.format and --stat: one way to show paths, commands and widths."""

from __future__ import annotations

from cowsnap import api
from cowsnap.cli.diffstat import stat, width_of
from cowsnap.cli.format import command_line, count, display_path, exit_description
from cowsnap.model import FileState


def test_display_path_quotes_only_what_needs_it() -> None:
    assert display_path(b"src/main.c") == "src/main.c"
    assert display_path("caf\u00e9/ü".encode()) == "caf\u00e9/ü"
    assert display_path(b"caf\xe9") == '"caf\\xe9"'
    assert display_path(b"a\tb\nc") == '"a\\tb\\nc"'
    assert display_path(b'say "hi" \\') == '"say \\"hi\\" \\\\"'
    assert display_path(b"\x1b[31m") == '"\\x1b[31m"'


def test_command_line_is_one_line_a_shell_reads_back() -> None:
    assert command_line(["make", "-j4"]) == "make -j4"
    assert command_line(["sh", "-c", "echo 'a b'"]) == "sh -c 'echo '\"'\"'a b'\"'\"''"
    assert command_line(["python3", "-c", "import os\nprint(1)"]) == \
        "python3 -c $'import os\\nprint(1)'"


def test_counts_and_signals() -> None:
    assert [count(1, "run"), count(2, "run"), count(0, "git repository")] == \
        ["1 run", "2 runs", "0 git repositories"]
    assert exit_description(143) == "143 (SIGTERM)"
    assert exit_description(2) == "2"


def file_diff(name: bytes, additions: int, deletions: int, binary: bool = False,
              sizes: tuple[int, int] = (0, 0)) -> api.FileDiff:
    return api.FileDiff(path=b"/w/" + name, name=name, status="c.", change=frozenset(),
                        old=FileState(exists=True, type="file", size=sizes[0]),
                        new=FileState(exists=True, type="file", size=sizes[1]),
                        binary=binary, additions=additions, deletions=deletions)


def test_stat_fits_the_width_aligns_wide_names_and_sizes_binaries() -> None:
    files = [file_diff("日本.txt".encode(), 300, 100), file_diff(b"a.txt", 1, 0),
             file_diff(b"b.bin", 0, 0, binary=True, sizes=(10, 12))]
    lines = stat(files, width=40)
    assert all(width_of(line) <= 40 for line in lines[:-1])
    assert all(line == line.rstrip() for line in lines)
    bars = [line.index("|") for line in lines[:3]]
    assert len({width_of(line[:bar]) for line, bar in zip(lines, bars, strict=False)}) == 1
    assert lines[2] == " b.bin    | Bin 10 bytes -> 12 bytes"
    assert lines[-1] == " 3 files changed, 301 insertions(+), 100 deletions(-)"


def test_a_rename_is_one_r_line() -> None:
    from cowsnap.cli.diffstat import name_status

    absent = FileState(exists=False)
    present = FileState(exists=True, type="file", size=1)
    files = [api.FileDiff(path=b"/w/new", name=b"new", status="+.", change=frozenset(),
                          old=absent, new=present),
             api.FileDiff(path=b"/w/old", name=b"old", status="-.", change=frozenset(),
                          old=present, new=absent),
             api.FileDiff(path=b"/w/other", name=b"other", status="-.", change=frozenset(),
                          old=present, new=absent)]
    renames = {b"/w/new": b"/w/old"}
    assert name_status(files, renames) == [b"R\told\tnew", b"D\tother"]
    assert name_status(files, renames, nul=True) == [b"R\0old\0new", b"D\0other"]
    assert name_status(files) == [b"A\tnew", b"D\told", b"D\tother"]


def test_git_letters_for_each_change() -> None:
    from cowsnap.cli.diffstat import name_status

    present = FileState(exists=True, type="file", size=1)
    link = FileState(exists=True, type="symlink", target=b"a")
    files = [api.FileDiff(path=b"/w/" + name, name=name, status=status, change=frozenset(),
                          old=old, new=new)
             for name, status, old, new in ((b"mod", "c.", present, present),
                                            (b"chmod", ".p", present, present),
                                            (b"typed", "t.", present, link))]
    assert name_status(files) == [b"M\tmod", b"M\tchmod", b"T\ttyped"]
