"""Real git servers on 127.0.0.1, started by the tests themselves: a bare repository
over file://, `git daemon --enable=receive-pack`, smart HTTP (`git http-backend`
behind http_git_server.py), and ssh (an `sshd` of the test's own, on a free port,
admitting one key made for the test)."""

from __future__ import annotations

import os
import pwd
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.conftest import missing_environment

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
    client_files: dict[str, bytes] = field(default_factory=dict)
    """What a client needs in ~/.ssh to reach an ssh server: its key, known_hosts."""

    def admit(self, home: Path) -> None:
        """Give whoever uses `home` what it takes to reach this server."""
        for name, data in self.client_files.items():
            path = home / ".ssh" / name
            path.parent.mkdir(mode=0o700, exist_ok=True)
            path.write_bytes(data)
            path.chmod(0o600)


@contextmanager
def running_daemon(base: Path) -> Iterator[int]:
    """`git daemon` serving the repositories under `base` on a free port; yields the port."""

    def start(port: int) -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            ["git", "daemon", "--reuseaddr", f"--base-path={base}", "--export-all",
             "--enable=receive-pack", "--listen=127.0.0.1", f"--port={port}", str(base)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    with _listening_server(start, "git daemon") as port:
        yield port


@contextmanager
def _listening_server(start: Callable[[int], subprocess.Popen[bytes]],
                      name: str) -> Iterator[int]:
    """A server `start`ed on a free port of 127.0.0.1, once it listens there (another
    process may take the port first: tried five times); yields the port, then stops it."""
    for _attempt in range(5):
        port = _free_port()
        process = start(port)
        while process.poll() is None and not _listening(port):
            time.sleep(0.05)
        if process.poll() is None:
            try:
                yield port
            finally:
                process.terminate()
                process.wait(timeout=10)
            return
    raise RuntimeError(f"{name} did not start")


SSHD = Path("/usr/sbin/sshd")


def ssh_keys(directory: Path) -> dict[str, bytes]:
    """A fresh host key and client key in `directory`: name -> public key line."""
    directory.mkdir()
    public = {}
    for name in ("host", "client"):
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", name, "-f",
                        str(directory / name)], check=True)
        public[name] = (directory / f"{name}.pub").read_bytes()
    return public


@contextmanager
def running_sshd(keys: Path) -> Iterator[int]:
    """An sshd on 127.0.0.1 with host key `keys/host`, admitting only `keys/client` (as
    the current user); yields its port."""
    if not SSHD.exists():
        missing_environment("no sshd (openssh-server; tests/provision.sh installs it)")
    if os.geteuid() == 0:
        Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)

    def start(port: int) -> subprocess.Popen[bytes]:
        config = keys / "sshd_config"
        config.write_text(
            f"Port {port}\nListenAddress 127.0.0.1\nHostKey {keys / 'host'}\n"
            f"AuthorizedKeysFile {keys / 'client.pub'}\nPidFile none\nUsePAM no\n"
            f"StrictModes no\nPasswordAuthentication no\nKbdInteractiveAuthentication no\n"
            f"PermitRootLogin prohibit-password\n")
        return subprocess.Popen([str(SSHD), "-D", "-e", "-f", str(config)],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    with _listening_server(start, "sshd") as port:
        yield port


def ssh_server(base: Path, name: str) -> Iterator[Server]:
    repository = make_bare(base / name)
    keys = base.parent / "ssh-keys"
    public = ssh_keys(keys)
    user = pwd.getpwuid(os.getuid()).pw_name
    with running_sshd(keys) as port:
        yield Server(url=f"ssh://{user}@127.0.0.1:{port}{repository}", repository=repository,
                     client_files={"id_ed25519": (keys / "client").read_bytes(),
                                   "id_ed25519.pub": public["client"],
                                   "known_hosts": b"[127.0.0.1]:%d " % port + public["host"]})


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


@pytest.fixture(params=["file", "daemon", "http", "ssh"])
def server(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Server]:
    """A fresh, empty remote of each kind."""
    yield from serve(request.param, tmp_path / "served")


def serve(kind: str, base: Path) -> Iterator[Server]:
    """A fresh, empty remote `runs.git` of `kind` (file, daemon, http, ssh) in `base`."""
    base.mkdir()
    if kind == "file":
        repository = make_bare(base / "runs.git")
        yield Server(url=f"file://{repository}", repository=repository)
    elif kind == "daemon":
        yield from daemon_server(base, "runs.git")
    elif kind == "ssh":
        yield from ssh_server(base, "runs.git")
    else:
        yield from http_server(base, "runs.git")
