"""The native core and the Python tracer, run on every fixture, give identical event
streams (and identical hook calls): the Python tracer is the reference."""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from trace_support import use_tracer

from cowsnap.trace import trace
from cowsnap.trace.events import Event, PathEvent, ProcessEvent, TraceWarning

pytestmark = pytest.mark.timeout(60)

SEQUENTIAL = [
    "dirfd", "tmpfile", "rename", "links", "meta", "probe", "copy", "bind", "uring", "node",
    "dup", "chdir", "chroot", "long", "long-rewrite", "long-cwd", "getdents", "i386", "at",
    "x32", "unshare", "raw",
]  # fmt: skip
CONCURRENT = ["threads", "fork", "stop", "daemon", "sigint", "restart"]
SCRIPTS = {
    "shell": "mkdir -p a/b/c && touch a/b/c/f && ln -s a l && cat l/b/c/f && mv a z && rm -r z l",
    "reshape": "mkdir real && ln -s real alias && echo > alias/f && mkdir d && mv d d2 && "
    "mkdir e && ln -s e d && touch d/y && rm d && mkdir d && touch d/z",
}

Normalised = tuple[object, ...]


@pytest.fixture
def tracer() -> str:
    """Both tracers run in each test here (instead of each test once per tracer)."""
    return "both"


def _normaliser(work: Path, ordered: bool, anonymous: bool) -> Callable[[Event], Normalised]:
    """Events with pids and tids numbered by first appearance and the work directory named;
    unordered (concurrent) runs also lose their fd numbers, which depend on the race, and
    anonymous ones their pids and tids (when many threads race, which is first differs)."""
    ids: dict[int, int] = {}
    root = bytes(work)

    def number(pid: int | None) -> int | None:
        if anonymous:
            return None
        return None if pid is None else ids.setdefault(pid, len(ids))

    def path(value: bytes | None) -> bytes | None:
        return None if value is None else value.replace(root, b"<work>")

    def normalise(event: Event) -> Normalised:
        if isinstance(event, PathEvent):
            result = event.result if ordered or event.result < 0 else 0
            return ("path", number(event.pid), number(event.tid), event.syscall,
                    event.operation.value, path(event.path), result, event.flags,
                    path(event.related_path))
        if isinstance(event, ProcessEvent):
            return ("process", event.kind, number(event.pid), number(event.tid),
                    number(event.parent), path(event.path), event.status)
        assert isinstance(event, TraceWarning)
        message = re.sub(r"\d+", lambda m: f"#{number(int(m.group()))}", event.message)
        return ("warning", number(event.pid), message)

    return normalise


def _traced(tracer: str, argv: list[str], work: Path, monkeypatch: pytest.MonkeyPatch,
            ordered: bool, anonymous: bool) -> tuple[int, list[Normalised], list[Normalised]]:
    use_tracer(tracer, monkeypatch)
    normalise = _normaliser(work, ordered, anonymous)
    events: list[Normalised] = []
    hooks: list[Normalised] = []

    def closed(pid: int, path: bytes) -> None:
        hooks.append(("close", path.replace(bytes(work), b"<work>")))

    status = trace(
        argv, cwd=work, on_event=lambda event: events.append(normalise(event)),
        before_mutation=lambda event: hooks.append(normalise(event)), on_written_close=closed,
    )
    return status, events, hooks


def _compare(argv_for: Callable[[Path], list[str]], tmp_path: Path,
             monkeypatch: pytest.MonkeyPatch, ordered: bool, anonymous: bool = False) -> None:
    runs = []
    for tracer in ("python", "native"):
        work = tmp_path.resolve() / tracer
        work.mkdir()
        runs.append(_traced(tracer, argv_for(work), work, monkeypatch, ordered, anonymous))
    (python_status, python_events, python_hooks), (status, events, hooks) = runs
    assert status == python_status
    if ordered:
        assert events == python_events
        assert hooks == python_hooks
    else:
        assert sorted(map(repr, events)) == sorted(map(repr, python_events))
        assert sorted(map(repr, hooks)) == sorted(map(repr, python_hooks))


@pytest.mark.parametrize("scenario", SEQUENTIAL + CONCURRENT)
def test_every_ops_scenario_gives_the_same_events(
    scenario: str, ops_binary: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    root_required: None,
) -> None:
    _compare(lambda work: [str(ops_binary), scenario, str(work)], tmp_path, monkeypatch,
             ordered=scenario in SEQUENTIAL)


def test_an_exec_from_a_thread_gives_the_same_events(
    ops_binary: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The thread looks up an fd before its exec, and the program it runs does after,
    under the thread group's id: the native core's /proc/TID/fd of the former tid is not
    used again."""

    def argv(work: Path) -> list[str]:
        return [str(ops_binary), "thread-exec", str(work), str(ops_binary), "getdents", str(work)]

    _compare(argv, tmp_path, monkeypatch, ordered=False)


def test_more_threads_than_fd_directories_kept_give_the_same_events(
    ops_binary: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """160 threads look up their fds at once: the native core keeps /proc/TID/fd open
    for 128 and spells the whole path for the others."""
    _compare(lambda work: [str(ops_binary), "crowd", str(work)], tmp_path, monkeypatch,
             ordered=False, anonymous=True)


@pytest.mark.parametrize("script", sorted(SCRIPTS))
def test_shell_scripts_give_the_same_events(
    script: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _compare(lambda work: ["sh", "-c", SCRIPTS[script]], tmp_path, monkeypatch, ordered=True)


@pytest.mark.parametrize("scenario", ["dirfd", "tmpfile", "rename", "dup", "threads", "fork"])
def test_on_one_cpu_the_same_events(
    scenario: str, ops_binary: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    root_required: None,
) -> None:
    """With one CPU allowed the native core fills its batches before Python runs (hooks
    still end them): the events and hook calls do not change."""
    allowed = os.sched_getaffinity(0)
    os.sched_setaffinity(0, {min(allowed)})
    try:
        _compare(lambda work: [str(ops_binary), scenario, str(work)], tmp_path, monkeypatch,
                 ordered=scenario in SEQUENTIAL)
    finally:
        os.sched_setaffinity(0, allowed)
