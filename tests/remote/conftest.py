"""Real git servers on 127.0.0.1, started by the tests themselves: a bare repository
over file://, `git daemon --enable=receive-pack`, and smart HTTP (`git http-backend`
behind http_git_server.py)."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

SERVER_SCRIPT = Path(__file__).with_name("http_git_server.py")


def make_bare(path: Path) -> Path:
    subprocess.run(["git", "init", "-q", "--bare", str(path)], check=True)
    subprocess.run(["git", "--git-dir", str(path), "config", "http.receivepack", "true"],
                   check=True)
    return path


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _listening(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


@dataclass
class Server:
    url: str
    repository: Path


@contextmanager
def running_daemon(base: Path) -> Iterator[int]:
    """`git daemon` serving the repositories under `base` on a free port; yields the port."""
    for _attempt in range(5):
        port = _free_port()
        process = subprocess.Popen(
            ["git", "daemon", "--reuseaddr", f"--base-path={base}", "--export-all",
             "--enable=receive-pack", "--listen=127.0.0.1", f"--port={port}", str(base)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        while process.poll() is None and not _listening(port):
            time.sleep(0.05)
        if process.poll() is None:
            try:
                yield port
            finally:
                process.terminate()
                process.wait(timeout=10)
            return
    raise RuntimeError("git daemon did not start")


def daemon_server(base: Path, name: str) -> Iterator[Server]:
    repository = make_bare(base / name)
    with running_daemon(base) as port:
        yield Server(url=f"git://127.0.0.1:{port}/{name}", repository=repository)


def http_server(base: Path, name: str, *options: str) -> Iterator[Server]:
    repository = make_bare(base / name)
    process = subprocess.Popen([sys.executable, str(SERVER_SCRIPT), str(base), *options],
                               stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    try:
        assert process.stdout is not None
        port = int(process.stdout.readline())
        yield Server(url=f"http://127.0.0.1:{port}/{name}", repository=repository)
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture(params=["file", "daemon", "http"])
def server(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Server]:
    """A fresh, empty remote of each kind."""
    base = tmp_path / "served"
    base.mkdir()
    if request.param == "file":
        repository = make_bare(base / "runs.git")
        yield Server(url=f"file://{repository}", repository=repository)
    elif request.param == "daemon":
        yield from daemon_server(base, "runs.git")
    else:
        yield from http_server(base, "runs.git")
