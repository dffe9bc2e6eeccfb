"""The MCP tools' compact results, on plain data."""

from __future__ import annotations

import os

from cowsnap.agent.mcp_server import READ_OUTPUT, _OutputEnd
from cowsnap.agent.results import OUTPUT_TAIL_LINES, relative, run_result, tail


def test_the_tail_keeps_the_last_lines_and_says_what_it_cut() -> None:
    output = b"".join(b"line %d\n" % number for number in range(100))
    shown, cut = tail(output)
    assert cut and shown.splitlines()[-1] == "line 99"
    assert len(shown.splitlines()) == OUTPUT_TAIL_LINES
    assert tail(b"one\ntwo\n") == ("one\ntwo", False)
    assert tail(b"\xff\xfe bytes") == ("\ufffd\ufffd bytes", False)


def test_huge_output_is_kept_from_its_end_only() -> None:
    read_fd, write_fd = os.pipe()
    with os.fdopen(read_fd, "rb") as pipe:
        kept = _OutputEnd(pipe)
        with os.fdopen(write_fd, "wb") as writer:
            writer.write(b"x" * (3 * READ_OUTPUT) + b"\nlast line\n")
        end, cut = kept.result(), kept.cut
    assert cut and len(end) == READ_OUTPUT and end.endswith(b"last line\n")
    result = run_result(None, None, 0, end, None, cut)
    assert result["output_truncated"] and result["output_tail"].endswith("last line")
    assert result["changes"] == [] and result["more_changes"] == 0


def test_paths_are_relative_to_the_workspace_inside_it_only() -> None:
    assert relative(b"/w/src/a.c", "/w") == "src/a.c"
    assert relative(b"/w", "/w") == "."
    assert relative(b"/wx/a", "/w") == "/wx/a"
    assert relative(b"/w/caf\xe9", "/w") == "caf\\xe9"
