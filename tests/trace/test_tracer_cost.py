"""What following a stop costs the tracer itself: its own syscalls, counted with strace
attached to the tracing process (not to the tracees, which it traces). Each byte of a
path is read out of the tracee once, even past the first chunk of 256 bytes; a removed
name is lstat'ed once (the resolver's lstat says whether it was a directory); and the
Python tracer decides once per open whether it may mutate its path. The native core's
scheduling policy moves only the tracer, and moves it back."""

from __future__ import annotations

import itertools
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from trace_support import Runner, use_tracer

from cowsnap.trace import choice, decoder, fast, syscalls, trace
from cowsnap.trace.events import Event
from tests.conftest import missing_environment

pytestmark = pytest.mark.timeout(120)

_READ = re.compile(
    r'^(?:process_vm_readv\(\d+, \[\{iov_base="(?P<vm>(?:[^"\\]|\\.)*)"(?:\.\.\.)?, iov_len=\d+\}\]'
    r", 1, \[\{iov_base=(?P<address>0x[0-9a-f]+), iov_len=\d+\}\], 1, 0\)"
    r'|pread64\(\d+, "(?P<mem>(?:[^"\\]|\\.)*)"(?:\.\.\.)?, \d+, (?P<offset>\d+)\))'
    r" = (?P<count>\d+)$"
)
_LSTAT = re.compile(r'^(?:newfstatat\(AT_FDCWD, |lstat\(|statx\(AT_FDCWD, )"(?P<path>[^"]*)"')
_LONG_NAME = "L" * 200 + "/" + "M" * 100
"""ops.c's counted_ops stats this beneath the work directory."""


def _tracer_syscalls(ops_binary: Path, work: Path) -> list[str]:
    """The tracing process's reads of tracee memory and its stats, while it traces
    `ops counted` (an unlink, an rmdir, a stat of a path over 256 bytes)."""
    if shutil.which("strace") is None:
        missing_environment("strace is needed to count the tracer's syscalls")
    (work / "gone").touch()
    (work / "gonedir").mkdir()
    log = work.parent / "tracer.strace"
    script = ("import sys\nfrom cowsnap.trace import trace\n"
              "sys.exit(trace(sys.argv[1:], on_event=lambda event: None))")
    done = subprocess.run(
        ["strace", "-qq", "-s", "8192", "-o", str(log),
         "-e", "trace=process_vm_readv,pread64,newfstatat,lstat,statx",
         sys.executable, "-c", script, str(ops_binary), "counted", str(work)],
        capture_output=True, timeout=100,
    )
    assert done.returncode == 0, done.stderr.decode(errors="replace")
    return log.read_text(errors="replace").splitlines()


def _begins(path: str, data: str) -> bool:
    """Whether a read's bytes (strace's text, up to the first NUL) are the start of
    `path`: the unlinked names share the work directory, so a fixed-length prefix
    matches them too when that directory's name is long (pytest's default basetemp)."""
    text = data.split("\\0", 1)[0]
    return len(text) > 0 and path.startswith(text)


def test_a_path_over_256_bytes_is_read_once(ops_binary: Path, work: Path) -> None:
    path = f"{work}/{_LONG_NAME}"
    reads = []
    for line in _tracer_syscalls(ops_binary, work):
        found = _READ.match(line)
        if found:
            address = int(found["address"], 16) if found["address"] else int(found["offset"])
            reads.append((address, int(found["count"]), found["vm"] or found["mem"] or ""))
    starts = [address for address, _, data in reads if _begins(path, data)]
    assert len(starts) == 1, "the path is read from its start once"
    first, end = starts[0], starts[0] + len(path) + 1
    spans = sorted((max(address, first), min(address + count, end))
                   for address, count, _ in reads if address < end and address + count > first)
    assert len(spans) >= 2, "a path over 256 bytes takes a second read"
    assert all(a[1] <= b[0] for a, b in itertools.pairwise(spans)), f"bytes read twice: {spans}"
    assert sum(stop - start for start, stop in spans) == len(path) + 1


def test_a_removed_name_is_lstated_once(ops_binary: Path, work: Path) -> None:
    lstats = [found["path"] for line in _tracer_syscalls(ops_binary, work)
              if (found := _LSTAT.match(line))]
    assert lstats.count(f"{work}/gone") == 1, "unlink"
    assert lstats.count(f"{work}/gonedir") == 1, "rmdir"


class TestTheNativeCore:
    @pytest.fixture
    def tracer(self, monkeypatch: pytest.MonkeyPatch) -> str:
        """Only the native core keeps /proc directories open."""
        return use_tracer("native", monkeypatch)

    def test_an_fd_is_looked_up_one_name_deep(self, ops_binary: Path, work: Path) -> None:
        """`ops dirfd` names paths by four fds; each lookup is a readlinkat of the fd's
        number beneath /proc/TID/fd, opened once for the thread, and the resolver reads
        its own O_PATH fds beneath /proc/self/fd, opened once."""
        if shutil.which("strace") is None:
            missing_environment("strace is needed to count the tracer's syscalls")
        log = work.parent / "tracer.strace"
        script = ("import sys\nfrom cowsnap.trace import trace\n"
                  "sys.exit(trace(sys.argv[1:], on_event=lambda event: None))")
        done = subprocess.run(
            ["strace", "-qq", "-o", str(log), "-e", "trace=readlink,readlinkat,open,openat",
             sys.executable, "-c", script, str(ops_binary), "dirfd", str(work)],
            capture_output=True, timeout=100,
        )
        assert done.returncode == 0, done.stderr.decode(errors="replace")
        lines = log.read_text().splitlines()
        whole = [line for line in lines if re.match(r'readlink(at\(AT_FDCWD, |\()"/proc/[^"]*/fd/',
                                                     line)]
        assert whole == [], "no fd is looked up by its whole /proc path"
        directories = [line for line in lines
                       if re.match(r'openat\(AT_FDCWD, "/proc/(\d+|self)/fd", [^)]*O_PATH', line)]
        assert len(directories) == 2, "/proc/TID/fd of the one thread and /proc/self/fd"
        relative = [line for line in lines if re.match(r'readlinkat\(\d+, "\d+"', line)]
        assert len(relative) >= 4, "dirfd's fd lookups and the resolver's own fds"


    def test_fd_directories_leave_the_recorder_its_fds(self, ops_binary: Path, work: Path) -> None:
        """Under a limit of 48 fds (the command raises its own), the 160 threads of
        `ops crowd` get at most 6 kept /proc/TID/fd directories (an eighth of the
        limit); the others spell the whole path."""
        script = (
            "import os, resource, sys\n"
            "from cowsnap.trace import trace\n"
            "hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]\n"
            "resource.setrlimit(resource.RLIMIT_NOFILE, (48, hard))\n"
            "before = len(os.listdir('/proc/self/fd'))\n"
            "peak = [0]\n"
            "def seen(event):\n"
            "    peak[0] = max(peak[0], len(os.listdir('/proc/self/fd')))\n"
            "status = trace(sys.argv[1:], on_event=seen)\n"
            "print(status, peak[0] - before)\n"
        )
        command = ["sh", "-c", 'ulimit -Sn 1024 && exec "$0" crowd "$1"', str(ops_binary),
                   str(work)]
        done = subprocess.run([sys.executable, "-c", script, *command], capture_output=True,
                              timeout=100)
        assert done.returncode == 0, done.stderr.decode(errors="replace")
        status, extra = map(int, done.stdout.split())
        assert status == 0
        assert len(list(work.iterdir())) == 160
        assert extra <= 6 + 2, "six directories, /proc/self/fd and the launch's pipe"


class TestThePythonTracer:
    @pytest.fixture
    def tracer(self, monkeypatch: pytest.MonkeyPatch) -> str:
        """The native core has no open_may_mutate (one expression in decode_open)."""
        monkeypatch.setenv(choice.VARIABLE, "python")
        return "python"

    def test_open_may_mutate_is_evaluated_once_per_open(
        self, ops: Runner, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        flags_seen: list[int] = []

        def counted(flags: int) -> bool:
            flags_seen.append(flags)
            return syscalls.open_may_mutate(flags)

        monkeypatch.setattr(decoder, "open_may_mutate", counted)
        traced = ops("dirfd")
        opens = [event.flags for event in traced.path_events()
                 if event.syscall in ("open", "openat", "openat2", "creat")]
        assert len(opens) > 3
        assert flags_seen == opens


class TestTheSchedulingPolicy:
    @pytest.fixture
    def tracer(self, monkeypatch: pytest.MonkeyPatch) -> str:
        """Only the native core has one (COWSNAP_TRACER_FOLLOW=1)."""
        return use_tracer("native", monkeypatch)

    def test_only_the_tracer_moves_and_it_moves_back(
        self, run: Runner, work: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        allowed = os.sched_getaffinity(0)
        if len(allowed) < 2:
            missing_environment("the scheduling policy needs two CPUs to act")
        monkeypatch.setenv(fast.FOLLOW_VARIABLE, "1")
        tracer_cpus: list[set[int]] = []

        def seen(event: Event) -> None:
            tracer_cpus.append(os.sched_getaffinity(0))

        script = ("i=0; while [ $i -lt 300 ]; do test -e x; i=$((i+1)); done; "
                  "grep Cpus_allowed_list /proc/self/status > child")
        status = trace(["sh", "-c", script], cwd=work, on_event=seen)
        assert status == 0
        assert any(len(cpus) == 1 for cpus in tracer_cpus), "the tracer followed its tracee"
        listed = (work / "child").read_text().split()[1]
        assert _cpu_list(listed) == allowed, "a child of the tracee keeps its affinity"
        assert os.sched_getaffinity(0) == allowed, "the tracer's affinity is given back"


def _cpu_list(text: str) -> set[int]:
    """'0-1,3' -> {0, 1, 3}"""
    cpus: set[int] = set()
    for part in text.split(","):
        first, _, last = part.partition("-")
        cpus.update(range(int(first), int(last or first) + 1))
    return cpus
