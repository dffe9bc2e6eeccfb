"""An unprivileged user who prepares stores, bundles and directories that root then uses.

Tests as an attacker would write them: the preparation runs as that user (`as_attacker`,
plain shell tools: the attacker needs no cowsnap), root runs cowsnap afterwards.
"""

from __future__ import annotations

import hashlib
import os
import pwd
import subprocess
import time
from pathlib import Path

ATTACKER = "cowsnap-store-mallory"


def attacker_ids() -> tuple[int, int]:
    """(uid, gid) of the attacker, created as a system user on first use."""
    for _attempt in range(20):
        try:
            entry = pwd.getpwnam(ATTACKER)
            return entry.pw_uid, entry.pw_gid
        except KeyError:
            result = subprocess.run(["useradd", "--system", "--no-create-home", "--user-group",
                                     "--shell", "/usr/sbin/nologin", ATTACKER],
                                    capture_output=True, check=False)
            if result.returncode not in (0, 9):  # 9: created meanwhile by someone else
                time.sleep(0.5)  # /etc/passwd locked by another useradd: try again
    raise AssertionError(f"cannot create the user {ATTACKER}")


def as_attacker(script: str, cwd: Path) -> None:
    """Run the shell `script` as the attacker in `cwd`."""
    uid, gid = attacker_ids()
    subprocess.run(["sh", "-ec", script], cwd=cwd, user=uid, group=gid, extra_groups=[],
                   env={"PATH": "/usr/bin:/bin"}, check=True, timeout=60)


def give_to_attacker(path: Path) -> None:
    """Make `path` (a whole tree) the attacker's, as if the attacker had made it."""
    uid, gid = attacker_ids()
    os.chown(path, uid, gid)
    for parent, directories, files in os.walk(path):
        for name in directories + files:
            os.chown(os.path.join(parent, name), uid, gid, follow_symlinks=False)


def attacker_area(base: Path) -> Path:
    """A directory under `base` the attacker owns and root can reach (base made 0755)."""
    os.chmod(base, 0o755)
    area = base / "attacker"
    area.mkdir(mode=0o755)
    give_to_attacker(area)
    return area


def tree_digest(top: Path) -> dict[str, tuple[int, int, int, str]]:
    """Every path under `top` with its mode, owner, group and content digest (or link
    target): to prove a victim tree byte-identical after an attack."""
    found = {}
    for parent, directories, files in os.walk(top):
        for name in [*directories, *files, "."]:
            path = os.path.join(parent, name)
            info = os.lstat(path)
            if os.path.islink(path):
                digest = os.readlink(path)
            elif os.path.isfile(path):
                digest = hashlib.sha256(Path(path).read_bytes()).hexdigest()
            else:
                digest = ""
            found[os.path.relpath(path, top)] = (info.st_mode, info.st_uid, info.st_gid, digest)
    return found
