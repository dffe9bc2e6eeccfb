"""Reading runs from a remote: listing them, fetching them into the store, checking them.

A remote is untrusted, like a bundle. A fetch lands in a scratch repository of
its own (never the store's object database); each run is then read from there
and checked (commit shape, manifest schema and paths, every referenced content
present under its id), and its contents stored one by one, each hashed again on
the way in (all runs of one fetch into one pack). A git blob is read whole, and a
few kB on the wire can inflate to GBs: every blob's size is checked from its
header first, a content against the fetch cap (the same as push's: a run pushed
with the remote's cap always fits), a manifest or summary against the limits of
any store. Only then is each run
published, in one rename, without an origin tag (restore treats it as untrusted)
and with `fetched.json` saying where it came from; a run that fails any check is
not published (contents it brought are unreferenced, reclaimed by prune).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from cowsnap.api.common import MIN_PART
from cowsnap.errors import (
    AmbiguousRunError,
    CowsnapError,
    RemoteError,
    RunNotFoundError,
    StoreDamagedError,
    UntrustedRunError,
)
from cowsnap.gitlib.remote import GitRepository, open_local, scratch_repository
from cowsnap.model import Manifest, load_manifest
from cowsnap.remote.layout import (
    CONTENT_DIRECTORIES,
    MANIFEST,
    NOT_PUSHED,
    SUMMARY,
    content_path,
    parse_not_pushed,
    parse_summary,
    run_ref,
    runs_in,
)
from cowsnap.remote.local import Fetched, scratch_path, write_fetched
from cowsnap.remote.names import local_path
from cowsnap.remote.push import DEFAULT_MAX_CONTENT
from cowsnap.restore.trust import check_manifest
from cowsnap.store.content import LARGE_CONTENT, blob_id
from cowsnap.store.keeping import ContentWriter
from cowsnap.store.runs import SUMMARY_LIMIT, RunSummary
from cowsnap.store.store import Store
from cowsnap.units import format_size

MANIFEST_LIMIT = 512 * 1024 * 1024
"""The largest manifest a remote may hand over (about half a million files; the
store's own limit, for manifests it wrote, is 4 GiB): a few kB on the wire can
inflate to GBs, so it is refused from its size before it is read."""
SIZE_SLACK = 1024 * 1024
"""How much larger than its recorded size a content may be (a file that grew while
it was recorded) before it is refused as a decompression bomb."""


def _read_capped(repository: GitRepository, oid: str, limit: int, what: str) -> bytes:
    """Blob `oid`, refused before it is inflated when its header says it holds more
    than `limit` bytes."""
    size = repository.blob_size(oid)
    if size > limit:
        raise UntrustedRunError(f"{what} holds {size} bytes, more than {format_size(limit)}: "
                                f"refused")
    return repository.read_blob(oid)


@dataclass(frozen=True)
class RemoteRun:
    """One run as a remote holds it, checked."""

    run_id: str
    commit: str
    manifest: Manifest
    contents: dict[str, str]
    """Content id -> the git blob holding it."""
    not_pushed: dict[str, int]


@dataclass(frozen=True)
class Listed:
    """One run a remote lists: its summary, or why it cannot be read."""

    run_id: str
    commit: str
    summary: RunSummary | None
    problem: str | None = None


def remote_runs(repository: GitRepository, url: str) -> dict[str, str]:
    """Run id -> tip commit, for every run the remote lists."""
    return runs_in(repository.list_heads(url))


def _summary_of(repository: GitRepository, run_id: str, commit: str) -> Listed:
    try:
        tree, _parents = repository.commit(commit)
        summary_blob = repository.blob_at(tree, SUMMARY)
        if summary_blob is None:
            raise RemoteError(f"run {run_id} on the remote has no {SUMMARY}")
        summary = parse_summary(_read_capped(repository, summary_blob, SUMMARY_LIMIT,
                                             f"the {SUMMARY} of run {run_id}"), run_id)
    except CowsnapError as error:
        return Listed(run_id, commit, None, str(error))
    return Listed(run_id, commit, summary)


def list_runs(store: Store, url: str) -> list[Listed]:
    """Every run the remote lists, newest first, read from each run's small tip commit
    (a depth-1 fetch, or directly from a local repository): no contents travel."""
    with scratch_repository(scratch_path(store, "list")) as scratch:
        runs = remote_runs(scratch, url)
        local = local_path(url)
        source = open_local(local) if local is not None else None
        if source is None and runs:
            scratch.fetch(url, [f"+{run_ref(run_id)}:{run_ref(run_id)}" for run_id in runs],
                          depth=1)
            source = scratch
        listed = [_summary_of(source, run_id, commit) for run_id, commit in runs.items()
                  ] if source is not None else []
    listed.sort(key=lambda item: (item.summary.started_at if item.summary else "",
                                  item.run_id), reverse=True)
    return listed


def pick_runs(available: Sequence[str], references: Sequence[str]) -> list[str]:
    """The remote runs that `references` name: whole ids, or unique parts of ids of at
    least MIN_PART characters (as for local runs)."""
    picked = []
    for reference in references:
        matches = [run_id for run_id in available if reference in run_id]
        if reference in available:
            matches = [reference]
        elif len(reference) < MIN_PART:
            matches = []
        if not matches:
            raise RunNotFoundError(f"no run on the remote matches {reference!r}")
        if len(matches) > 1:
            raise AmbiguousRunError(f"run {reference} is ambiguous on the remote: "
                                    f"{len(matches)} runs match")
        picked.append(matches[0])
    return list(dict.fromkeys(picked))


def read_run(repository: GitRepository, run_id: str, commit: str,
             max_content: int = DEFAULT_MAX_CONTENT) -> RemoteRun:
    """Run `run_id` from its fetched tip `commit`, checked, none of its contents larger
    than `max_content`; RemoteError or UntrustedRunError saying what is wrong."""
    where = f"run {run_id} on the remote"
    _tree, parents = repository.commit(commit)
    if len(parents) != 1:
        raise RemoteError(f"{where} is not a cowsnap run commit")
    run_tree, _ = repository.commit(parents[0])
    manifest_blob = repository.blob_at(run_tree, MANIFEST)
    if manifest_blob is None:
        raise RemoteError(f"{where} has no {MANIFEST}")
    manifest = load_manifest(_read_capped(repository, manifest_blob, MANIFEST_LIMIT,
                                          f"{where}: its {MANIFEST}"), where)
    if manifest.run_id != run_id:
        raise UntrustedRunError(f"{where} holds the manifest of run {manifest.run_id}")
    check_manifest(manifest)
    listed = repository.blob_at(run_tree, NOT_PUSHED)
    not_pushed = (parse_not_pushed(_read_capped(repository, listed, SUMMARY_LIMIT,
                                                f"{where}: its {NOT_PUSHED}"), run_id)
                  if listed is not None else {})
    recorded: dict[str, int | None] = {}
    for reference in manifest.content_references():
        if reference.blob not in not_pushed:
            known = recorded.get(reference.blob)
            recorded[reference.blob] = (reference.size if known is None or reference.size is None
                                        else max(known, reference.size))
    held_blobs = repository.blobs_under(run_tree, CONTENT_DIRECTORIES)
    contents: dict[str, str] = {}
    for blob, size in recorded.items():
        oid = held_blobs.get(content_path(blob))
        if oid is None:
            raise RemoteError(f"{where}: content {blob} is missing")
        if not blob.startswith("large-") and oid != blob:
            raise UntrustedRunError(f"{where}: content {blob} is damaged (the remote "
                                    f"holds {oid} in its place)")
        held = repository.blob_size(oid)
        if held > max_content:
            raise UntrustedRunError(
                f"{where}: content {blob} holds {held} bytes, more than the fetch cap "
                f"{format_size(max_content)} (--max-content): refused")
        if size is not None and held > max(2 * size, size + SIZE_SLACK):
            raise UntrustedRunError(f"{where}: content {blob} holds {held} bytes, its "
                                    f"manifest says {size}: refused")
        contents[blob] = oid
    return RemoteRun(run_id, commit, manifest, contents, not_pushed)


def _keep_content(store: Store, writer: ContentWriter, repository: GitRepository,
                  blob: str, oid: str) -> None:
    """Keep one fetched content, hashed again on the way in."""
    if writer.has(blob):
        return
    data = repository.read_blob(oid)
    if len(data) < LARGE_CONTENT and not blob.startswith("large-"):
        if writer.keep_bytes(data) != blob:  # keep_bytes hashes what it keeps
            raise UntrustedRunError(f"content {blob} from the remote does not match its id")
        return
    if blob_id(data) != oid:
        raise UntrustedRunError(f"content {blob} from the remote does not match its id")
    temp = scratch_path(store, "content")
    try:
        temp.write_bytes(data)
        if blob.startswith("large-"):
            with temp.open("rb") as source:
                store.contents.adopt_large(blob, source.fileno(), oid)
        else:
            with temp.open("rb") as handle:
                if writer.keep(handle.fileno(), len(data)).blob != blob:
                    raise UntrustedRunError(
                        f"content {blob} from the remote does not match its id")
    finally:
        temp.unlink(missing_ok=True)


def publish_fetched(store: Store, run: RemoteRun, url: str) -> None:
    """Publish a run whose contents are stored, untrusted (no origin tag), with
    `fetched.json` beside it."""
    pending = store.runs.begin(run.run_id)
    try:
        fetched_at = datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
        write_fetched(pending.directory, Fetched(url, run.commit, fetched_at, run.not_pushed))
        pending.publish(run.manifest, recorded_here=False)
    except BaseException:
        pending.abandon()
        raise


@dataclass(frozen=True)
class FetchedRun:
    run_id: str
    status: str
    """"fetched", "already here", or "failed"."""
    problem: str | None = None
    not_pushed: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class FetchReport:
    url: str
    runs: tuple[FetchedRun, ...]
    received_bytes: int

    @property
    def failed(self) -> list[FetchedRun]:
        return [run for run in self.runs if run.status == "failed"]

    @property
    def exit_code(self) -> int:
        return RemoteError.exit_code if self.failed else 0

    @property
    def error(self) -> str | None:
        """The one line that ends a fetch some runs of which failed their checks."""
        if not self.failed:
            return None
        first = self.failed[0]
        return (f"{len(self.failed)} runs from {self.url} failed their checks and were not "
                f"fetched (first: {first.run_id}: {first.problem})")


def fetch_runs(store: Store, url: str, references: Sequence[str],
               max_content: int = DEFAULT_MAX_CONTENT) -> FetchReport:
    """Fetch the runs `references` name (none: every run the remote lists that the
    store lacks) and import each one that passes every check (no content larger than
    `max_content`)."""
    with scratch_repository(scratch_path(store, "fetch")) as scratch:
        available = remote_runs(scratch, url)
        wanted = pick_runs(sorted(available), references) if references else sorted(available)
        here = set(store.runs.ids())
        missing = [run_id for run_id in wanted if run_id not in here]
        received = 0
        if missing:
            received = scratch.fetch(url, [f"+{run_ref(run_id)}:{run_ref(run_id)}"
                                           for run_id in missing])
        results: dict[str, FetchedRun] = {
            run_id: FetchedRun(run_id, "already here") for run_id in wanted if run_id in here}
        with store.retention_lock(exclusive=False):
            checked = []
            with ContentWriter(store.contents) as writer:
                for run_id in missing:
                    try:
                        run = read_run(scratch, run_id, available[run_id], max_content)
                        for blob, oid in run.contents.items():
                            _keep_content(store, writer, scratch, blob, oid)
                    except CowsnapError as error:
                        results[run_id] = FetchedRun(run_id, "failed", str(error))
                        continue
                    checked.append(run)
            for run in checked:
                publish_fetched(store, run, url)
                results[run.run_id] = FetchedRun(run.run_id, "fetched",
                                                 not_pushed=run.not_pushed)
    return FetchReport(url=url, runs=tuple(results[run_id] for run_id in wanted),
                       received_bytes=received)


@dataclass(frozen=True)
class RemoteCheck:
    url: str
    runs: int
    contents: int
    received_bytes: int
    problems: tuple[tuple[str, str], ...]
    """(run id, what is wrong)."""

    @property
    def exit_code(self) -> int:
        return StoreDamagedError.exit_code if self.problems else 0

    @property
    def error(self) -> str | None:
        """The one line that ends a check of a remote holding damaged runs."""
        count = len(self.problems)
        if not count:
            return None
        return f"the remote {self.url} holds {count} damaged run{'s' if count > 1 else ''}"


def check_remote(store: Store, url: str,
                 max_content: int = DEFAULT_MAX_CONTENT) -> RemoteCheck:
    """Fetch every run the remote lists (into a scratch repository only) and verify
    each: commit shape, manifest, and every content present, no larger than
    `max_content`, and hashing to its id."""
    problems: list[tuple[str, str]] = []
    contents: set[str] = set()
    with scratch_repository(scratch_path(store, "check")) as scratch:
        available = remote_runs(scratch, url)
        received = 0
        if available:
            received = scratch.fetch(url, [f"+{run_ref(run_id)}:{run_ref(run_id)}"
                                           for run_id in available])
        for run_id in sorted(available):
            try:
                run = read_run(scratch, run_id, available[run_id], max_content)
                for blob, oid in run.contents.items():
                    if blob_id(scratch.read_blob(oid)) != oid:
                        raise UntrustedRunError(f"content {blob} does not match its id")
                    contents.add(blob)
            except CowsnapError as error:
                problems.append((run_id, str(error)))
    return RemoteCheck(url=url, runs=len(available), contents=len(contents),
                       received_bytes=received, problems=tuple(problems))


def delete_runs(store: Store, url: str, run_ids: Sequence[str]) -> dict[str, str]:
    """Delete the refs of `run_ids` on the remote; the server's refusals by run id."""
    if not run_ids:
        return {}
    with scratch_repository(scratch_path(store, "prune")) as scratch:
        outcome = scratch.push(url, [f":{run_ref(run_id)}" for run_id in run_ids])
    by_ref = {run_ref(run_id): run_id for run_id in run_ids}
    return {by_ref[ref]: reason for ref, reason in outcome.rejected.items() if ref in by_ref}

