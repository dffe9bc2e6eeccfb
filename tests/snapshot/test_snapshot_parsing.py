"""Parsing mountinfo and /proc/PID/stat, and owner marks: pure functions."""

from __future__ import annotations

import os

import pytest

from cowsnap.processes import parse_start_time
from cowsnap.snapshot.base import Availability
from cowsnap.snapshot.mounts import mount_of_path, parse_mountinfo
from cowsnap.snapshot.owner import (
    Owner,
    current_owner,
    is_alive,
    mark,
    owner_of,
)
from cowsnap.snapshot.registry import first_available

MOUNTINFO = (
    b"22 1 254:0 / / rw,relatime shared:1 - ext4 /dev/vda rw\n"
    b"43 22 0:39 / /mnt/my\\040disk rw,relatime - btrfs /dev/loop0 rw,space_cache=v2,"
    b"user_subvol_rm_allowed,subvolid=5,subvol=/\n"
    b"44 22 0:40 /home /mnt/my rw - xfs /dev/loop1 rw,inode64\n"
    b"45 22 0:41 / /tmp rw - tmpfs tmpfs rw\n"
    b"46 22 0:42 / /tmp rw - xfs /dev/loop2 rw\n"
)


def test_mountinfo_fields_and_escapes() -> None:
    mounts = parse_mountinfo(MOUNTINFO)
    disk = mounts[1]
    assert disk.mount_point == b"/mnt/my disk"
    assert disk.fstype == "btrfs"
    assert disk.device == "0:39"
    assert "user_subvol_rm_allowed" in disk.options
    assert "relatime" in disk.options


def test_the_deepest_and_latest_mount_serves_a_path() -> None:
    mounts = parse_mountinfo(MOUNTINFO)
    assert mount_of_path(b"/mnt/my disk/a", mounts).fstype == "btrfs"
    assert mount_of_path(b"/mnt/my/a", mounts).fstype == "xfs"
    assert mount_of_path(b"/mnt/myother", mounts).fstype == "ext4"
    assert mount_of_path(b"/tmp/x", mounts).device == "0:42"
    assert mount_of_path(b"/", mounts).fstype == "ext4"


def test_start_time_survives_odd_command_names() -> None:
    fields = " ".join(str(n) for n in range(4, 30))
    line = f"1234 (a) b) c) S {fields}\n".encode()
    assert parse_start_time(line) == 22


def test_marks_round_trip_and_name_their_kind() -> None:
    owner = Owner(pid=4321, start_time=987654)
    name = mark("reflink", owner)
    assert owner_of("reflink", name) == owner
    assert owner_of("btrfs", name) is None
    assert owner_of("reflink", "reflink-12-x-00") is None
    assert mark("reflink", owner) != name


def test_only_the_same_process_is_alive() -> None:
    me = current_owner()
    assert me.pid == os.getpid()
    assert is_alive(me)
    assert not is_alive(Owner(me.pid, me.start_time + 1))


@pytest.mark.parametrize(("flags", "expected"), [
    ((True, True, True), "btrfs"),
    ((False, True, True), "reflink"),
    ((False, False, True), "copy"),
    ((False, False, False), None),
])
def test_auto_takes_the_first_available(flags: tuple[bool, bool, bool],
                                        expected: str | None) -> None:
    found = [Availability(name, flag, "") for name, flag in
             zip(("btrfs", "reflink", "copy"), flags, strict=True)]
    assert first_available(found) == expected
