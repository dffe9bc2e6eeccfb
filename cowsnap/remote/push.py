"""`cowsnap push`: runs of the store as git commits on a remote, one ref per run.

Objects are written into a scratch repository that borrows the store's object
database (small contents are already git blobs there and are not copied); large
raw contents and clean tracked files kept in the workspace's own repository are
added as blobs, up to the size cap. Commits carry a fixed author and the run's
start time, so pushing the same run twice, from anywhere, gives the same commit.
Nothing is recorded locally: what a remote holds is what it lists.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Literal

from cowsnap.beneath import proc_path
from cowsnap.errors import RemoteError, StoreError
from cowsnap.gitlib.remote import GitRepository, scratch_repository
from cowsnap.model import Manifest, dump_manifest
from cowsnap.remote.layout import (
    MANIFEST,
    NOT_PUSHED,
    SUMMARY,
    commit_time,
    content_path,
    run_ref,
    runs_in,
)
from cowsnap.remote.local import scratch_path
from cowsnap.remote.names import local_path
from cowsnap.store.runs import summarize
from cowsnap.store.store import Store

DEFAULT_MAX_CONTENT = 50 * 1024 * 1024
"""Contents larger than this stay local (GitHub warns above 50 MiB, refuses 100 MiB)."""

PushStatus = Literal["pushed", "up to date", "rejected"]


@dataclass(frozen=True)
class PushedRun:
    run_id: str
    status: PushStatus
    commit: str
    reason: str | None = None
    """The server's reason, for a rejected run."""
    not_pushed: dict[str, int] = field(default_factory=dict)
    """Contents left out for their size: id -> bytes."""


@dataclass(frozen=True)
class PushReport:
    url: str
    runs: tuple[PushedRun, ...]
    sent_bytes: int

    @property
    def measured(self) -> bool:
        """Whether `sent_bytes` was measured: libgit2 reports none to a local path."""
        return local_path(self.url) is None

    @property
    def rejected(self) -> list[PushedRun]:
        return [run for run in self.runs if run.status == "rejected"]

    @property
    def exit_code(self) -> int:
        return RemoteError.exit_code if self.rejected else 0

    @property
    def error(self) -> str | None:
        """The one line that ends a push the server refused a run of."""
        if not self.rejected:
            return None
        first = self.rejected[0]
        return (f"{self.url} refused {len(self.rejected)} of {len(self.runs)} runs "
                f"(first: {first.run_id}: {first.reason})")


def _contents(manifest: Manifest) -> dict[str, tuple[str | None, int | None]]:
    """Content id -> (repository holding it if it is a clean tracked file, its size)."""
    found: dict[str, tuple[str | None, int | None]] = {}
    for reference in manifest.content_references():
        found.setdefault(reference.blob, (reference.repository, reference.size))
    return found


def _content_blob(store: Store, repository: GitRepository, blob: str,
                  where: tuple[str | None, int | None], max_content: int) -> str | None:
    """The git blob holding content `blob` in `repository`, or None if over the cap."""
    root, size = where
    large_size = store.contents.large_size(blob)
    if large_size is not None:
        if large_size > max_content:
            return None
        with store.contents.open_large(blob) as large:
            assert large is not None
            oid = repository.write_blob_from_file(Path(proc_path(large[0])))
    elif size is not None and size > max_content:
        return None
    elif store.contents.has(blob):
        return blob
    else:
        data = store.read(blob, root)
        if len(data) > max_content:
            return None
        oid = repository.write_blob(data)
    if not blob.startswith("large-") and oid != blob:
        raise StoreError(f"content {blob} is damaged in the store {store.root}")
    return oid


def _not_pushed_sizes(store: Store, blobs: dict[str, tuple[str | None, int | None]],
                      left_out: list[str]) -> dict[str, int]:
    sizes = {}
    for blob in left_out:
        large_size = store.contents.large_size(blob)
        sizes[blob] = large_size if large_size is not None else (blobs[blob][1] or 0)
    return sizes


def build_run(store: Store, repository: GitRepository, run_id: str,
              max_content: int) -> tuple[str, dict[str, int]]:
    """Write run `run_id` as commits in `repository`: the tip commit's id and the
    contents left out for their size."""
    manifest = store.runs.load(run_id)
    summary = json.dumps(asdict(summarize(manifest)), sort_keys=True).encode() + b"\n"
    files = {MANIFEST: repository.write_blob(dump_manifest(manifest)),
             SUMMARY: repository.write_blob(summary)}
    blobs = _contents(manifest)
    left_out = []
    for blob, where in blobs.items():
        oid = _content_blob(store, repository, blob, where, max_content)
        if oid is None:
            left_out.append(blob)
        else:
            files[content_path(blob)] = oid
    not_pushed = _not_pushed_sizes(store, blobs, left_out)
    tip_files = {SUMMARY: files[SUMMARY]}
    if not_pushed:
        listed = json.dumps(not_pushed, sort_keys=True, indent=1).encode() + b"\n"
        files[NOT_PUSHED] = tip_files[NOT_PUSHED] = repository.write_blob(listed)
    when = commit_time(manifest.started_at)
    run_commit = repository.write_commit(repository.write_tree(files), [],
                                         f"cowsnap run {run_id}\n", when)
    command = " ".join(manifest.command)
    tip = repository.write_commit(repository.write_tree(tip_files), [run_commit],
                                  f"cowsnap run {run_id}: {command}\n", when)
    return tip, not_pushed


def push_runs(store: Store, url: str, run_ids: Sequence[str] | None,
              workspace: str | None, max_content: int) -> PushReport:
    """Push `run_ids` (None: the runs of `workspace` that the remote does not list)."""
    path = scratch_path(store, "push")
    with store.retention_lock(exclusive=False), \
            scratch_repository(path, alternate=store.contents.objects) as repository:
        remote_runs = runs_in(repository.list_heads(url))
        if run_ids is None:
            wanted = [summary.run_id for summary in reversed(store.runs.summaries(workspace))
                      if summary.run_id not in remote_runs]
        else:
            wanted = list(dict.fromkeys(run_ids))
        built = {run_id: build_run(store, repository, run_id, max_content)
                 for run_id in wanted}
        to_push = [run_id for run_id in wanted if run_id not in remote_runs]
        for run_id in to_push:
            repository.set_ref(run_ref(run_id), built[run_id][0])
        outcome = repository.push(url, [f"{run_ref(run_id)}:{run_ref(run_id)}"
                                        for run_id in to_push]) if to_push else None
        rejected = dict(outcome.rejected) if outcome else {}
        if rejected:
            remote_runs = runs_in(repository.list_heads(url))
    results = []
    for run_id in wanted:
        tip, not_pushed = built[run_id]
        held = remote_runs.get(run_id)
        reason = rejected.get(run_ref(run_id))
        status: PushStatus
        if held == tip:
            status, reason = ("pushed" if run_id in to_push else "up to date"), None
        elif held is not None and reason is None:
            status, reason = "rejected", "the remote holds a different run under this id"
        else:
            status = "rejected" if reason is not None else "pushed"
        results.append(PushedRun(run_id, status, tip, reason, not_pushed))
    return PushReport(url=url, runs=tuple(results),
                      sent_bytes=outcome.sent_bytes if outcome else 0)

