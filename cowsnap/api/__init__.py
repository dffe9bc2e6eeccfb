"""The operations users can import; the CLI is a thin layer over these.

    from cowsnap import api
    result = api.run(api.RunRequest(command=["make", "test"]))
    api.restore(result.run_id)

Each operation lives in one submodule (running, reading, changes, restoring,
maintenance, settings, remotes, rewinding, agents, shell, hooks) imported on first use, so
`cowsnap run` does not pay for loading diff and restore, nor `cowsnap restore` for
loading diff, nor `cowsnap log` for loading the tracer. The types
results are made of, and the functions that write them out, are reachable here
too: the CLI imports nothing else of cowsnap (docs/python-api.md).

Every result that can fail part-way has `exit_code` (0 when all went well).
To add a name: one line in HOMES and one import under TYPE_CHECKING.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from cowsnap.collector import no_cycle_collection

if TYPE_CHECKING:
    from cowsnap.agent.mcp_server import mcp_server as mcp_server
    from cowsnap.api.agents import HookChange as HookChange
    from cowsnap.api.agents import HookLocation as HookLocation
    from cowsnap.api.agents import hook_locations as hook_locations
    from cowsnap.api.agents import install_hook as install_hook
    from cowsnap.api.agents import uninstall_hook as uninstall_hook
    from cowsnap.api.changes import Changes as Changes
    from cowsnap.api.changes import diff as diff
    from cowsnap.api.changes import diff_now as diff_now
    from cowsnap.api.changes import diff_runs as diff_runs
    from cowsnap.api.changes import version_diff as version_diff
    from cowsnap.api.common import split_run_argument as split_run_argument
    from cowsnap.api.hooks import AGENTS as AGENTS
    from cowsnap.api.hooks import Answer as Answer
    from cowsnap.api.hooks import hook_answer as hook_answer
    from cowsnap.api.maintenance import CheckResult as CheckResult
    from cowsnap.api.maintenance import ForgetResult as ForgetResult
    from cowsnap.api.maintenance import PruneResult as PruneResult
    from cowsnap.api.maintenance import check as check
    from cowsnap.api.maintenance import forget as forget
    from cowsnap.api.maintenance import prune as prune
    from cowsnap.api.reading import Log as Log
    from cowsnap.api.reading import Unreadable as Unreadable
    from cowsnap.api.reading import Versions as Versions
    from cowsnap.api.reading import cat as cat
    from cowsnap.api.reading import find_entry as find_entry
    from cowsnap.api.reading import kept_snapshot as kept_snapshot
    from cowsnap.api.reading import log as log
    from cowsnap.api.reading import pick_version as pick_version
    from cowsnap.api.reading import show as show
    from cowsnap.api.reading import versions as versions
    from cowsnap.api.remotes import RemotePruneResult as RemotePruneResult
    from cowsnap.api.remotes import add_remote as add_remote
    from cowsnap.api.remotes import fetch as fetch
    from cowsnap.api.remotes import push as push
    from cowsnap.api.remotes import remote_check as remote_check
    from cowsnap.api.remotes import remote_log as remote_log
    from cowsnap.api.remotes import remote_prune as remote_prune
    from cowsnap.api.remotes import remotes as remotes
    from cowsnap.api.remotes import remove_remote as remove_remote
    from cowsnap.api.remotes import split_push_arguments as split_push_arguments
    from cowsnap.api.restoring import Restored as Restored
    from cowsnap.api.restoring import restore as restore
    from cowsnap.api.rewinding import RewindResult as RewindResult
    from cowsnap.api.rewinding import rewind as rewind
    from cowsnap.api.running import RunRequest as RunRequest
    from cowsnap.api.running import RunResult as RunResult
    from cowsnap.api.running import Status as Status
    from cowsnap.api.running import check_output as check_output
    from cowsnap.api.running import run as run
    from cowsnap.api.running import status as status
    from cowsnap.api.settings import CAPTURE_READS as CAPTURE_READS
    from cowsnap.api.settings import parse_capture as parse_capture
    from cowsnap.api.settings import parse_policy as parse_policy
    from cowsnap.api.shell import ShellRun as ShellRun
    from cowsnap.api.shell import calling_shell as calling_shell
    from cowsnap.api.shell import run_shell as run_shell
    from cowsnap.collector import start_up_done as start_up_done
    from cowsnap.diff.model import FileDiff as FileDiff
    from cowsnap.diff.model import RunDiff as RunDiff
    from cowsnap.diff.text import Kind as Kind
    from cowsnap.diff.text import diff_json as diff_json
    from cowsnap.diff.text import unified as unified
    from cowsnap.model import FileEntry as FileEntry
    from cowsnap.model import Manifest as Manifest
    from cowsnap.model import Version as Version
    from cowsnap.model import effect_counts as effect_counts
    from cowsnap.model import entry_change as entry_change
    from cowsnap.model import manifest_to_dict as manifest_to_dict
    from cowsnap.model import status_code as status_code
    from cowsnap.model import version_to_dict as version_to_dict
    from cowsnap.remote.fetch import FetchReport as FetchReport
    from cowsnap.remote.fetch import Listed as Listed
    from cowsnap.remote.fetch import RemoteCheck as RemoteCheck
    from cowsnap.remote.push import PushReport as PushReport
    from cowsnap.restore.plan import Action as Action
    from cowsnap.snapshot.registry import AUTO as AUTO
    from cowsnap.snapshot.registry import BACKEND_NAMES as BACKEND_NAMES
    from cowsnap.store.runs import RunSummary as RunSummary
    from cowsnap.store.usage import Usage as Usage
    from cowsnap.units import parse_size as parse_size

HOMES = {
    "AGENTS": "hooks",
    "AUTO": "cowsnap.snapshot.registry",
    "Action": "cowsnap.restore.plan",
    "Answer": "hooks",
    "BACKEND_NAMES": "cowsnap.snapshot.registry",
    "CAPTURE_READS": "settings",
    "Changes": "changes",
    "CheckResult": "maintenance",
    "FetchReport": "cowsnap.remote.fetch",
    "FileDiff": "cowsnap.diff.model",
    "FileEntry": "cowsnap.model",
    "ForgetResult": "maintenance",
    "HookChange": "agents",
    "HookLocation": "agents",
    "Kind": "cowsnap.diff.text",
    "Listed": "cowsnap.remote.fetch",
    "Log": "reading",
    "Manifest": "cowsnap.model",
    "PruneResult": "maintenance",
    "PushReport": "cowsnap.remote.push",
    "RemoteCheck": "cowsnap.remote.fetch",
    "RemotePruneResult": "remotes",
    "Restored": "restoring",
    "RewindResult": "rewinding",
    "RunDiff": "cowsnap.diff.model",
    "RunRequest": "running",
    "RunResult": "running",
    "RunSummary": "cowsnap.store.runs",
    "ShellRun": "shell",
    "Status": "running",
    "Unreadable": "reading",
    "Usage": "cowsnap.store.usage",
    "Version": "cowsnap.model",
    "Versions": "reading",
    "add_remote": "remotes",
    "calling_shell": "shell",
    "cat": "reading",
    "check": "maintenance",
    "check_output": "running",
    "diff": "changes",
    "diff_json": "cowsnap.diff.text",
    "diff_now": "changes",
    "diff_runs": "changes",
    "effect_counts": "cowsnap.model",
    "entry_change": "cowsnap.model",
    "fetch": "remotes",
    "find_entry": "reading",
    "forget": "maintenance",
    "hook_answer": "hooks",
    "hook_locations": "agents",
    "install_hook": "agents",
    "kept_snapshot": "reading",
    "log": "reading",
    "manifest_to_dict": "cowsnap.model",
    "mcp_server": "cowsnap.agent.mcp_server",
    "parse_capture": "settings",
    "parse_policy": "settings",
    "parse_size": "cowsnap.units",
    "pick_version": "reading",
    "prune": "maintenance",
    "push": "remotes",
    "remote_check": "remotes",
    "remote_log": "remotes",
    "remote_prune": "remotes",
    "remotes": "remotes",
    "remove_remote": "remotes",
    "restore": "restoring",
    "rewind": "rewinding",
    "run": "running",
    "run_shell": "shell",
    "show": "reading",
    "split_push_arguments": "remotes",
    "split_run_argument": "common",
    "start_up_done": "cowsnap.collector",
    "status": "running",
    "status_code": "cowsnap.model",
    "unified": "cowsnap.diff.text",
    "uninstall_hook": "agents",
    "version_diff": "changes",
    "version_to_dict": "cowsnap.model",
    "versions": "reading",
}
"""Each name and where it lives: a submodule of cowsnap.api, or a whole module path."""

__all__ = sorted(HOMES)


def __getattr__(name: str) -> Any:
    home = HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'cowsnap.api' has no attribute {name!r}")
    module = home if "." in home else f"cowsnap.api.{home}"
    with no_cycle_collection():  # an operation's modules: nothing for it to collect
        value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
