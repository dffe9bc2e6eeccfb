"""Each file syscall family, traced for real through the ops fixture, yields exactly its events."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest
from trace_support import Runner

pytestmark = pytest.mark.timeout(30)


def test_dirfd_operations(ops: Runner) -> None:
    traced = ops("dirfd")
    assert traced.status == 0
    assert traced.touched() == [
        ("openat", "read", b""),
        ("mkdirat", "mkdir", b"sub"),
        ("openat", "create", b"sub/f"),
        ("fchmod", "metadata", b"sub/f"),
        ("ftruncate", "write", b"sub/f"),
        ("openat", "read", b"sub"),
        ("unlinkat", "delete", b"sub/f"),
        ("unlinkat", "delete", b"sub"),
    ]


def test_metadata_calls_on_a_new_files_own_fd_are_reported_at_entry(ops: Runner) -> None:
    """tar x's futimens, fchown, fchmod on the fd that created the file: one stop each,
    reported at entry with result 0 (even fsetxattr that fails); on another fd to the
    same file, the real result at exit."""
    traced = ops("new-file-meta")
    assert traced.status == 0
    assert traced.touched() == [
        ("openat", "create", b"made"),
        ("utimensat", "metadata", b"made"),
        ("fchown", "metadata", b"made"),
        ("fchmod", "metadata", b"made"),
        ("fsetxattr", "metadata", b"made"),
        ("openat", "write", b"made"),
        ("fchmod", "metadata", b"made"),
        ("fsetxattr", "metadata", b"made"),
    ]
    made = bytes(traced.root / "made")
    results = [event.result for event in traced.path_events() if event.path == made]
    assert results[1:5] == [0, 0, 0, 0]
    assert results[6:] == [0, -errno.EOPNOTSUPP]


def test_tmpfile_then_linkat(ops: Runner, work: Path, root_required: None) -> None:
    closed: list[bytes] = []
    traced = ops("tmpfile", on_written_close=lambda pid, path: closed.append(path))
    assert traced.status == 0
    assert traced.touched() == [
        ("linkat", "create", b"named"),
        ("linkat", "create", b"named2"),
        ("linkat", "create", b"named3"),
    ]
    named3 = bytes(work / "named3")
    assert closed == [bytes(work / "named"), bytes(work / "named2"), named3, named3], (
        "a dup of an O_TMPFILE fd is named by the linkat of the original"
    )


def test_rename_over_existing_and_exchange(ops: Runner) -> None:
    traced = ops("rename")
    assert traced.status == 0
    assert traced.touched() == [
        ("openat", "create", b"a"),
        ("openat", "create", b"b"),
        ("rename", "rename", b"a"),
        ("rename", "create", b"b"),
        ("openat", "create", b"c"),
        ("renameat2", "rename", b"b"),
        ("renameat2", "rename", b"c"),
        ("renameat2", "rename", b"b"),
        ("renameat2", "create", b"c"),
    ]
    renames = [e for e in traced.path_events() if e.syscall.startswith("rename")]
    assert renames[0].related_path == renames[1].path
    assert renames[1].related_path == renames[0].path
    assert [e.succeeded for e in renames] == [True, True, True, True, False, False]


def test_hard_links_symlinks_and_a_dangling_one(ops: Runner) -> None:
    traced = ops("links")
    assert traced.status == 0
    assert traced.touched() == [
        ("openat", "create", b"target"),
        ("link", "existence", b"target"),
        ("link", "create", b"hard"),
        ("symlink", "create", b"soft"),
        ("symlink", "create", b"dangling"),
        ("readlink", "existence", b"soft"),
        ("newfstatat", "existence", b"soft"),
        ("newfstatat", "existence", b"target"),
        ("openat", "create", b"missing"),
        ("unlink", "delete", b"soft"),
    ]
    assert all(e.related_path is None for e in traced.path_events() if e.syscall == "symlink")


def test_metadata_families_path_and_fd_forms(ops: Runner) -> None:
    traced = ops("meta")
    assert traced.status == 0
    assert traced.touched() == [
        ("openat", "create", b"m"),
        ("chmod", "metadata", b"m"),
        ("fchmodat", "metadata", b"m"),
        ("chown", "metadata", b"m"),
        ("lchown", "metadata", b"m"),
        ("fchownat", "metadata", b"m"),
        ("fchown", "metadata", b"m"),
        ("utimensat", "metadata", b"m"),
        ("utimensat", "metadata", b"m"),
        ("futimesat", "metadata", b"m"),
        ("utimensat", "metadata", b"m"),
        ("utimensat", "metadata", b"m"),
        ("setxattr", "metadata", b"m"),
        ("lsetxattr", "metadata", b"m"),
        ("fsetxattr", "metadata", b"m"),
        ("getxattr", "existence", b"m"),
        ("listxattr", "existence", b"m"),
        ("removexattr", "metadata", b"m"),
        ("fremovexattr", "metadata", b"m"),
    ]


def test_failed_probes_are_existence(ops: Runner) -> None:
    traced = ops("probe")
    assert traced.status == 0
    assert traced.touched() == [
        ("newfstatat", "existence", b"nothing"),
        ("access", "existence", b"nothing"),
        ("faccessat2", "existence", b"nothing"),
        ("statx", "existence", b"nothing"),
        ("openat", "existence", b"nothing"),
        ("openat", "existence", b"nodir/nothing"),
    ]
    ours = [e for e in traced.path_events() if e.path.startswith(bytes(traced.root))]
    assert [e.result for e in ours] == [-2] * 6


def test_copy_sendfile_splice_write_their_destination(ops: Runner) -> None:
    traced = ops("copy")
    assert traced.status == 0
    assert traced.touched()[-3:] == [
        ("copy_file_range", "write", b"d1"),
        ("sendfile", "write", b"d2"),
        ("splice", "write", b"d3"),
    ]


def test_unix_socket_bind_creates_but_abstract_does_not(ops: Runner) -> None:
    traced = ops("bind")
    assert traced.status == 0
    assert traced.touched() == [("bind", "create", b"sock")]
    assert [e.path for e in traced.path_events() if e.syscall == "bind"] == [
        bytes(traced.root / "sock")
    ]


def test_io_uring_is_reported_as_invisible(ops: Runner) -> None:
    traced = ops("uring")
    assert traced.status == 0
    assert any("io_uring" in warning.message for warning in traced.warnings())


def test_mknod_truncate_fallocate_mkdir_rmdir(ops: Runner) -> None:
    traced = ops("node")
    assert traced.status == 0
    assert traced.touched() == [
        ("mknodat", "create", b"fifo"),
        ("mknodat", "create", b"fifo2"),
        ("openat", "create", b"t"),
        ("truncate", "write", b"t"),
        ("openat", "write", b"t"),
        ("fallocate", "write", b"t"),
        ("mkdir", "mkdir", b"d"),
        ("rmdir", "delete", b"d"),
    ]


def test_duplicated_fds_keep_their_path(ops: Runner, work: Path) -> None:
    closed: list[bytes] = []
    traced = ops("dup", on_written_close=lambda pid, path: closed.append(path))
    assert traced.status == 0
    assert traced.touched() == [("openat", "create", b"w")] + [("fchmod", "metadata", b"w")] * 4
    assert closed == [bytes(work / "w")] * 5


def test_relative_paths_after_cd_in_a_child(ops: Runner, work: Path) -> None:
    traced = ops("chdir", cwd=work)
    assert traced.status == 0
    assert traced.touched() == [
        ("mkdir", "mkdir", b"c"),
        ("chdir", "existence", b"c"),
        ("openat", "create", b"c/rel"),
        ("chdir", "existence", b""),
        ("openat", "create", b"up"),
        ("openat", "read", b"c"),
        ("fchdir", "existence", b"c"),
        ("openat", "create", b"c/viafd"),
        ("openat", "create", b"parent"),
    ]


def test_chroot_paths_are_host_paths(ops: Runner, root_required: None) -> None:
    traced = ops("chroot")
    assert traced.status == 0
    assert traced.touched() == [
        ("mkdir", "mkdir", b"jail"),
        ("chroot", "existence", b"jail"),
        ("openat", "create", b"jail/inside"),
    ]


def test_paths_longer_than_path_max(ops: Runner) -> None:
    traced = ops("long")
    assert traced.status == 0
    created = [e for e in traced.path_events() if e.operation.value == "create"]
    assert len(created) == 1
    expected = bytes(traced.root) + b"/" + b"/".join([b"L" * 200] * 25) + b"/deep"
    assert len(expected) > 4096
    assert created[0].path == expected
    made = [e.path for e in traced.path_events() if e.syscall == "mkdirat"]
    assert len(made) == 25 and made[-1] == expected.rsplit(b"/", 1)[0]


DEEP = b"/".join([b"L" * 200] * 25)


def test_a_file_deeper_than_path_max_is_seen_to_exist(ops: Runner) -> None:
    traced = ops("long-rewrite")
    assert traced.status == 0
    deep = [(e.operation.value, e.result >= 0) for e in traced.path_events()
            if e.path.endswith(b"/deep")]
    assert deep == [("create", True), ("write", True)]
    assert all(e.path == bytes(traced.root) + b"/" + DEEP + b"/deep"
               for e in traced.path_events() if e.path.endswith(b"/deep"))


def test_a_cwd_deeper_than_path_max_is_followed(ops: Runner) -> None:
    traced = ops("long-cwd")
    assert traced.status == 0
    here = bytes(traced.root) + b"/" + DEEP + b"/here"
    assert [(e.syscall, e.operation.value, e.result) for e in traced.path_events()
            if e.path == here] == [
        ("newfstatat", "existence", -errno.ENOENT),
        ("openat", "create", 3),
        ("newfstatat", "existence", 0),
    ]


def test_getdents_reads_the_directory(ops: Runner) -> None:
    traced = ops("getdents")
    assert traced.status == 0
    assert ("getdents64", "directory", b"") in traced.touched()


def test_i386_syscalls_are_decoded_and_announced(ops: Runner) -> None:
    traced = ops("i386")
    assert traced.status == 0
    assert traced.touched() == [("creat", "create", b"legacy"), ("unlink", "delete", b"legacy")]
    assert any("i386" in warning.message for warning in traced.warnings())


def test_symlink_in_the_prefix_resolves_to_the_real_place(run: Runner, work: Path) -> None:
    (work / "real").mkdir()
    (work / "alias").symlink_to("real")
    traced = run(["sh", "-c", f"echo x > {work}/alias/f"])
    assert traced.status == 0
    assert traced.touched() == [("openat", "create", b"real/f")]


def test_non_utf8_names_round_trip(run: Runner, work: Path) -> None:
    traced = run(["sh", "-c", f"cd {work} && printf x > \"$(printf 'caf\\351\\377')\""])
    assert traced.status == 0
    assert traced.touched()[-1] == ("openat", "create", b"caf\xe9\xff")
    assert os.path.exists(bytes(work) + b"/caf\xe9\xff")


def test_rm_r_and_mkdir_p(run: Runner, work: Path) -> None:
    traced = run(["sh", "-c", f"cd {work} && mkdir -p a/b/c && touch a/b/c/f && rm -r a"])
    assert traced.status == 0
    touched = traced.touched()
    assert [p for s, op, p in touched if op == "mkdir"] == [b"a", b"a/b", b"a/b/c"]
    again = run(["mkdir", "-p", f"{work}/x/y"], before_mutation=lambda event: None)
    assert again.status == 0
    made = [e.path for e in again.path_events() if e.syscall == "mkdir" and e.succeeded]
    assert made == [bytes(work / "x"), bytes(work / "x" / "y")]
    existing = run(["mkdir", "-p", f"{work}/x/y"])
    results = [e.result for e in existing.path_events() if e.syscall == "mkdir"]
    assert results and all(result == -errno.EEXIST for result in results)
    assert [p for s, op, p in touched if op == "delete"] == [b"a/b/c/f", b"a/b/c", b"a/b", b"a"]


def test_at_variants_openat2_creat_and_execveat(ops: Runner) -> None:
    traced = ops("at")
    assert traced.status == 0
    assert traced.touched() == [
        ("openat2", "create", b"o2"),
        ("creat", "create", b"cr"),
        ("symlinkat", "create", b"sl"),
        ("readlinkat", "existence", b"sl"),
        ("faccessat", "existence", b"o2"),
        ("renameat", "rename", b"cr"),
        ("renameat", "create", b"cr2"),
        ("linkat", "existence", b"cr2"),
        ("linkat", "create", b"cr3"),
        ("fchmodat2", "metadata", b"sl"),
    ]
    assert [e.path for e in traced.processes("exec")][-1] == os.path.realpath(b"/bin/true")


def test_x32_syscalls_are_announced(ops: Runner) -> None:
    traced = ops("x32")
    assert traced.status == 0
    assert any("x32" in warning.message for warning in traced.warnings())
    assert [op for _, op, _ in traced.touched()] in (["create"], ["existence"])


def test_a_restarted_syscall_is_reported_once_with_its_final_result(ops: Runner) -> None:
    traced = ops("restart")
    assert traced.status == 0
    writes = [e for e in traced.path_events() if e.path.endswith(b"/fifo") and e.flags & 1]
    assert len(writes) == 1 and writes[0].result >= 0


def test_a_thread_that_unshares_its_cwd(ops: Runner, work: Path) -> None:
    traced = ops("unshare", cwd=work)
    assert traced.status == 0
    assert [path for _, op, path in traced.touched() if op == "create"] == [
        b"before",
        b"sub/in-sub",
        b"after",
    ]


def test_legacy_syscalls_called_directly(ops: Runner, root_required: None) -> None:
    traced = ops("raw")
    assert traced.status == 0
    assert traced.touched() == [
        ("open", "create", b"r"),
        ("stat", "existence", b"r"),
        ("lstat", "existence", b"r"),
        ("utime", "metadata", b"r"),
        ("utimes", "metadata", b"r"),
        ("mknod", "create", b"n"),
        ("chmod", "metadata", b"r"),
        ("chown", "metadata", b"r"),
        ("lchown", "metadata", b"r"),
        ("lgetxattr", "existence", b"r"),
        ("llistxattr", "existence", b"r"),
        ("lremovexattr", "metadata", b"r"),
        ("openat", "read", b"r"),
        ("fgetxattr", "existence", b"r"),
        ("flistxattr", "existence", b"r"),
        ("openat", "read", b""),
        ("getdents", "directory", b""),
        ("renameat2", "rename", b"r"),
        ("renameat2", "create", b"w"),
        ("rename", "rename", b"w"),
        ("rename", "create", b"r2"),
    ]
    whiteout = [e for e in traced.path_events() if e.syscall == "renameat2"]
    assert [e.flags for e in whiteout] == [4, 4]  # RENAME_WHITEOUT


def test_resolution_follows_the_tree_as_the_command_reshapes_it(run: Runner, work: Path) -> None:
    script = (
        "mkdir real && test -e alias/f; ln -s real alias && echo > alias/f && "
        "mkdir d && touch d/x && mv d d2 && mkdir e && ln -s e d && touch d/y && "
        "rm d && mkdir d && touch d/z"
    )
    traced = run(["sh", "-c", script], cwd=work)
    assert traced.status == 0
    created = [path for _, op, path in traced.touched() if op == "create"]
    assert created == [b"alias", b"real/f", b"d/x", b"d2", b"d", b"e/y", b"d/z"]
