"""The synchronous hooks and only-writes mode, against real tracees."""

from __future__ import annotations

from pathlib import Path

import pytest
import sh
from trace_support import Runner

from cowsnap.model import MUTATING_OPERATIONS
from cowsnap.trace import HookScope
from cowsnap.trace.events import PathEvent

pytestmark = pytest.mark.timeout(30)


def test_before_mutation_sees_the_old_state(run: Runner, work: Path) -> None:
    (work / "f").write_text("old")
    seen: list[tuple[bytes, str, bytes | None]] = []

    def capture(event: PathEvent) -> None:
        assert event.result == 0
        path = Path(event.path.decode())
        content = path.read_bytes() if path.exists() else None
        seen.append((event.path, event.operation.value, content))

    traced = run(
        ["sh", "-c", f"cd {work} && echo new > f && mv f g && rm g"], before_mutation=capture
    )
    assert traced.status == 0
    prefix = bytes(work) + b"/"
    ours = [(p[len(prefix) :], op, content) for p, op, content in seen if p.startswith(prefix)]
    assert ours == [
        (b"f", "write", b"old"),
        (b"f", "rename", b"new\n"),
        (b"g", "create", None),
        (b"g", "delete", b"new\n"),
    ]
    mutations = [e for e in traced.path_events() if e.operation in MUTATING_OPERATIONS]
    assert len([e for e in mutations if e.path.startswith(prefix)]) == 4


def test_written_close_reports_each_closed_writer(run: Runner, work: Path) -> None:
    closed: list[tuple[int, bytes]] = []
    traced = run(
        ["sh", "-c", f"cd {work} && printf 1 > a && cat a > b"],
        on_written_close=lambda pid, path: closed.append((pid, path)),
    )
    assert traced.status == 0
    paths = [path for _, path in closed if path.startswith(bytes(work))]
    assert set(paths) == {bytes(work / "a"), bytes(work / "b")}


def test_only_writes_never_stops_on_reads_or_probes(run: Runner, work: Path) -> None:
    (work / "input").write_text("data")
    traced = run(
        ["sh", "-c", "cat input > output && ls >/dev/null && test -e input"],
        only_writes=True,
        cwd=work,
    )
    assert traced.status == 0
    operations = {event.operation.value for event in traced.path_events()}
    assert operations <= {"write", "create", "exec", "existence", "metadata", "delete"}
    assert (
        traced.touched()
        == [("openat", "create", b"output")] + [("copy_file_range", "write", b"output")] * 2
    )
    assert not [e for e in traced.path_events() if e.syscall in ("newfstatat", "getdents64")]


def test_only_writes_still_sees_every_mutation(ops: Runner) -> None:
    traced = ops("rename", only_writes=True)
    assert traced.status == 0
    assert [op for _, op, _ in traced.touched()] == [
        "create", "create", "rename", "create", "create", "rename", "rename", "rename", "create"
    ]  # fmt: skip


def test_a_hook_may_run_a_program_and_wait_for_it(run: Runner, work: Path) -> None:
    (work / "f").write_text("old")
    copies: list[str] = []

    def copy_before(event: PathEvent) -> None:
        if event.path == bytes(work / "f"):
            copies.append(str(sh.cat(str(work / "f"))))

    traced = run(["sh", "-c", f"echo new > {work}/f"], before_mutation=copy_before)
    assert traced.status == 0
    assert copies == ["old"]
    assert (work / "f").read_text() == "new\n"


def test_quietened_paths_and_directories_are_not_announced_again(run: Runner, work: Path) -> None:
    (work / "a").mkdir()
    (work / "b").mkdir()
    scope = HookScope()
    announced: list[bytes] = []

    def hook(event: PathEvent) -> None:
        announced.append(event.path)
        if event.path.startswith(bytes(work / "a")):
            scope.quiet_directory(bytes(work / "a"))
        else:
            scope.quiet_path(event.path)

    script = "for i in 1 2 3; do echo $i > a/f$i; echo $i > b/g; done; mv a/f1 b/h"
    traced = run(["sh", "-c", script], cwd=work, before_mutation=hook, hook_scope=scope)
    assert traced.status == 0
    ours = [path[len(bytes(work)) + 1 :] for path in announced if path.startswith(bytes(work))]
    assert ours == [b"a/f1", b"b/g", b"a/f1", b"b/h"], "a rename into b/ is announced"
    writes = [p for _, op, p in traced.touched() if op in ("create", "write")]
    assert writes == [b"a/f1", b"b/g", b"a/f2", b"b/g", b"a/f3", b"b/g", b"b/h"]


def test_nothing_beneath_a_quietened_tree_is_announced(run: Runner, work: Path) -> None:
    (work / "old").mkdir()
    scope = HookScope()
    announced: list[bytes] = []

    def hook(event: PathEvent) -> None:
        announced.append(event.path[len(bytes(work)) + 1 :])
        if event.path == bytes(work / "new"):
            scope.quiet_tree(event.path)

    script = ("mkdir new && mkdir -p new/a/b && echo 1 > new/a/b/f && chmod 600 new/a/b/f && "
              "echo 2 > new/g && mv new/g old/g && echo 3 > newer && rm -r new")
    traced = run(["sh", "-c", script], cwd=work, before_mutation=hook, hook_scope=scope)
    assert traced.status == 0
    assert announced == [b"new", b"new/g", b"old/g", b"newer", b"new"], (
        "a rename out of the tree is announced (its destination is not quiet), and so is "
        "the tree's own removal")
    reported = {(op, path) for _, op, path in traced.touched()}
    assert {("mkdir", b"new/a"), ("mkdir", b"new/a/b"), ("create", b"new/a/b/f"),
            ("metadata", b"new/a/b/f"), ("delete", b"new/a/b/f"), ("delete", b"new/a/b"),
            ("delete", b"new/a"), ("create", b"new/g"), ("rename", b"new/g")} <= reported, (
        "every event is still reported")


def test_quietened_closes_are_not_reported_again(run: Runner, work: Path) -> None:
    scope = HookScope()
    closed: list[bytes] = []

    def on_close(pid: int, path: bytes) -> None:
        closed.append(path)
        if path.endswith(b"/quiet"):
            scope.quiet_close(path)

    script = "for i in 1 2 3; do echo $i > quiet; echo $i > loud; done"
    traced = run(["sh", "-c", script], cwd=work, on_written_close=on_close, hook_scope=scope)
    assert traced.status == 0
    ours = [path[len(bytes(work)) + 1 :] for path in closed if path.startswith(bytes(work))]
    assert ours.count(b"quiet") == 1, "reported until quietened"
    assert ours.count(b"loud") == 2 * 3, "the shell's duplicate of each fd closes too"
