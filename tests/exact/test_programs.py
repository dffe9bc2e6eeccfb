"""Differential test: real programs nobody here wrote, on every backend. Each run is
compared with an independent walk of the tree before and after it (type, mode, uid,
gid, size, content, target, link count), then undone and redone back to those walks."""

from __future__ import annotations

import base64
import hashlib
import os
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Cowsnap
from tests.exact.support import manifest, redo, undo
from tests.exact.walk import Node, differences, walk

GIT = "git -c user.name=t -c user.email=t@example.com -c gc.auto=0"


def _wheel(directory: Path) -> Path:
    """A tiny pure-Python wheel, built by hand (no network, no build backend)."""
    name = "tinypkg-1.0"
    files = {"tinypkg/__init__.py": b"VALUE = 1\n",
             "tinypkg/data.txt": b"data\n",
             f"{name}.dist-info/METADATA": b"Metadata-Version: 2.1\nName: tinypkg\n"
                                           b"Version: 1.0\n",
             f"{name}.dist-info/WHEEL": b"Wheel-Version: 1.0\nGenerator: test\n"
                                        b"Root-Is-Purelib: true\nTag: py3-none-any\n"}
    record = []
    for path, data in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=")
        record.append(f"{path},sha256={digest.decode()},{len(data)}")
    record.append(f"{name}.dist-info/RECORD,,")
    wheel = directory / f"{name}-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        for path, data in files.items():
            archive.writestr(path, data)
        archive.writestr(f"{name}.dist-info/RECORD", "\n".join(record) + "\n")
    return wheel


def _tree(root: Path) -> None:
    for index in range(6):
        (root / "src" / f"d{index % 2}").mkdir(parents=True, exist_ok=True)
        (root / "src" / f"d{index % 2}" / f"f{index}.txt").write_text(f"line a {index}\n" * 20)
    os.symlink("d0/f0.txt", root / "src" / "link")
    os.link(root / "src" / "d1" / "f1.txt", root / "src" / "d1" / "hard.txt")


def _pip(workspace: Path, tmp: Path) -> str:
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(workspace / "venv")],
                   check=True, timeout=120)
    wheel = _wheel(tmp)
    pip = f"{sys.executable} -m pip --python {workspace}/venv/bin/python"
    return f"{pip} install -q --no-index --no-deps --no-cache-dir {wheel}"


def _tar(workspace: Path, tmp: Path) -> str:
    _tree(workspace)
    subprocess.run(["tar", "-cf", str(tmp / "a.tar"), "-C", str(workspace), "src"], check=True)
    shutil.rmtree(workspace / "src" / "d0")
    return f"mkdir out && tar -xf {tmp}/a.tar -C out && tar -cf b.tar src"


def _rsync(workspace: Path, tmp: Path) -> str:
    _tree(workspace)
    (workspace / "dst" / "stale").mkdir(parents=True)
    (workspace / "dst" / "stale" / "old.txt").write_text("old\n")
    (workspace / "dst" / "d0").mkdir()
    (workspace / "dst" / "d0" / "f0.txt").write_text("outdated\n")
    return "rsync -aH --delete src/ dst/"


def _sed(workspace: Path, tmp: Path) -> str:
    _tree(workspace)
    os.chmod(workspace / "src" / "d0" / "f0.txt", 0o640)
    return "sed -i s/a/b/ src/d0/f0.txt src/d1/f1.txt src/d0/f2.txt"


def _git(workspace: Path, tmp: Path) -> str:
    def git(command: str) -> None:
        subprocess.run(f"{GIT} {command}", shell=True, cwd=workspace, check=True, timeout=60,
                       capture_output=True)

    git("init -q -b main")
    (workspace / "a.txt").write_text("a\n")
    git("add a.txt && " + GIT + " commit -q -m one")
    git("checkout -q -b feature")
    (workspace / "b.txt").write_text("b\n")
    git("add b.txt && " + GIT + " commit -q -m two")
    git("checkout -q main")
    (workspace / "c.txt").write_text("c\n")
    git("add c.txt && " + GIT + " commit -q -m three")
    git("branch -q junk && " + GIT + " branch -q -D junk")
    return (f"{GIT} rebase -q main feature && {GIT} reflog expire --expire=now --all && "
            f"{GIT} gc -q --prune=now")


PROGRAMS: dict[str, Callable[[Path, Path], str]] = {
    "pip": _pip, "tar": _tar, "rsync": _rsync, "sed": _sed, "git": _git}


def _blob_id(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data, usedforsecurity=False).hexdigest()


def _timeless(node: Node | None) -> Node | None:
    return None if node is None else node._replace(mtime_ns=None)


def _check_state(recorded: dict[str, Any], node: Node | None, path: Path, side: str) -> None:
    """The manifest's state of `path` agrees with the walk's node."""
    where = f"{path} ({side})"
    if node is None:
        assert not recorded["exists"], where
        return
    assert recorded["exists"], where
    assert recorded["type"] == node.type, where
    assert (recorded["mode"], recorded["uid"], recorded["gid"]) == (
        node.mode, node.uid, node.gid), where
    if node.type in ("file", "symlink"):
        assert recorded["size"] == node.size, where
    if node.type == "symlink":
        assert recorded["target"] == os.fsdecode(node.target or b""), where
    blob = recorded.get("blob")
    if node.type == "file" and blob and not blob.startswith("large-") and side == "after":
        assert blob == _blob_id(path.read_bytes()), where


@pytest.mark.parametrize("program", list(PROGRAMS))
def test_real_programs_are_recorded_undone_and_redone_exactly(
        cowsnap: Cowsnap, backend_workspace: tuple[str, Path], tmp_path: Path,
        program: str) -> None:
    backend, workspace = backend_workspace
    script = PROGRAMS[program](workspace, tmp_path)
    before = walk(workspace)
    cowsnap("run", "--backend", backend, "--", "sh", "-c", script, cwd=workspace,
            timeout=300)
    after = walk(workspace)
    assert before != after, "the program changed nothing"
    recorded = {os.fsencode(item["path"]): item for item in manifest(cowsnap, workspace)["files"]}
    root = os.fsencode(workspace)
    for relative in sorted(set(before) | set(after)):
        if _timeless(before.get(relative)) == _timeless(after.get(relative)):
            continue
        path = os.path.join(root, relative)
        assert path in recorded, f"{relative!r} changed but is not in the manifest"
        entry = recorded[path]
        _check_state(entry["before"], before.get(relative), Path(os.fsdecode(path)), "before")
        _check_state(entry["after"], after.get(relative), Path(os.fsdecode(path)), "after")
    undo(cowsnap, workspace)
    assert differences(before, walk(workspace)) == []
    redo(cowsnap, workspace)
    assert differences(after, walk(workspace)) == []
