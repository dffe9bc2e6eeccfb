"""A written file gets exactly its recorded permission bits, whatever the umask: it is
created with them (less set-id bits, write for group and others, and what the file does
not grant both its group and others) and `chmod`ed only when that, or the umask, made
them differ; nobody the file denies can open its temporary meanwhile."""

from __future__ import annotations

import os
import stat
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from cowsnap import api
from cowsnap.model import FileEntry, FileState
from cowsnap.restore import apply
from cowsnap.restore.contents import Contents
from cowsnap.restore.leftovers import TEMP_PREFIX
from tests.restore.conftest import Attacker, open_to_all

MODES = {"private": 0o600, "shared": 0o644, "group-writable": 0o664, "program": 0o755,
         "read-only": 0o444, "setuid": 0o4755, "nothing": 0o000, "group-only": 0o640,
         "others-only": 0o604}
CREATED = {"private": 0o600, "shared": 0o644, "group-writable": 0o644, "program": 0o755,
           "read-only": 0o444, "setuid": 0o755, "nothing": 0o000, "group-only": 0o600,
           "others-only": 0o600}
"""The bits each is created with (before the umask): a group or others bit only when
the file grants it to both."""


@pytest.fixture
def chmods(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[list[int]]:
    """The modes restore sets with chmod, from here on."""
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    seen: list[int] = []
    chmod = os.chmod

    def recording_chmod(path: int | str | bytes, mode: int, **kwargs: bool) -> None:
        seen.append(mode)
        chmod(path, mode, **kwargs)

    monkeypatch.setattr(apply.os, "chmod", recording_chmod)
    yield seen


@pytest.mark.parametrize("umask", [0o022, 0o077, 0o000])
def test_removed_files_come_back_with_their_modes_whatever_the_umask(
        tmp_path: Path, chmods: list[int], umask: int) -> None:
    workspace = tmp_path / "workspace"
    workspace.mkdir()
    for name, mode in MODES.items():
        (workspace / name).write_bytes(name.encode())
        os.chmod(workspace / name, mode)
    store = tmp_path / "store"
    ran = api.run(api.RunRequest(command=["sh", "-c", f"rm -f {' '.join(MODES)}"],
                                 cwd=workspace, workspace=workspace, store=store))
    assert (ran.exit_status, ran.recording_error) == (0, None)
    chmods.clear()
    previous = os.umask(umask)
    try:
        restored = api.restore(ran.run_id, cwd=workspace, workspace=workspace, store=store)
    finally:
        os.umask(previous)
    assert restored.exit_code == 0, restored
    for name, mode in MODES.items():  # set-id bits too: the restoring user's own run
        assert stat.S_IMODE((workspace / name).stat().st_mode) == mode, name
        assert (workspace / name).read_bytes() == name.encode()
    needed = {mode for name, mode in MODES.items() if CREATED[name] & ~umask != mode}
    assert set(chmods) == needed
    assert len(chmods) == len(needed)


SNOOP = """
import os, sys
fds, found = [], 0
for name in os.listdir(sys.argv[1]):
    if name.startswith(sys.argv[2]):
        found += 1
        try:
            fds.append(os.open(os.path.join(sys.argv[1], name), os.O_RDONLY))
        except PermissionError:
            pass
print(found, flush=True)
sys.stdin.readline()
print(b"".join(os.read(fd, 4096) for fd in fds).decode(), end="")
"""
"""Run by the attacker: opens every temporary of a restore it can, at once (as inotify
would let it), and reads them when told: whatever they hold by then."""


@pytest.mark.parametrize("shared_by", ["setgid directory", "default ACL", "other"])
def test_a_temporary_is_never_readable_by_whom_the_file_denies(
        ext4_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        attacker: Attacker, shared_by: str) -> None:
    """Root undoes `rm secret/key` (group root) in a directory the attacker may read,
    the file itself denied to the attacker: 0640 when new files there get the
    attacker's group (setgid) or a default ACL naming the attacker, or 0644 with an
    ACL denying the attacker (an "other" to a file without it). The attacker opens
    the restore's temporary while its content is written, keeps the fd, and reads
    nothing: until the file has its own mode, group and ACL, only what the file
    grants both its group and others may be granted."""
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    workspace = open_to_all(ext4_dir) / "ws"
    secret = workspace / "secret"
    secret.mkdir(parents=True)
    key = secret / "key"
    key.write_text("the secret\n")
    os.chmod(key, 0o640)
    if shared_by == "setgid directory":
        os.chown(secret, 0, attacker.gid)
        os.chmod(secret, 0o2755)
    elif shared_by == "default ACL":
        subprocess.run(["setfacl", "-d", "-m", f"u:{attacker.uid}:rx", str(secret)],
                       check=True, timeout=60)
    else:
        os.chmod(key, 0o644)
        subprocess.run(["setfacl", "-m", f"u:{attacker.uid}:-", str(key)],
                       check=True, timeout=60)
    before = key.stat()
    acl = os.getxattr(key, "system.posix_acl_access") if shared_by == "other" else None
    store = tmp_path / "store"
    ran = api.run(api.RunRequest(command=["rm", "secret/key"], cwd=workspace,
                                 workspace=workspace, store=store))
    assert (ran.exit_status, ran.recording_error) == (0, None)
    snoops: list[subprocess.Popen[str]] = []
    write = Contents.write

    def write_while_snooped(contents: Contents, entry: FileEntry, state: FileState,
                            fd: int) -> None:
        snoop = subprocess.Popen(
            ["setpriv", f"--reuid={attacker.uid}", f"--regid={attacker.gid}",
             "--clear-groups", "/usr/bin/python3", "-c", SNOOP, str(secret),
             os.fsdecode(TEMP_PREFIX)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        snoops.append(snoop)
        assert snoop.stdout is not None
        # it has opened what it could of the temporaries it found: the one being written
        assert snoop.stdout.readline() == "1\n"
        write(contents, entry, state, fd)

    monkeypatch.setattr(Contents, "write", write_while_snooped)
    try:
        restored = api.restore(ran.run_id, cwd=workspace, workspace=workspace, store=store)
        assert restored.exit_code == 0, restored
        assert len(snoops) == 1
        leaked, _ = snoops[0].communicate("read\n", timeout=60)
    finally:
        for snoop in snoops:  # none is left waiting when an assertion failed first
            snoop.kill()
            snoop.wait(timeout=60)
    assert leaked == ""
    after = key.stat()
    assert (after.st_mode, after.st_uid, after.st_gid) == (
        before.st_mode, before.st_uid, before.st_gid)
    if acl is not None:
        assert os.getxattr(key, "system.posix_acl_access") == acl
    assert key.read_text() == "the secret\n"
