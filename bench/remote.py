"""The cost of `cowsnap push` and `cowsnap fetch` against `git push` / `git fetch` of
the same objects, for runs that rewrote 10, 1,000 and 10,000 files.

Each run is recorded for real (`cowsnap run` of a command appending a line to
every file: a before- and an after-content per file). The remote is a bare
repository behind `git daemon` on 127.0.0.1. Then each of RUNS rounds times
the four below back to back, each on a fresh remote or store (cowsnap and git
interleaved, so a change of load weighs on both alike; medians are printed):

- cowsnap push of the run, and `git push` of the very objects it sent, from a
  repository holding them as loose objects, as the store does (so git too must
  compress and pack them, rather than reuse a pack);
- cowsnap fetch of the run into a fresh store (checks and stores every
  content), and `git fetch` of its ref into a fresh bare repository.

Bytes: what pygit2 reports sent and received for cowsnap; for git, the size of
the pack it sends (`git pack-objects --revs --stdout` of the ref) and the pack
it receives (kept: fetch.unpackLimit=1).

Run: .venv/bin/python bench/remote.py [RUNS]    (default 3)
"""

from __future__ import annotations

import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from benchlib import populate

from cowsnap import api
from cowsnap.remote.fetch import fetch_runs
from cowsnap.store.store import Store

SIZES = (10, 1000, 10000)
APPEND = """
import os
for directory, _dirs, names in os.walk("."):
    for name in names:
        if name.endswith(".c"):
            with open(os.path.join(directory, name), "a") as handle:
                handle.write("int y = 1;\\n")
"""


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start_daemon(base: Path) -> tuple[subprocess.Popen[bytes], int]:
    port = _free_port()
    process = subprocess.Popen(
        ["git", "daemon", "--reuseaddr", f"--base-path={base}", "--export-all",
         "--enable=receive-pack", "--listen=127.0.0.1", f"--port={port}", str(base)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    while process.poll() is None:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return process, port
        time.sleep(0.05)
    raise SystemExit("git daemon did not start")


def git(*args: str, cwd: Path | None = None) -> bytes:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True).stdout


def fresh_bare(path: Path) -> Path:
    shutil.rmtree(path, ignore_errors=True)
    git("init", "-q", "--bare", str(path))
    return path


def record(root: Path, files: int) -> tuple[str, str]:
    """A store holding one run that rewrote `files` files; (store, run id)."""
    workspace = root / "workspace"
    workspace.mkdir()
    populate(workspace, files)
    store = root / "store"
    result = api.run(api.RunRequest(command=[sys.executable, "-c", APPEND],
                                    workspace=str(workspace), store=str(store),
                                    cwd=workspace))
    assert result.recording_error is None, result.recording_error
    return str(store), result.run_id


def timed(action: Callable[[], object], setup: Callable[[], object]) -> float:
    """Wall seconds of one `action`, after an untimed `setup`."""
    setup()
    begin = time.perf_counter()
    action()
    return time.perf_counter() - begin


def measure(root: Path, served: Path, files: int, runs: int, port: int) -> None:
    """Time and size one run's push and fetch, cowsnap and git interleaved in each of
    `runs` rounds; `served` is under the daemon's base path."""
    store, run_id = record(root, files)
    ref = f"refs/cowsnap/runs/{run_id[-2:]}/{run_id}"
    url = f"git://127.0.0.1:{port}/{served.name}"
    target = served / "target.git"
    sent: list[int] = []
    received: list[int] = []
    fetched_store = root / "fetched-store"
    fetched_git = root / "fetched.git"

    def cowsnap_push() -> None:
        sent.append(api.push(f"{url}/target.git", [run_id], store=store).sent_bytes)

    def cowsnap_fetch() -> None:
        report = fetch_runs(Store.open(fetched_store), f"{url}/source.git", [run_id])
        assert [run.status for run in report.runs] == ["fetched"], report
        received.append(report.received_bytes)

    timed(cowsnap_push, lambda: fresh_bare(target))
    pack = subprocess.run(["git", "--git-dir", str(target), "pack-objects", "--revs",
                           "--stdout", "-q"], input=ref.encode() + b"\n",
                          capture_output=True, check=True).stdout
    source = fresh_bare(served / "source.git")
    subprocess.run(["git", "--git-dir", str(source), "unpack-objects", "-q"], input=pack,
                   check=True)
    git("--git-dir", str(source), "update-ref", ref,
        git("--git-dir", str(target), "rev-parse", ref).decode().strip())
    times: dict[str, list[float]] = {"push": [], "git push": [], "fetch": [], "git fetch": []}
    for _round in range(runs):
        times["push"].append(timed(cowsnap_push, lambda: fresh_bare(target)))
        times["git push"].append(timed(
            lambda: git("--git-dir", str(source), "push", "-q", f"{url}/target.git",
                        f"{ref}:{ref}"), lambda: fresh_bare(target)))
        times["fetch"].append(timed(
            cowsnap_fetch, lambda: shutil.rmtree(fetched_store, ignore_errors=True)))
        times["git fetch"].append(timed(
            lambda: git("--git-dir", str(fetched_git), "-c", "fetch.unpackLimit=1", "fetch",
                        "-q", f"{url}/source.git", f"{ref}:{ref}"),
            lambda: fresh_bare(fetched_git)))
    git_received = sum(path.stat().st_size
                       for path in (fetched_git / "objects" / "pack").glob("*.pack"))
    push, git_push, fetch, git_fetch = (statistics.median(times[name]) for name in times)
    print(f"{files:>6} files | push {push:7.3f}s  git {git_push:7.3f}s  "
          f"x{push / git_push:5.2f} | sent {sent[-1]:>10,} B  git "
          f"{len(pack):>10,} B  x{sent[-1] / len(pack):5.2f} | fetch {fetch:7.3f}s  git "
          f"{git_fetch:7.3f}s  x{fetch / git_fetch:5.2f} | received "
          f"{received[-1]:>10,} B  git {git_received:>10,} B  "
          f"x{received[-1] / git_received:5.2f}", flush=True)


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    print(f"load average {os.getloadavg()[0]:.2f}; median of {runs} interleaved rounds; "
          f"x = cowsnap / git")
    with tempfile.TemporaryDirectory(prefix="cowsnap-bench-remote-") as temp:
        top = Path(temp)
        os.environ["XDG_CONFIG_HOME"] = str(top / "config")
        (top / "served").mkdir()
        daemon, port = start_daemon(top / "served")
        try:
            for files in SIZES:
                root = top / f"n{files}"
                root.mkdir()
                served = top / "served" / root.name
                served.mkdir()
                measure(root, served, files, runs, port)
        finally:
            daemon.terminate()
            daemon.wait()


if __name__ == "__main__":
    main()
