"""An attacker with push access: rewrites a run on a bare remote with git's plumbing
(the tests' own git, never cowsnap's code), keeping the layout docs/remotes.md
describes unless told otherwise."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

IDENTITY = {"GIT_AUTHOR_NAME": "x", "GIT_AUTHOR_EMAIL": "x@x", "GIT_COMMITTER_NAME": "x",
            "GIT_COMMITTER_EMAIL": "x@x"}


def git(remote: Path, *args: str, data: bytes | None = None,
        index: Path | None = None) -> str:
    environment = {**os.environ, **IDENTITY}
    if index is not None:
        environment["GIT_INDEX_FILE"] = str(index)
    return subprocess.run(["git", "--git-dir", str(remote), *args], input=data,
                          capture_output=True, check=True,
                          env=environment).stdout.decode().strip()


def ref_of(run_id: str) -> str:
    return f"refs/cowsnap/runs/{run_id[-2:]}/{run_id}"


def write_blob(remote: Path, data: bytes) -> str:
    return git(remote, "hash-object", "-w", "--stdin", data=data)


def manifest_of(remote: Path, run_id: str) -> dict[str, Any]:
    return dict(json.loads(git(remote, "cat-file", "blob", f"{ref_of(run_id)}^:manifest.json")))


def forge_run(remote: Path, run_id: str, *,
              manifest: Callable[[dict[str, Any]], object] | None = None,
              files: dict[str, tuple[str, str]] | None = None) -> str:
    """Replace run `run_id`'s commits on `remote`: its manifest edited in place by
    `manifest`, tree entries set to `files` (path -> (mode, object id)); the new tip."""
    ref = ref_of(run_id)
    index = remote / "forge-index"
    git(remote, "read-tree", f"{ref}^", index=index)
    changes = dict(files or {})
    if manifest is not None:
        document = manifest_of(remote, run_id)
        manifest(document)
        changes["manifest.json"] = ("100644",
                                    write_blob(remote, json.dumps(document).encode()))
    for path, (mode, oid) in changes.items():
        git(remote, "update-index", "--add", "--cacheinfo", f"{mode},{oid},{path}", index=index)
    run_commit = git(remote, "commit-tree", git(remote, "write-tree", index=index),
                     "-m", "forged")
    index.unlink()
    tip = git(remote, "commit-tree", git(remote, "rev-parse", f"{ref}^{{tree}}"), "-p",
              run_commit, "-m", "forged")
    git(remote, "update-ref", ref, tip)
    return tip
