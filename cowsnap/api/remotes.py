"""Sharing runs through git remotes: push, fetch, list, check and prune a remote,
and the named remotes of config.toml (docs/remotes.md)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from cowsnap.api.common import PathArg, resolve_run, workspace_key
from cowsnap.config import load_config
from cowsnap.errors import RemoteError, StoreError, UsageError
from cowsnap.remote import names
from cowsnap.remote.fetch import (
    FetchReport,
    Listed,
    RemoteCheck,
    check_remote,
    delete_runs,
    fetch_runs,
    list_runs,
)
from cowsnap.remote.names import Remote
from cowsnap.remote.push import DEFAULT_MAX_CONTENT, PushReport, push_runs
from cowsnap.store.location import resolve_store_dir
from cowsnap.store.prune import Policy, PrunePlan, RunRecord, plan_prune
from cowsnap.store.store import VERSION_FILE, Store


def _existing_store(store: PathArg) -> Store:
    root = resolve_store_dir(store)
    if not (root / VERSION_FILE).exists():
        raise StoreError(f"no cowsnap store at {root}")
    return Store.open(root)


def _remote(remote: str | None) -> Remote:
    return names.default_remote() if remote is None else names.resolve_remote(remote)


def split_push_arguments(arguments: Sequence[str]) -> tuple[str | None, list[str]]:
    """`[REMOTE] [RUN...]`: the first argument is the remote when it names one."""
    if arguments and names.find_remote(arguments[0]) is not None:
        return arguments[0], list(arguments[1:])
    return None, list(arguments)


def push(remote: str | None = None, runs: Sequence[str] = (), *, workspace: PathArg = None,
         store: PathArg = None, cwd: Path | None = None,
         max_content: int | None = None) -> PushReport:
    """Push `runs` (run references: ids, unique parts of ids, @~N; none: the workspace's
    runs the remote does not list yet) to `remote` (a name, URL or directory; None: the
    only configured one). Contents larger than `max_content` (else the remote's setting,
    else 50 MiB) stay local and are listed as not pushed."""
    target = _remote(remote)
    opened = _existing_store(store)
    key = workspace_key(workspace, cwd)
    run_ids = [resolve_run(opened, run, key) for run in runs] if runs else None
    return push_runs(opened, target.url, run_ids, key, _cap(target, max_content))


def _cap(target: Remote, max_content: int | None) -> int:
    """The largest content moved: `max_content`, else the remote's setting, else 50 MiB."""
    return max_content if max_content is not None else (target.max_content or DEFAULT_MAX_CONTENT)


def fetch(remote: str, runs: Sequence[str] = (), *, store: PathArg = None,
          max_content: int | None = None) -> FetchReport:
    """Fetch `runs` (ids or unique parts of ids of runs on the remote; none: every run
    the store lacks) from `remote` into the store, each checked before it is published.
    A run holding a content larger than `max_content` (else the remote's setting, else
    50 MiB, as for push) is refused before that content is read."""
    target = _remote(remote)
    return fetch_runs(Store.open(resolve_store_dir(store)), target.url, runs,
                      _cap(target, max_content))


def remote_log(remote: str, *, store: PathArg = None) -> list[Listed]:
    """The runs `remote` holds, newest first, without fetching their contents."""
    return list_runs(Store.open(resolve_store_dir(store)), _remote(remote).url)


def remote_check(remote: str, *, store: PathArg = None) -> RemoteCheck:
    """Verify every run `remote` lists: its commits, manifest and contents (none larger
    than the remote's max_content, else 50 MiB)."""
    target = _remote(remote)
    return check_remote(Store.open(resolve_store_dir(store)), target.url, _cap(target, None))


@dataclass(frozen=True)
class RemotePruneResult:
    url: str
    plan: PrunePlan
    dry_run: bool
    refused: dict[str, str]
    """Runs whose ref the server would not delete, with its reason."""
    unreadable: tuple[str, ...]
    """Runs kept because their summary cannot be read."""

    @property
    def exit_code(self) -> int:
        return RemoteError.exit_code if self.refused else 0

    @property
    def error(self) -> str | None:
        if not self.refused:
            return None
        return f"{self.url} refused to delete {len(self.refused)} runs"


def _started(listed: Listed) -> datetime:
    assert listed.summary is not None
    text = listed.summary.started_at.replace("Z", "+00:00")
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return datetime.now(UTC)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def remote_prune(remote: str, policy: Policy, *, dry_run: bool = False,
                 store: PathArg = None, now: datetime | None = None) -> RemotePruneResult:
    """Delete the refs of the runs `policy` gives up on `remote` (--keep-last per
    workspace, --keep-within; not --max-size: a remote's sizes are not known here)."""
    if policy.max_size is not None:
        raise UsageError("--max-size cannot apply to a remote (its sizes are not known)")
    target = _remote(remote)
    opened = Store.open(resolve_store_dir(store))
    listed = list_runs(opened, target.url)
    readable = [item for item in listed if item.summary is not None]
    records = [RunRecord(run_id=item.run_id, workspace=item.summary.workspace,
                         started_at=_started(item))
               for item in readable if item.summary is not None]
    plan = plan_prune(records, {}, policy, now or datetime.now(UTC))
    refused: dict[str, str] = {}
    if not dry_run:
        refused = delete_runs(opened, target.url, [item.run_id for item in plan.removed])
    return RemotePruneResult(url=target.url, plan=plan, dry_run=dry_run, refused=refused,
                             unreadable=tuple(item.run_id for item in listed
                                              if item.summary is None))


def remotes() -> list[Remote]:
    """The remotes configured in config.toml, by name."""
    return [Remote(url=settings.url, name=name, max_content=settings.max_content)
            for name, settings in sorted(load_config().remotes.items())]


def add_remote(name: str, url: str) -> Path:
    """Name a remote in config.toml; return the file's path."""
    return names.add_remote(name, url)


def remove_remote(name: str) -> Path:
    """Forget a named remote (nothing on the remote changes); return config.toml's path."""
    return names.remove_remote(name)
