"""A file restore writes comes back with exactly the attributes the run recorded, also
where its directory hands new files an ACL (a default ACL); a new file in a directory
that cannot (ours, without one) is not asked for attributes it cannot hold."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from cowsnap import api
from cowsnap.model import Xattrs
from cowsnap.restore import apply
from cowsnap.restore.leftovers import TEMP_PREFIX
from cowsnap.xattrs import Where
from tests.restore.conftest import Attacker

ACCESS = "system.posix_acl_access"


@pytest.fixture
def read_from(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[list[str]]:
    """The names of the paths whose attributes restore reads while applying."""
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    names: list[str] = []
    read = apply.read_xattrs  # type: ignore[attr-defined]

    def recording_read(where: Where, *, follow: bool = False) -> Xattrs | None:
        link = where if isinstance(where, str) else f"/proc/self/fd/{where!r}"
        names.append(os.path.basename(os.readlink(link)))
        return read(where, follow=follow)

    monkeypatch.setattr(apply, "read_xattrs", recording_read)
    yield names


def _undo_rewrite(workspace: Path, store: Path, before_undo: Callable[[], object]) -> None:
    """Record `a` and `b` rewritten, call `before_undo`, then undo the rewrite."""
    ran = api.run(api.RunRequest(command=["sh", "-c", "echo new > a; echo new > b"],
                                 cwd=workspace, workspace=workspace, store=store))
    assert (ran.exit_status, ran.recording_error) == (0, None)
    before_undo()
    restored = api.restore(ran.run_id, cwd=workspace, workspace=workspace, store=store)
    assert restored.exit_code == 0, restored
    for name in ("a", "b"):
        assert (workspace / name).read_text() == f"old {name}\n"


@pytest.mark.parametrize("shared_by", ["nobody", "default ACL", "another owner"])
def test_written_files_have_the_recorded_attributes(
        ext4_dir: Path, tmp_path: Path, read_from: list[str], attacker: Attacker,
        shared_by: str) -> None:
    workspace = ext4_dir / "ws"
    workspace.mkdir()
    for name in ("a", "b"):
        (workspace / name).write_text(f"old {name}\n")
    os.setxattr(workspace / "b", "user.note", b"b's")

    def share() -> None:
        if shared_by == "default ACL":  # new files get an ACL
            subprocess.run(["setfacl", "-d", "-m", f"u:{attacker.uid}:r", str(workspace)],
                           check=True, timeout=60)
        elif shared_by == "another owner":  # who could give them one
            os.chown(workspace, attacker.uid, attacker.gid)

    _undo_rewrite(workspace, tmp_path / "store", share)
    assert os.getxattr(workspace / "b", "user.note") == b"b's"
    for name in ("a", "b"):
        assert ACCESS not in os.listxattr(workspace / name), name
    temporaries = [name for name in read_from if name.startswith(os.fsdecode(TEMP_PREFIX))]
    assert len(temporaries) == (0 if shared_by == "nobody" else 2)


def test_an_acl_the_run_recorded_comes_back_beside_a_default_acl(
        ext4_dir: Path, tmp_path: Path, read_from: list[str], attacker: Attacker) -> None:
    workspace = ext4_dir / "ws"
    workspace.mkdir()
    for name in ("a", "b"):
        (workspace / name).write_text(f"old {name}\n")
    subprocess.run(["setfacl", "-m", f"u:{attacker.uid}:-", str(workspace / "a")],
                   check=True, timeout=60)
    recorded = os.getxattr(workspace / "a", ACCESS)
    _undo_rewrite(workspace, tmp_path / "store", lambda: subprocess.run(
        ["setfacl", "-d", "-m", f"u:{attacker.uid}:rw", str(workspace)], check=True,
        timeout=60))
    assert os.getxattr(workspace / "a", ACCESS) == recorded
    assert ACCESS not in os.listxattr(workspace / "b")


def test_undone_files_have_no_acl_they_never_had(
        backend_workspace: tuple[str, Path], tmp_path: Path, isolated_home: Path) -> None:
    """Recorded beneath a default ACL on each backend, a rewritten file and a directory
    without an ACL of their own come back, undone, still without one: no copy made for
    the before-state showed the ACL it was born with (copy and reflink did)."""
    backend, workspace = backend_workspace
    subprocess.run(["setfacl", "-d", "-m", "u:nobody:r", str(workspace)], check=True,
                   timeout=60)
    (workspace / "d").mkdir()
    (workspace / "a").write_text("old a\n")
    subprocess.run(["setfacl", "-b", str(workspace / "a"), str(workspace / "d")],
                   check=True, timeout=60)
    ran = api.run(api.RunRequest(command=["sh", "-c", "echo new > a; echo new > d/b"],
                                 cwd=workspace, workspace=workspace, backend=backend,
                                 store=tmp_path / "store"))
    assert (ran.exit_status, ran.recording_error) == (0, None)
    restored = api.restore(ran.run_id, cwd=workspace, workspace=workspace,
                           store=tmp_path / "store")
    assert restored.exit_code == 0, restored
    assert (workspace / "a").read_text() == "old a\n"
    assert not (workspace / "d" / "b").exists()
    for name in ("a", "d"):
        assert [attribute for attribute in os.listxattr(workspace / name)
                if attribute.startswith("system.posix_acl")] == [], name
