"""The store's own git metadata (`objects.git/HEAD` and `config`), checked by `check`.

Only contents matter in `objects.git`, but libgit2 refuses to open it when these
two files are damaged, and a damaged `config` could change how it reads objects.
Both are tiny and always the same shape, so `check` parses them strictly: HEAD
names a branch, config holds only the `[core]` settings a bare repository is
created with. A flipped bit anywhere in either is reported.
"""

from __future__ import annotations

import re

from cowsnap.errors import StoreError
from cowsnap.store.content import GIT_DIR
from cowsnap.store.rooted import StoreRoot

_HEAD = re.compile(rb"ref: refs/heads/[A-Za-z0-9._-]+\n")
_SECTION = re.compile(rb"\[core\]")
_SETTING = re.compile(rb"\t?([a-z]+) = ([a-z0-9]+)")
EXPECTED_CORE = {b"bare": {b"true"}, b"repositoryformatversion": {b"0"},
                 b"filemode": {b"true", b"false"}, b"logallrefupdates": {b"true", b"false"},
                 b"symlinks": {b"true", b"false"}, b"ignorecase": {b"true", b"false"}}
REQUIRED = {b"bare", b"repositoryformatversion"}


def _read(root: StoreRoot, name: str) -> bytes | str:
    try:
        return root.read_bytes(f"{GIT_DIR}/{name}", limit=4096)
    except FileNotFoundError:
        return f"{GIT_DIR}/{name} is missing"
    except (OSError, StoreError) as error:
        return f"{GIT_DIR}/{name} cannot be read: {error}"


def _config_problem(config: bytes) -> str | None:
    lines = [line for line in config.split(b"\n") if line]
    if not lines or not _SECTION.fullmatch(lines[0]):
        return "it does not start with [core]"
    seen = set()
    for line in lines[1:]:
        match = _SETTING.fullmatch(line)
        if match is None:
            return f"unexpected line {line!r}"
        key, value = match.groups()
        if value not in EXPECTED_CORE.get(key, set()) or key in seen:
            return f"unexpected setting {line.strip()!r}"
        seen.add(key)
    if not seen >= REQUIRED:
        return "core.bare or core.repositoryformatversion is missing"
    return None


def git_metadata_problems(root: StoreRoot) -> list[str]:
    """What is wrong with the store's `objects.git/HEAD` and `config`, if anything."""
    problems = []
    head = _read(root, "HEAD")
    if isinstance(head, str):
        problems.append(head)
    elif not _HEAD.fullmatch(head):
        problems.append(f"{GIT_DIR}/HEAD is damaged")
    config = _read(root, "config")
    if isinstance(config, str):
        problems.append(config)
    else:
        why = _config_problem(config)
        if why:
            problems.append(f"{GIT_DIR}/config is damaged: {why}")
    return problems
