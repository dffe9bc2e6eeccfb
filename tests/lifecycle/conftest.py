"""Store lifecycle fixtures: runs published straight into a store (for prune and check
without tracing), and the real CLI started in the background, to pause and kill."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from cowsnap.model import FileEntry, FileState, Manifest, Operation
from cowsnap.store.runs import new_run_id
from cowsnap.store.store import Store
from tests.conftest import Cowsnap


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store.open(tmp_path / "store")


def publish(store: Store, workspace: Path, contents: list[bytes],
            started_at: datetime | None = None) -> str:
    """A run of `workspace` that wrote one file per content (stored as its after-content)."""
    blobs = [(store.contents.put_bytes(data), len(data)) for data in contents]
    return publish_blobs(store, workspace, blobs, started_at)


def publish_blobs(store: Store, workspace: Path, blobs: list[tuple[str, int]],
                  started_at: datetime | None = None) -> str:
    """A run of `workspace` that wrote one file per (stored content id, size)."""
    moment = started_at or datetime.now(UTC)
    run_id = new_run_id(moment)
    files = tuple(
        FileEntry(path=os.fsencode(workspace / f"file{number}"), operations=(Operation.WRITE,),
                  before=FileState(exists=False),
                  after=FileState(exists=True, type="file", mode=0o100644, size=size,
                                  mtime_ns=0, uid=0, blob=blob, blob_source="store"))
        for number, (blob, size) in enumerate(blobs))
    stamp = moment.isoformat().replace("+00:00", "Z")
    manifest = Manifest(run_id=run_id, tool_version="test", command=("test",), exit_status=0,
                        start_cwd=str(workspace), workspace=str(workspace), backend="copy",
                        uid=0, gid=0, started_at=stamp, finished_at=stamp, files=files)
    store.runs.begin(run_id).publish(manifest)
    return run_id


def loose_path(store: Store, blob: str) -> Path:
    return store.root / store.contents.loose_name(blob)


def git_blob_id(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\x00" % len(data) + data).hexdigest()


def flip_byte(path: Path, offset: int) -> None:
    """Invert one byte of `path` in place (the file is 0600 root-owned: chmod around it)."""
    mode = path.stat().st_mode
    path.chmod(0o600)
    with path.open("r+b") as handle:
        handle.seek(offset)
        byte = handle.read(1)
        handle.seek(offset)
        handle.write(bytes([byte[0] ^ 0xFF]))
    path.chmod(mode & 0o7777)


class Background:
    """A cowsnap command started in its own process group, to pause at a stage or kill."""

    def __init__(self, cowsnap: Cowsnap, args: list[str], cwd: Path,
                 pause_at: str | None = None, marker: Path | None = None) -> None:
        env = cowsnap.env()
        if pause_at is not None and marker is not None:
            env.update(COWSNAP_PAUSE_AT=pause_at, COWSNAP_PAUSE_MARKER=str(marker))
        self.marker = marker
        self.process = subprocess.Popen([sys.executable, "-m", "cowsnap", *args], cwd=cwd,
                                        env=env, stdout=subprocess.PIPE,
                                        stderr=subprocess.PIPE)

    def wait_for_pause(self, timeout: float = 30) -> None:
        assert self.marker is not None
        deadline = time.monotonic() + timeout
        while not self.marker.exists():
            if self.process.poll() is not None:
                _, err = self.process.communicate()
                raise AssertionError(f"cowsnap ended before pausing: {err.decode()}")
            if time.monotonic() > deadline:
                raise AssertionError("cowsnap never reached its stage")
            time.sleep(0.01)

    def resume(self) -> None:
        assert self.marker is not None
        self.marker.unlink()

    def kill(self) -> None:
        """SIGKILL cowsnap alone (not its group): what it started must die with it."""
        self.process.send_signal(signal.SIGKILL)
        self.process.communicate(timeout=30)

    def finish(self, timeout: float = 60) -> subprocess.CompletedProcess[bytes]:
        out, err = self.process.communicate(timeout=timeout)
        return subprocess.CompletedProcess(self.process.args, self.process.returncode, out, err)


@pytest.fixture
def background() -> Iterator[list[Background]]:
    """Started Background commands are killed at the end of the test, whatever happened."""
    started: list[Background] = []
    yield started
    for item in started:
        if item.process.poll() is None:
            item.process.kill()
            item.process.communicate(timeout=30)


@pytest.fixture
def small_filesystem(tmp_path: Path, root_required: None) -> Iterator[Path]:
    """A 64 MiB ext4 image, loop-mounted; unmounted and removed afterwards."""
    image = tmp_path / "small.img"
    mount_point = tmp_path / "small"
    mount_point.mkdir()
    with image.open("wb") as handle:
        handle.truncate(64 * 1024 * 1024)
    subprocess.run(["mkfs.ext4", "-q", "-F", str(image)], check=True, timeout=60)
    subprocess.run(["mount", "-o", "loop", str(image), str(mount_point)], check=True,
                   timeout=60)
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", str(mount_point)], check=True, timeout=60)
