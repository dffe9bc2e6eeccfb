"""A process that exits with a watched file still open for writing: the kernel closes
it without a close() to stop at; the version is taken at the exit stop instead."""

from __future__ import annotations

from pathlib import Path

from tests.versions.conftest import Runner


def test_an_exit_without_close_gives_the_last_version(
        run_versions: Runner, workspace: Path) -> None:
    script = """
import os
fd = os.open("ckpt.txt", os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
os.write(fd, b"first")
os.close(fd)
fd = os.open("ckpt.txt", os.O_WRONLY | os.O_TRUNC)
os.write(fd, b"second, never closed")
os._exit(0)
"""
    run = run_versions(script, ["ckpt.txt"])
    assert run.contents(workspace / "ckpt.txt") == [b"first", b"second, never closed"]
    assert [v.trigger for v in run.entry(workspace / "ckpt.txt").versions] == ["close", "close"]


def test_threads_exiting_together_give_one_version(run_versions: Runner,
                                                   workspace: Path) -> None:
    script = """
import os, threading, time
fd = os.open("t.txt", os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
def write():
    os.write(fd, b"from a thread")
    time.sleep(0.2)
threading.Thread(target=write, daemon=True).start()
time.sleep(0.05)
os._exit(0)
"""
    run = run_versions(script, ["t.txt"])
    assert run.contents(workspace / "t.txt") == [b"from a thread"]


def test_a_child_writing_through_an_inherited_fd(run_versions: Runner,
                                                 workspace: Path) -> None:
    script = """
import os
fd = os.open("c.txt", os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
pid = os.fork()
if pid == 0:
    os.write(fd, b"child")
    os._exit(0)
os.waitpid(pid, 0)
os.write(fd, b" parent")
os.close(fd)
"""
    run = run_versions(script, ["c.txt"])
    assert run.contents(workspace / "c.txt") == [b"child", b"child parent"]
