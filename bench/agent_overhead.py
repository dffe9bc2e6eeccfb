"""The latency the agent hook adds to each shell command an agent runs.

For `true`, `ls`, `git status` and `sed -i` on one file, in a git repository of
1,000 small files, the median wall time of:

- the bare command, as the agent runs it: `bash -c CMD`;
- the command as the hook rewrites it: `bash -c <rewritten>` (mktemp, `cowsnap
  agent exec`, snapshot, trace, record, move to the final directory);
- the hook itself: `cowsnap agent hook` answering one Claude Code payload
  (paid once per command, before it runs).

Every round times the hook, then each command bare and wrapped, one after the
other, so the machine's other work weighs on all of them alike. Prints each
median in ms, the added latency per command (wrapped + hook - bare), the
ratio (wrapped + hook) / bare, and the added CPU time (user + system of every
process started, which the machine's load skews less), with the load before
and after.

Run as root: .venv/bin/python bench/agent_overhead.py [RUNS] [btrfs|xfs|ext4 ...]
(default 15 runs, on btrfs: a subvolume, the fastest backend; xfs: reflink
copies; ext4: plain copies). Filesystems: $COWSNAP_TEST_BTRFS, _XFS, _EXT4.
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from benchlib import MOUNTS, populate

from cowsnap.agent.wrapper import wrap

SCRIPT = Path(sys.executable).with_name("cowsnap")
COWSNAP = [str(SCRIPT)] if SCRIPT.exists() else [sys.executable, "-m", "cowsnap"]
"""As the installed hook runs it: the console script by absolute path."""
FILES = 1000
COMMANDS = {
    "true": "true",
    "ls": "ls",
    "git status": "git status --short",
    "sed -i one file": "sed -i 's/int/long/' d0000/f000000.c",
}


def environment(scratch: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env.update(COWSNAP_STORE=str(scratch / "store"), XDG_CONFIG_HOME=str(scratch / "config"),
               XDG_CACHE_HOME=str(scratch / "cache"), GIT_CONFIG_GLOBAL="/dev/null",
               GIT_CONFIG_SYSTEM="/dev/null", HOME=str(scratch))
    return env


def make_workspace(parent: Path, filesystem: str, env: dict[str, str]) -> Path:
    workspace = parent / "workspace"
    if filesystem == "btrfs":
        subprocess.run(["btrfs", "-q", "subvolume", "create", str(workspace)], check=True)
    else:
        workspace.mkdir()
    populate(workspace, FILES)
    for git in (["init", "-q"], ["add", "-A"], ["-c", "user.name=b", "-c", "user.email=b@b",
                                               "commit", "-qm", "files"]):
        subprocess.run(["git", *git], cwd=workspace, env=env, check=True)
    return workspace


def seconds(action: Callable[[], object]) -> tuple[float, float]:
    """Wall time and CPU time (user + system, of the processes it started)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    action()
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, after.ru_utime + after.ru_stime - usage.ru_utime - usage.ru_stime


def measure(filesystem: str, runs: int) -> None:
    parent = Path(tempfile.mkdtemp(prefix="cowsnap-bench-", dir=MOUNTS[filesystem]))
    scratch = Path(tempfile.mkdtemp(prefix="cowsnap-bench-", dir=parent))
    env = environment(scratch)
    workspace = make_workspace(parent, filesystem, env)
    payload = json.dumps({"session_id": "bench", "cwd": str(workspace),
                          "hook_event_name": "PreToolUse", "tool_name": "Bash",
                          "permission_mode": "bypassPermissions",
                          "tool_input": {"command": "sed -i s/a/b/ f"}}).encode()

    def hook() -> None:
        subprocess.run([*COWSNAP, "agent", "hook", "--agent", "claude-code"], input=payload,
                       env=env, cwd=workspace, capture_output=True, check=True)

    def shell(text: str) -> Callable[[], object]:
        return lambda: subprocess.run(["bash", "-c", text], cwd=workspace, env=env,
                                      stdout=subprocess.DEVNULL, check=True)

    timings: dict[str, list[tuple[float, float]]] = {"hook": []}
    load_before = os.getloadavg()[0]
    try:
        for _ in range(runs):
            timings["hook"].append(seconds(hook))
            for name, command in COMMANDS.items():
                timings.setdefault(f"{name} bare", []).append(seconds(shell(command)))
                wrapped = wrap(command, COWSNAP, "bench")
                timings.setdefault(f"{name} wrapped", []).append(seconds(shell(wrapped)))
    finally:
        if filesystem == "btrfs":
            subprocess.run(["btrfs", "-q", "subvolume", "delete", str(workspace)],
                           capture_output=True, check=False)
        shutil.rmtree(parent, ignore_errors=True)
    median = {name: statistics.median(wall for wall, _cpu in values)
              for name, values in timings.items()}
    cpu = {name: statistics.median(cpu for _wall, cpu in values)
           for name, values in timings.items()}
    print(f"{filesystem}: {FILES} files in git; medians of {runs} interleaved runs; "
          f"load {load_before:.1f} -> {os.getloadavg()[0]:.1f}")
    print(f"  hook (cowsnap agent hook): {median['hook'] * 1000:.0f} ms wall, "
          f"{cpu['hook'] * 1000:.0f} ms CPU")
    print(f"  {'command':<18} {'bare':>8} {'wrapped':>9} {'added':>9} {'ratio':>7}"
          f" {'added CPU':>10}")
    for name in COMMANDS:
        bare, wrapped = median[f"{name} bare"], median[f"{name} wrapped"]
        added = wrapped + median["hook"] - bare
        added_cpu = cpu[f"{name} wrapped"] + cpu["hook"] - cpu[f"{name} bare"]
        print(f"  {name:<18} {bare * 1000:>6.1f}ms {wrapped * 1000:>7.0f}ms "
              f"{added * 1000:>7.0f}ms {(wrapped + median['hook']) / bare:>6.0f}x"
              f" {added_cpu * 1000:>8.0f}ms")


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 15
    for filesystem in sys.argv[2:] or ["btrfs"]:
        measure(filesystem, runs)


if __name__ == "__main__":
    main()
