"""What `cowsnap run` loads: libgit2 only when the run touches a repository, and
nothing the run does not use (start-up time: bench/startup.py); and what `cowsnap
restore` loads: nothing of diff, recording or snapshotting. Checked by the modules
loaded, never by timings."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from cowsnap.trace.choice import choose as choose_tracer
from tests.conftest import Cowsnap, btrfs_workspace

LIST_MODULES = """
import atexit, sys
listing = sys.argv[1]
atexit.register(lambda: open(listing, "w").write("\\n".join(sorted(sys.modules))))
sys.argv = ["cowsnap", *sys.argv[2:]]
from cowsnap.cli import main
main()
"""


def loaded_by(cowsnap: Cowsnap, cwd: Path, *arguments: str) -> set[str]:
    """The modules `cowsnap ARGUMENTS` had loaded when it exited."""
    listing = cwd.parent / "modules.txt"
    subprocess.run([sys.executable, "-c", LIST_MODULES, str(listing), *arguments], cwd=cwd,
                   env=cowsnap.env(), check=True, capture_output=True, timeout=120)
    return set(listing.read_text().split())


def modules_loaded(cowsnap: Cowsnap, cwd: Path, *command: str) -> set[str]:
    """The modules `cowsnap run -- COMMAND` had loaded when it exited."""
    return loaded_by(cowsnap, cwd, "run", "--", *command)


def test_a_run_outside_any_repository_loads_no_libgit2(cowsnap: Cowsnap,
                                                          tmp_path: Path) -> None:
    workspace = tmp_path / "ws"
    workspace.mkdir()
    # the first run creates the store (its object database through libgit2)
    modules_loaded(cowsnap, workspace, "true")
    loaded = modules_loaded(cowsnap, workspace, "sh", "-c", "echo x > new.txt; cat new.txt")
    assert "cowsnap.gitlib.context" in loaded
    assert "pygit2" not in loaded


NOT_FOR_A_RUN_UNDER_ITS_CAP = (
    "mcp", "cowsnap.agent.mcp_server", "concurrent.futures", "jsonschema", "tomllib",
    "cowsnap.store.gc", "cowsnap.store.usage", "cowsnap.store.prune", "cowsnap.store.bundle",
    "cowsnap.snapshot.kept", "cowsnap.cli.diff", "cowsnap.cli.restore", "cowsnap.restore",
    "shutil", "lzma", "bz2", "shlex", "click.shell_completion", "secrets", "random",
    "cowsnap.record.version_capture",
)


def test_a_run_that_keeps_nothing_loads_no_pruning_nor_other_commands(
        cowsnap: Cowsnap, tmp_path: Path) -> None:
    workspace = tmp_path / "ws"
    workspace.mkdir()
    modules_loaded(cowsnap, workspace, "true")
    loaded = modules_loaded(cowsnap, workspace, "true")
    assert "cowsnap.trace" in loaded
    assert not loaded & set(NOT_FOR_A_RUN_UNDER_ITS_CAP)
    if choose_tracer().name == "native":
        assert not {name for name in loaded if name.split(".")[0] == "ptrace"}


def test_a_run_writing_in_a_repository_loads_it(cowsnap: Cowsnap, tmp_path: Path) -> None:
    workspace = tmp_path / "ws"
    workspace.mkdir()
    subprocess.run(["git", "init", "-q", str(workspace)], check=True, env=cowsnap.env())
    assert "pygit2" in modules_loaded(cowsnap, workspace, "sh", "-c", "echo x > new.txt")


LAZY_BACKENDS = ("cowsnap.snapshot.lazy", "cowsnap.snapshot.reflink", "cowsnap.snapshot.copy",
                 "cowsnap.snapshot.lazy_backend", "cowsnap.snapshot.ledger")


def test_a_run_on_btrfs_loads_no_lazy_backend(cowsnap: Cowsnap) -> None:
    """auto stops at the first backend that works: btrfs, so reflink is never probed
    nor the lazy backends imported."""
    for workspace in btrfs_workspace():
        modules_loaded(cowsnap, workspace, "true")
        loaded = modules_loaded(cowsnap, workspace, "sh", "-c", "echo x > new.txt")
        assert "cowsnap.snapshot.btrfs" in loaded
        assert not loaded & set(LAZY_BACKENDS)


NOT_FOR_A_RESTORE = (
    "cowsnap.api.changes", "cowsnap.api.reading", "cowsnap.diff", "cowsnap.gitlib.context",
    "cowsnap.record.policy", "cowsnap.record.recorder", "cowsnap.trace",
    "cowsnap.snapshot.btrfs", "cowsnap.snapshot.registry", "cowsnap.snapshot.kept", "pygit2",
    "secrets", "random",
)


def test_a_restore_loads_no_diff_recording_nor_snapshotting(cowsnap: Cowsnap) -> None:
    """Start-up counts in every restore's time: a restore loads what it uses."""
    for workspace in btrfs_workspace():
        (workspace / "kept.txt").write_text("before\n")
        cowsnap("run", "--", "sh", "-c", "echo after > kept.txt", cwd=workspace)
        loaded = loaded_by(cowsnap, workspace, "restore")
        assert (workspace / "kept.txt").read_text() == "before\n"
        assert "cowsnap.restore.apply" in loaded
        assert not {name for name in loaded for unwanted in NOT_FOR_A_RESTORE
                    if name == unwanted or name.startswith(unwanted + ".")}


NOT_FOR_A_WRAPPED_COMMAND = ("cowsnap.api.agents", "cowsnap.agent.settings", "subprocess")


def test_a_wrapped_command_loads_no_hook_installation(cowsnap: Cowsnap, tmp_path: Path) -> None:
    """`cowsnap agent exec` runs before every command an agent runs: it loads what a run
    loads, not what installing hooks needs."""
    workspace = tmp_path / "ws"
    workspace.mkdir()
    loaded_by(cowsnap, workspace, "agent", "exec", "--", "true")
    loaded = loaded_by(cowsnap, workspace, "agent", "exec", "--", "echo x > new.txt")
    assert (workspace / "new.txt").read_text() == "x\n"
    assert "cowsnap.api.shell" in loaded
    assert not loaded & set(NOT_FOR_A_WRAPPED_COMMAND)
