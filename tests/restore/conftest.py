"""Workspaces on every backend's filesystem, the CLI runner, a tree reader that
compares what restore must bring back (type, permissions, content, symlink target),
and an unprivileged attacker who prepares what root then restores."""

from __future__ import annotations

import os
import pwd
import stat
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

Tree = dict[str, tuple[str, int, bytes]]


def read_tree(root: Path) -> Tree:
    """Every path under `root`: (type, permission bits, content or symlink target)."""
    found: Tree = {}
    for directory, subdirs, files in os.walk(root):
        for name in subdirs + files:
            path = os.path.join(directory, name)
            relative = os.path.relpath(path, root)
            info = os.lstat(path)
            if stat.S_ISLNK(info.st_mode):
                found[relative] = ("symlink", 0, os.fsencode(os.readlink(path)))
            elif stat.S_ISDIR(info.st_mode):
                found[relative] = ("directory", stat.S_IMODE(info.st_mode), b"")
            else:
                found[relative] = ("file", stat.S_IMODE(info.st_mode), Path(path).read_bytes())
    return found


ATTACKER = "cowsnap-restore-eve"
"""An unprivileged user of this machine who prepares bundles and links for root."""


@dataclass(frozen=True)
class Attacker:
    uid: int
    gid: int

    def __call__(self, *command: str | Path) -> None:
        """Run `command` as the attacker (no groups, no privileges)."""
        subprocess.run(["setpriv", f"--reuid={self.uid}", f"--regid={self.gid}",
                        "--clear-groups", *map(str, command)], check=True, timeout=60)

    def own(self, path: Path) -> None:
        """Hand `path` (and everything under it) to the attacker."""
        for directory, _subdirs, files in os.walk(path):
            for name in (directory, *(os.path.join(directory, file) for file in files)):
                os.chown(name, self.uid, self.gid, follow_symlinks=False)


@pytest.fixture
def attacker(root_required: None) -> Attacker:
    """The attacker user, created (a system account without a home) if missing."""
    try:
        entry = pwd.getpwnam(ATTACKER)
    except KeyError:
        subprocess.run(["useradd", "--system", "--no-create-home", "--shell",
                        "/usr/sbin/nologin", ATTACKER], capture_output=True, timeout=60)
        entry = pwd.getpwnam(ATTACKER)
    return Attacker(entry.pw_uid, entry.pw_gid)


def open_to_all(path: Path) -> Path:
    """`path` and its parents up to `/` searchable by everyone (test dirs are 0700)."""
    for directory in (path, *path.parents):
        mode = stat.S_IMODE(os.lstat(directory).st_mode)
        os.chmod(directory, mode | 0o755)
    return path


Victim = dict[str, tuple[str, int, int, bytes]]


def read_victim(root: Path) -> Victim:
    """Every path under `root` with its type, mode, owner and content or target: what
    an attack on restore must leave byte-identical."""
    found: Victim = {}
    for directory, subdirs, files in os.walk(root):
        for name in subdirs + files:
            path = os.path.join(directory, name)
            info = os.lstat(path)
            if stat.S_ISLNK(info.st_mode):
                data = os.fsencode(os.readlink(path))
            elif stat.S_ISREG(info.st_mode):
                data = Path(path).read_bytes()
            else:
                data = b""
            found[os.path.relpath(path, root)] = (stat.filemode(info.st_mode),
                                                 stat.S_IMODE(info.st_mode), info.st_uid, data)
    return found
