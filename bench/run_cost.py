"""The cost of `cowsnap run` itself.

1. The fixed cost of `cowsnap run -- true` in a 200-file and a 50,000-file btrfs
   workspace (target: the same for both), next to a shadow-git checkpoint of the
   same tree (`git add -A && git commit` into a separate git dir, what agent
   checkpoint features do) and to `cowsnap --version` (interpreter start-up).
2. A run that changes one byte of a 1 GiB file, next to reading the file once.

Run as root: .venv/bin/python bench/run_cost.py [RUNS]
Filesystem: $COWSNAP_TEST_BTRFS (default /var/tmp/cowsnap-dev/btrfs).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from benchlib import MOUNTS, median_seconds, populate

import cowsnap

COWSNAP = [sys.executable, "-m", "cowsnap"]
GIB = 1024**3


def environment(scratch: Path) -> dict[str, str]:
    """Isolated store and configuration; bytecode cached as in an installed cowsnap
    (pip compiles it at install time; PYTHONDONTWRITEBYTECODE would time the compiler)."""
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env.update(COWSNAP_STORE=str(scratch / "store"), XDG_CONFIG_HOME=str(scratch / "config"),
               XDG_CACHE_HOME=str(scratch / "cache"), GIT_CONFIG_GLOBAL="/dev/null",
               GIT_CONFIG_SYSTEM="/dev/null")
    return env


def quiet(args: list[str], cwd: Path, env: dict[str, str]) -> None:
    subprocess.run(args, cwd=cwd, env=env, check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)


def subvolume(parent: Path, name: str) -> Path:
    path = parent / name
    subprocess.run(["btrfs", "-q", "subvolume", "create", str(path)], check=True)
    return path


def fixed_cost(parent: Path, files: int, runs: int, env: dict[str, str]) -> dict[str, float]:
    workspace = subvolume(parent, f"ws{files}")
    populate(workspace, files)
    subprocess.run(["sync"], check=True)
    run_true = median_seconds(lambda: quiet([*COWSNAP, "run", "--", "true"], workspace, env),
                              runs)
    shadow = parent / f"shadow{files}.git"
    git = ["git", f"--git-dir={shadow}", f"--work-tree={workspace}"]
    quiet(["git", "init", "-q", "--bare", str(shadow)], parent, env)
    checkpoint = [*git, "-c", "user.name=b", "-c", "user.email=b@b", "commit", "-q",
                  "--allow-empty", "-m", "checkpoint"]

    def shadow_checkpoint() -> None:
        quiet([*git, "add", "-A"], workspace, env)
        quiet(checkpoint, workspace, env)

    shadow_checkpoint()
    return {"run_true": run_true, "shadow_git": median_seconds(shadow_checkpoint, runs)}


def one_byte_of_a_gib(parent: Path, runs: int, env: dict[str, str]) -> dict[str, float]:
    workspace = subvolume(parent, "big")
    big = workspace / "big.bin"
    block = os.urandom(1024 * 1024)
    with open(big, "wb") as out:
        for _ in range(GIB // len(block)):
            out.write(block)
    subprocess.run(["sync"], check=True)
    flip = ("import os; fd = os.open('big.bin', os.O_RDWR); "
            "b = os.pread(fd, 1, 12345); os.pwrite(fd, bytes([b[0] ^ 1]), 12345)")
    read_once = median_seconds(lambda: quiet(["cat", str(big)], workspace, env), runs)
    change = median_seconds(
        lambda: quiet([*COWSNAP, "run", "--", sys.executable, "-c", flip], workspace, env),
        runs)
    return {"read_once": read_once, "run_one_byte": change}


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    scratch = Path(tempfile.mkdtemp(prefix="cowsnap-bench-run-", dir=MOUNTS["btrfs"]))
    env = environment(scratch)
    quiet([sys.executable, "-m", "compileall", "-q", str(Path(cowsnap.__file__).parent)],
          scratch, env)
    try:
        startup = median_seconds(lambda: quiet([*COWSNAP, "--version"], scratch, env), runs)
        print(f"interpreter start-up (cowsnap --version): {startup * 1000:.0f} ms")
        for files in (200, 50_000):
            figures = fixed_cost(scratch, files, runs, env)
            print(f"{files:>6} files: cowsnap run -- true {figures['run_true'] * 1000:.0f} ms; "
                  f"shadow-git checkpoint {figures['shadow_git'] * 1000:.0f} ms")
        figures = one_byte_of_a_gib(scratch, runs, env)
        ratio = figures["run_one_byte"] / figures["read_once"]
        print(f"1 GiB file, one byte changed: cowsnap run {figures['run_one_byte']:.2f} s; "
              f"reading it once {figures['read_once']:.2f} s; ratio x{ratio:.2f}")
    finally:
        for child in scratch.iterdir():
            if child.is_dir():
                subprocess.run(["btrfs", "-q", "subvolume", "delete", str(child)],
                               capture_output=True, check=False)
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
