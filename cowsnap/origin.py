"""Whether a run was recorded on this machine by this user: a keyed tag on its manifest.

Restore trusts a run's paths, owners and set-id bits only when this user
recorded it here; a bundle, a fetched run or another user's store is
attacker-written until proven otherwise, and nothing inside a store can prove
it (whoever hands over a store can write anything in it, and a copy made by
root is owned by root). So the proof lives outside every store: a random key
in the user's own state directory (`$XDG_STATE_HOME/cowsnap/origin-key`,
default `~/.local/state`), private and owned by the user, and each manifest a
run publishes gets `HMAC-SHA256(key, manifest bytes)` beside it. A manifest
changed by one byte, or tagged with anyone else's key, is not this user's.
Without a usable key (no home, a key owned by someone else) nothing is trusted
and nothing fails: runs are then restored as untrusted ones.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import stat
from collections.abc import Mapping
from pathlib import Path

KEY_NAME = "origin-key"
KEY_BYTES = 32
DOMAIN = b"cowsnap-origin/1\x00"


def state_dir(environ: Mapping[str, str] | None = None) -> Path:
    """$XDG_STATE_HOME/cowsnap (~/.local/state/cowsnap)."""
    env = os.environ if environ is None else environ
    state_home = env.get("XDG_STATE_HOME") or str(Path(env.get("HOME", "~")) / ".local" / "state")
    return (Path(state_home).expanduser() / "cowsnap").absolute()


def _private_dir(directory: Path) -> bool:
    """Whether `directory` is a real directory of this user that nobody else may write."""
    try:
        info = os.lstat(directory)
    except OSError:
        return False
    return (stat.S_ISDIR(info.st_mode) and info.st_uid == os.geteuid()
            and not info.st_mode & 0o022)


def _read_key(path: Path) -> bytes | None:
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        info = os.fstat(fd)
        if (not stat.S_ISREG(info.st_mode) or info.st_uid != os.geteuid()
                or info.st_mode & 0o077 or info.st_nlink != 1):
            return None
        key = os.read(fd, KEY_BYTES + 1)
    finally:
        os.close(fd)
    return key if len(key) == KEY_BYTES else None


def _create_key(directory: Path) -> None:
    """Written whole under a temporary name, then linked into place (never replaced)."""
    temp = directory / f".{KEY_NAME}.{os.getpid()}.{os.urandom(4).hex()}"
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC,
                 0o600)
    try:
        os.write(fd, os.urandom(KEY_BYTES))
        os.fsync(fd)
    finally:
        os.close(fd)
    try:
        os.link(temp, directory / KEY_NAME)
    except FileExistsError:
        pass
    finally:
        os.unlink(temp)


def user_key(*, create: bool, environ: Mapping[str, str] | None = None) -> bytes | None:
    """This user's origin key (made when `create` and missing), or None when there is no
    usable one."""
    directory = state_dir(environ)
    if create and not directory.exists():
        try:
            directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        except OSError:
            return None
    if not _private_dir(directory):
        return None
    key = _read_key(directory / KEY_NAME)
    if key is None and create:
        try:
            _create_key(directory)
        except OSError:
            return None
        key = _read_key(directory / KEY_NAME)
    return key


def tag(key: bytes, manifest: bytes) -> bytes:
    return hmac.new(key, DOMAIN + manifest, hashlib.sha256).hexdigest().encode()


def origin_tag(manifest: bytes) -> bytes | None:
    """The tag to publish beside `manifest`, or None without a usable key."""
    key = user_key(create=True)
    return None if key is None else tag(key, manifest)


def origin_signer() -> hmac.HMAC | None:
    """`origin_tag` for a manifest written in pieces: `update` it with each piece, the
    tag is `hexdigest().encode()`; None without a usable key."""
    key = user_key(create=True)
    return None if key is None else hmac.new(key, DOMAIN, hashlib.sha256)


def recorded_here(manifest: bytes, published_tag: bytes | None) -> bool:
    """Whether `manifest` carries this user's tag, unchanged."""
    key = user_key(create=False)
    if key is None or published_tag is None:
        return False
    return hmac.compare_digest(tag(key, manifest), published_tag.strip())
