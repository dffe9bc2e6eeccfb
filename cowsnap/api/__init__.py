"""The operations users can import; the CLI is a thin layer over these.

    from cowsnap import api
    result = api.run(api.RunRequest(command=["make", "test"]))
    api.restore(result.run_id)

Each name lives in one submodule (running, reading, changes, maintenance, remotes) that is
imported on first use, so `cowsnap run` does not pay for loading diff and restore,
nor `cowsnap log` for loading the tracer.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from cowsnap.api.changes import (
        diff as diff,
    )
    from cowsnap.api.changes import (
        restore as restore,
    )
    from cowsnap.api.changes import (
        version_diff as version_diff,
    )
    from cowsnap.api.maintenance import (
        CheckResult as CheckResult,
    )
    from cowsnap.api.maintenance import (
        PruneResult as PruneResult,
    )
    from cowsnap.api.maintenance import (
        check as check,
    )
    from cowsnap.api.maintenance import (
        prune as prune,
    )
    from cowsnap.api.reading import (
        Versions as Versions,
    )
    from cowsnap.api.reading import (
        cat as cat,
    )
    from cowsnap.api.reading import (
        find_entry as find_entry,
    )
    from cowsnap.api.reading import (
        log as log,
    )
    from cowsnap.api.reading import (
        pick_version as pick_version,
    )
    from cowsnap.api.reading import (
        show as show,
    )
    from cowsnap.api.reading import (
        split_run_argument as split_run_argument,
    )
    from cowsnap.api.reading import (
        versions as versions,
    )
    from cowsnap.api.remotes import (
        RemotePruneResult as RemotePruneResult,
    )
    from cowsnap.api.remotes import (
        add_remote as add_remote,
    )
    from cowsnap.api.remotes import (
        fetch as fetch,
    )
    from cowsnap.api.remotes import (
        push as push,
    )
    from cowsnap.api.remotes import (
        remote_check as remote_check,
    )
    from cowsnap.api.remotes import (
        remote_log as remote_log,
    )
    from cowsnap.api.remotes import (
        remote_prune as remote_prune,
    )
    from cowsnap.api.remotes import (
        remotes as remotes,
    )
    from cowsnap.api.remotes import (
        remove_remote as remove_remote,
    )
    from cowsnap.api.remotes import (
        split_push_arguments as split_push_arguments,
    )
    from cowsnap.api.rewinding import (
        RewindResult as RewindResult,
    )
    from cowsnap.api.rewinding import (
        rewind as rewind,
    )
    from cowsnap.api.running import (
        RunRequest as RunRequest,
    )
    from cowsnap.api.running import (
        RunResult as RunResult,
    )
    from cowsnap.api.running import (
        Status as Status,
    )
    from cowsnap.api.running import (
        run as run,
    )
    from cowsnap.api.running import (
        status as status,
    )

HOMES = {
    "CheckResult": "maintenance",
    "PruneResult": "maintenance",
    "RemotePruneResult": "remotes",
    "RewindResult": "rewinding",
    "RunRequest": "running",
    "RunResult": "running",
    "Status": "running",
    "Versions": "reading",
    "add_remote": "remotes",
    "cat": "reading",
    "check": "maintenance",
    "diff": "changes",
    "fetch": "remotes",
    "find_entry": "reading",
    "log": "reading",
    "pick_version": "reading",
    "prune": "maintenance",
    "push": "remotes",
    "remote_check": "remotes",
    "remote_log": "remotes",
    "remote_prune": "remotes",
    "remotes": "remotes",
    "remove_remote": "remotes",
    "restore": "changes",
    "rewind": "rewinding",
    "run": "running",
    "show": "reading",
    "split_push_arguments": "remotes",
    "split_run_argument": "reading",
    "status": "running",
    "version_diff": "changes",
    "versions": "reading",
}

__all__ = sorted(HOMES)


def __getattr__(name: str) -> Any:
    home = HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'cowsnap.api' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"cowsnap.api.{home}"), name)
    globals()[name] = value
    return value
