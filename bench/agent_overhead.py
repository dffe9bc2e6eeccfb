"""The latency the agent hook adds to each shell command an agent runs.

For `true`, `ls`, `git status` and `sed -i` on one file, in a git repository of
1,000 small files on a btrfs subvolume (the fastest backend), the median wall
time of:

- the bare command, as the agent runs it: `bash -c CMD`;
- the command as the hook rewrites it: `bash -c <rewritten>` (mktemp, `cowsnap
  agent exec`, snapshot, trace, record, move to the final directory);
- the hook itself: `cowsnap agent hook` answering one Claude Code payload
  (paid once per command, before it runs).

Prints each in ms, the added latency (wrapped + hook - bare) and the ratio.
Note the load (`uptime`) alongside: the machine's other work skews medians.

Run as root: .venv/bin/python bench/agent_overhead.py [RUNS]
Filesystem: $COWSNAP_TEST_BTRFS (default /var/tmp/cowsnap-dev/btrfs).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from benchlib import MOUNTS, median_seconds, populate

from cowsnap.agent.wrapper import wrap

COWSNAP = [sys.executable, "-m", "cowsnap"]
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


def make_workspace(parent: Path, env: dict[str, str]) -> Path:
    workspace = parent / "workspace"
    subprocess.run(["btrfs", "-q", "subvolume", "create", str(workspace)], check=True)
    populate(workspace, FILES)
    for git in (["init", "-q"], ["add", "-A"], ["-c", "user.name=b", "-c", "user.email=b@b",
                                               "commit", "-qm", "files"]):
        subprocess.run(["git", *git], cwd=workspace, env=env, check=True)
    return workspace


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 15
    parent = Path(tempfile.mkdtemp(prefix="cowsnap-bench-", dir=MOUNTS["btrfs"]))
    scratch = Path(tempfile.mkdtemp(prefix="cowsnap-bench-"))
    env = environment(scratch)
    workspace = make_workspace(parent, env)
    try:
        payload = json.dumps({"session_id": "bench", "cwd": str(workspace),
                              "hook_event_name": "PreToolUse", "tool_name": "Bash",
                              "permission_mode": "bypassPermissions",
                              "tool_input": {"command": "sed -i s/a/b/ f"}}).encode()
        hook = median_seconds(lambda: subprocess.run(
            [*COWSNAP, "agent", "hook", "--agent", "claude-code"], input=payload, env=env,
            cwd=workspace, capture_output=True, check=True), runs)
        print(f"load: {os.getloadavg()[0]:.2f}  runs: {runs}  workspace: {FILES} files, "
              f"git, btrfs")
        print(f"hook (cowsnap agent hook): {hook * 1000:.0f} ms")
        print(f"{'command':<18} {'bare':>8} {'wrapped':>9} {'added':>9} {'ratio':>7}")
        for name, command in COMMANDS.items():
            wrapped = wrap(command, COWSNAP, "bench")

            def shell(text: str) -> None:
                subprocess.run(["bash", "-c", text], cwd=workspace, env=env,
                               stdout=subprocess.DEVNULL, check=True)

            bare = median_seconds(lambda command=command: shell(command), runs)
            recorded = median_seconds(lambda wrapped=wrapped: shell(wrapped), runs)
            added = recorded + hook - bare
            print(f"{name:<18} {bare * 1000:>6.1f}ms {recorded * 1000:>7.0f}ms "
                  f"{added * 1000:>7.0f}ms {(recorded + hook) / bare:>6.0f}x")
    finally:
        subprocess.run(["btrfs", "-q", "subvolume", "delete", str(workspace)],
                       capture_output=True, check=False)
        shutil.rmtree(parent, ignore_errors=True)
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
