"""Each backend says precisely why it cannot serve a workspace; auto picks the best that can."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from cowsnap.errors import BackendUnavailableError, UsageError
from cowsnap.snapshot.btrfs import BtrfsBackend, deletion_problem
from cowsnap.snapshot.mounts import Mount
from cowsnap.snapshot.reflink import ReflinkBackend
from cowsnap.snapshot.registry import availabilities, backend_named, choose_backend
from cowsnap.snapshot.staging import staging_dir

pytestmark = pytest.mark.usefixtures("isolated_home", "root_required")


def test_btrfs_on_ext4_says_why_not(ext4_dir: Path) -> None:
    availability = BtrfsBackend().availability(ext4_dir)
    assert not availability.available
    assert availability.reason == f"{ext4_dir} is on ext4, not btrfs"


def test_btrfs_on_a_plain_directory_names_the_subvolume(btrfs_dir: Path) -> None:
    availability = BtrfsBackend().availability(btrfs_dir)
    assert not availability.available
    assert "is not a btrfs subvolume root" in availability.reason
    assert str(btrfs_dir.parent) in availability.reason


def test_reflink_on_ext4_says_why_not(ext4_dir: Path) -> None:
    availability = ReflinkBackend().availability(ext4_dir)
    assert not availability.available
    assert "ext4" in availability.reason and "FICLONE" in availability.reason


def test_the_reflink_probe_cleans_up(xfs_dir: Path) -> None:
    staging = staging_dir(xfs_dir, same_filesystem=True)
    assert staging is not None
    before = sorted(staging.iterdir())
    assert ReflinkBackend().availability(xfs_dir).available
    assert sorted(staging.iterdir()) == before


def test_a_missing_binding_is_explained(btrfs_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "btrfsutil", None)
    availability = BtrfsBackend().availability(btrfs_dir)
    assert availability.reason == (
        "the btrfsutil Python binding is not installed: apt-get install libbtrfsutil-dev, "
        "then pip install 'cowsnap[btrfs]'")
    with pytest.raises(BackendUnavailableError, match="not installed"):
        BtrfsBackend().prepare(btrfs_dir)


def test_deleting_snapshots_needs_root_or_the_mount_option() -> None:
    plain = Mount("0:39", b"/mnt/data", "btrfs", frozenset({"rw"}))
    allowed = Mount("0:39", b"/mnt/data", "btrfs", frozenset({"rw", "user_subvol_rm_allowed"}))
    problem = deletion_problem(plain, euid=1000)
    assert problem is not None
    assert "user_subvol_rm_allowed" in problem and "/mnt/data" in problem
    assert deletion_problem(allowed, euid=1000) is None
    assert deletion_problem(plain, euid=0) is None


def test_auto_prefers_btrfs_then_reflink_then_copy(
        subvolume: Path, xfs_dir: Path, ext4_dir: Path) -> None:
    assert choose_backend(subvolume).name == "btrfs"
    assert choose_backend(subvolume.parent).name == "reflink"
    assert choose_backend(xfs_dir).name == "reflink"
    assert choose_backend(ext4_dir).name == "copy"
    assert [item.available for item in availabilities(ext4_dir)] == [False, False, True]


def test_an_explicit_choice_must_be_available(ext4_dir: Path) -> None:
    with pytest.raises(BackendUnavailableError, match="the reflink backend cannot snapshot"):
        choose_backend(ext4_dir, "reflink")
    with pytest.raises(UsageError, match="unknown backend"):
        backend_named("zfs")
