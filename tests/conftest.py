"""The real-filesystem test bed, and the real CLI run against it.

tests/run-all.sh mounts loop images and exports their mount points:
COWSNAP_TEST_BTRFS, COWSNAP_TEST_XFS (mkfs -m reflink=1) and COWSNAP_TEST_EXT4.
A test that needs one of them, or root, skips on a developer machine without it
and fails under CI (CI=true), so a broken test bed can never pass as green.
"""

from __future__ import annotations

import hashlib
import json
import os
import pty
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from cowsnap.cli import main
from cowsnap.store.keeping import ContentWriter
from cowsnap.store.runs import CHECKSUMS, MANIFEST
from cowsnap.store.store import Store

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}

FILESYSTEM_ENV = {
    "btrfs": "COWSNAP_TEST_BTRFS",
    "xfs": "COWSNAP_TEST_XFS",
    "ext4": "COWSNAP_TEST_EXT4",
}


def pytest_configure(config: pytest.Config) -> None:
    """Start the tests with the signal dispositions of a shell's foreground job. Under
    nohup the test runner ignores SIGHUP, as a background job of a script it ignores
    SIGINT and SIGQUIT; every command the tests start inherits that, so the tests of
    commands killed by those signals failed when the suite was run that way."""
    for number in (signal.SIGHUP, signal.SIGQUIT):
        if signal.getsignal(number) == signal.SIG_IGN:
            signal.signal(number, signal.SIG_DFL)
    if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)


def keep_file(store: Store, path: Path) -> str:
    """Keep one file in `store` the way a run does; its content id."""
    with ContentWriter(store.contents) as writer:
        blob = writer.keep_path(os.fsencode(path))
    assert blob is not None
    return blob


def missing_environment(reason: str) -> None:
    """Fail under CI, skip elsewhere."""
    if IN_CI:
        pytest.fail(f"test environment incomplete under CI: {reason}")
    pytest.skip(reason)


def require_root() -> None:
    if os.geteuid() != 0:
        missing_environment("needs root")


def mount_point(kind: str) -> Path:
    """The mounted test filesystem of `kind` ("btrfs", "xfs", "ext4")."""
    variable = FILESYSTEM_ENV[kind]
    value = os.environ.get(variable)
    if not value or not os.path.ismount(value):
        missing_environment(f"no {kind} test filesystem (set {variable}; tests/run-all.sh does)")
    return Path(value)  # type: ignore[arg-type]


def fresh_dir_on(kind: str) -> Iterator[Path]:
    """A new empty directory on the test filesystem of `kind`, removed afterwards."""
    if kind == "tmp":
        path = Path(tempfile.mkdtemp(prefix="cowsnap-test-"))
    else:
        path = Path(tempfile.mkdtemp(prefix="cowsnap-test-", dir=mount_point(kind)))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def btrfs_dir() -> Iterator[Path]:
    yield from fresh_dir_on("btrfs")


@pytest.fixture
def xfs_dir() -> Iterator[Path]:
    yield from fresh_dir_on("xfs")


@pytest.fixture
def ext4_dir() -> Iterator[Path]:
    yield from fresh_dir_on("ext4")


@pytest.fixture
def root_required() -> None:
    require_root()


@pytest.fixture
def isolated_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """HOME, XDG dirs and the store pointed into tmp_path, so tests never touch the real ones."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_DATA_HOME", str(home / ".local" / "share"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.delenv("COWSNAP_STORE", raising=False)
    return home


@dataclass
class Cowsnap:
    """Runs `python -m cowsnap` with an isolated home, config and store."""

    home: Path
    store: Path

    def env(self) -> dict[str, str]:
        env = {key: value for key, value in os.environ.items() if not key.startswith("GIT_")}
        env.update(HOME=str(self.home), XDG_CONFIG_HOME=str(self.home / ".config"),
                   XDG_CACHE_HOME=str(self.home / ".cache"),
                   XDG_DATA_HOME=str(self.home / ".local" / "share"),
                   COWSNAP_STORE=str(self.store), LC_ALL="C.UTF-8")
        return env

    def on_terminal(self, *args: str, cwd: Path, env: dict[str, str] | None = None,
                    timeout: float = 60) -> tuple[int, bytes]:
        """Run `cowsnap ARGS` with stdin, stdout and stderr on a pseudo-terminal;
        (exit status, everything it showed)."""
        leader, follower = pty.openpty()
        process = subprocess.Popen([sys.executable, "-m", "cowsnap", *args], cwd=cwd,
                                   env=env or self.env(), stdin=follower, stdout=follower,
                                   stderr=follower)
        os.close(follower)
        shown = b""
        try:
            while chunk := os.read(leader, 4096):
                shown += chunk
        except OSError:
            pass
        finally:
            os.close(leader)
        return process.wait(timeout=timeout), shown

    def __call__(self, *args: str | bytes, cwd: Path, timeout: float = 60,
                 check: bool = True) -> subprocess.CompletedProcess[bytes]:
        result = subprocess.run([sys.executable, "-m", "cowsnap", *args], cwd=cwd,
                                env=self.env(), capture_output=True, timeout=timeout)
        if check and result.returncode != 0:
            raise AssertionError(
                f"cowsnap {args!r} exited {result.returncode}: {result.stderr.decode()}")
        return result


def invoke(cowsnap: Cowsnap, workspace: Path, *args: str) -> Result:
    """The CLI in-process, on `cowsnap`'s store, from `workspace`."""
    here = os.getcwd()
    os.chdir(workspace)
    try:
        return CliRunner().invoke(main, list(args), env=cowsnap.env(), catch_exceptions=False,
                                  prog_name="cowsnap")
    finally:
        os.chdir(here)


@pytest.fixture
def cowsnap(tmp_path: Path) -> Cowsnap:
    home = tmp_path / "home"
    home.mkdir()
    return Cowsnap(home=home, store=tmp_path / "store")


def btrfs_workspace() -> Iterator[Path]:
    require_root()
    for parent in fresh_dir_on("btrfs"):
        workspace = parent / "workspace"
        subprocess.run(["btrfs", "-q", "subvolume", "create", str(workspace)], check=True)
        try:
            yield workspace
        finally:
            shutil.rmtree(workspace, ignore_errors=True)
            subprocess.run(["btrfs", "-q", "subvolume", "delete", str(workspace)],
                           check=False, capture_output=True)


def plain_workspace(kind: str) -> Iterator[Path]:
    for parent in fresh_dir_on(kind):
        workspace = parent / "workspace"
        workspace.mkdir()
        yield workspace


BACKEND_FILESYSTEMS = {"btrfs": "btrfs", "reflink": "xfs", "copy": "ext4"}


def workspace_for(backend: str) -> Iterator[Path]:
    """A fresh workspace on the filesystem `backend` is meant for."""
    if backend == "btrfs":
        return btrfs_workspace()
    return plain_workspace(BACKEND_FILESYSTEMS[backend])


@pytest.fixture(params=list(BACKEND_FILESYSTEMS))
def backend_workspace(request: pytest.FixtureRequest) -> Iterator[tuple[str, Path]]:
    """(backend name, a fresh workspace on the filesystem that backend is meant for)."""
    backend = request.param
    yield from ((backend, workspace) for workspace in workspace_for(backend))


@pytest.fixture
def ext4_workspace() -> Iterator[Path]:
    yield from plain_workspace("ext4")


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    """An empty directory, resolved (as recorded paths are)."""
    path = tmp_path / "workspace"
    path.mkdir()
    return path.resolve()


def rewrite_manifest(path: Path, raw: bytes) -> None:
    """Replace the published manifest at `path` as a tamperer would: with its checksum
    (checksums.json) updated too, so only the manifest's own validation can object."""
    checksums_path = path.parent / CHECKSUMS
    checksums = json.loads(checksums_path.read_bytes())
    checksums[MANIFEST] = hashlib.sha256(raw).hexdigest()
    for target, data in ((path, raw), (checksums_path, json.dumps(checksums).encode())):
        os.chmod(target, 0o600)
        target.write_bytes(data)
