"""An error is one line on stderr whatever text it carries: a hostile git server's
message (libgit2's 'remote error: ...') with an escape sequence and a carriage return
reaches the terminal escaped."""

from __future__ import annotations

import socket
import threading
from pathlib import Path

from tests.conftest import Cowsnap

HOSTILE = b"\x1b]0;owned\x07\rcowsnap: fetched 1 run"


def _serve_one_error(server: socket.socket) -> None:
    """Answer one git:// request with an ERR packet carrying HOSTILE."""
    connection, _address = server.accept()
    with connection:
        connection.recv(4096)
        packet = b"ERR " + HOSTILE + b"\n"
        connection.sendall(b"%04x" % (len(packet) + 4) + packet)


def test_a_remote_error_with_control_characters_is_one_escaped_line(
        cowsnap: Cowsnap, tmp_path: Path) -> None:
    with socket.create_server(("127.0.0.1", 0)) as server:
        server.settimeout(30)  # a cowsnap that never connects fails the test, not the thread
        port = server.getsockname()[1]
        answering = threading.Thread(target=_serve_one_error, args=(server,), daemon=True)
        answering.start()
        result = cowsnap("fetch", f"git://127.0.0.1:{port}/runs", cwd=tmp_path, check=False,
                         timeout=60)
        answering.join(timeout=30)
    assert result.returncode == 1, result
    stderr = result.stderr.decode()
    assert stderr.startswith("cowsnap: error: ") and stderr.count("\n") == 1, stderr
    assert "\\x1b]0;owned\\x07" in stderr
    assert "\x1b" not in stderr and "\x07" not in stderr and "\r" not in stderr
