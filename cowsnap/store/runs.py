"""Run ids, run summaries, and the published / incomplete run areas of a store.

A run is written under `incomplete/<id>.<pid>.<start time>/` (the directory's
name says which process owns it, so it is never seen without an owner) and
published by renaming the directory to `runs/<id>/`: readers never see half a
run. Incomplete runs whose owner is gone are removed when a store is opened.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

from cowsnap.errors import (
    AmbiguousRunError,
    CorruptManifestError,
    RunNotFoundError,
    StoreError,
)
from cowsnap.model import Manifest, Operation, effect_counts, load_manifest, manifest_chunks
from cowsnap.origin import origin_signer, recorded_here
from cowsnap.processes import owner_tag, process_start_time
from cowsnap.store.atomic import storage_error
from cowsnap.store.rooted import StoreRoot

MANIFEST = "manifest.json"
SUMMARY = "summary.json"
CHECKSUMS = "checksums.json"
"""SHA-256 of the manifest and the summary, so a flipped bit in either is caught."""
PUBLISHED = "runs"
INCOMPLETE = "incomplete"
ORIGIN = "origin"
"""This user's keyed tag of the manifest's bytes (cowsnap/origin.py), when it has a key."""
ORIGIN_MAX = 128
MANIFEST_LIMIT = 4 * 1024 * 1024 * 1024
SUMMARY_LIMIT = 16 * 1024 * 1024


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def new_run_id(now: datetime | None = None) -> str:
    """A unique id that sorts by start time: `20261121T093012Z-3fa9c1`."""
    moment = (now or datetime.now(UTC)).astimezone(UTC)
    return f"{moment:%Y%m%dT%H%M%SZ}-{os.urandom(3).hex()}"


@dataclass(frozen=True)
class RunSummary:
    """What `cowsnap log` lists, without loading whole manifests."""

    run_id: str
    workspace: str
    command: list[str]
    exit_status: int
    backend: str
    started_at: str
    finished_at: str
    files: int
    written: int
    deleted: int
    read: int
    session: str | None = None
    effects: dict[str, int] | None = None
    """Paths created, modified, deleted and read (model.effect_counts), as `show` counts
    them; None in a summary written before it was recorded."""


_WRITTEN = frozenset({Operation.WRITE, Operation.CREATE, Operation.RENAME, Operation.MKDIR})


def summarize(manifest: Manifest) -> RunSummary:
    written = deleted = read = 0
    for entry in manifest.files:
        operations = entry.operations
        written += not _WRITTEN.isdisjoint(operations)
        deleted += Operation.DELETE in operations
        read += Operation.READ in operations
    return RunSummary(
        run_id=manifest.run_id, workspace=manifest.workspace, command=list(manifest.command),
        exit_status=manifest.exit_status, backend=manifest.backend,
        started_at=manifest.started_at, finished_at=manifest.finished_at,
        files=len(manifest.files), written=written, deleted=deleted, read=read,
        session=manifest.session, effects=effect_counts(manifest.files),
    )


class PendingRun:
    """A run being recorded: invisible until `publish`."""

    def __init__(self, runs: RunIndex, run_id: str, flush: Callable[[], bool]) -> None:
        self.run_id = run_id
        self._runs = runs
        self._flush = flush
        self.name = f"{run_id}.{owner_tag()}"
        self.directory = runs.incomplete / self.name
        self.summary: RunSummary | None = None
        """The summary `publish` wrote (counting a run's paths once is enough)."""

    def publish(self, manifest: Manifest, *, recorded_here: bool = True) -> Path:
        """Write the run's files and make the run visible in one rename; return its directory.
        A run not recorded here (fetched from a remote) gets no origin tag, so restore
        treats it as untrusted.

        The files go straight into the run's own incomplete directory (nobody reads it,
        and a crash leaves it to be removed: no temporary names needed). They are made
        durable together with the run's contents by the store's one `flush`, or, when
        the run kept no content to flush, by one fsync each and one of the directory;
        only then is the directory renamed into `runs/` (and that fsynced): a crash
        leaves no run or a whole one."""
        if manifest.run_id != self.run_id:
            raise ValueError("manifest belongs to another run")
        action = f"publish run {self.run_id}"
        signer = origin_signer() if recorded_here else None
        manifest_digest = hashlib.sha256()

        def manifest_bytes() -> Iterator[bytes]:
            for chunk in manifest_chunks(manifest):
                manifest_digest.update(chunk)
                if signer is not None:
                    signer.update(chunk)
                yield chunk

        written: list[int] = []
        try:
            staging = self._runs.root.open_directory(f"{INCOMPLETE}/{self.name}")
            try:
                written.append(_write_new(staging, MANIFEST, manifest_bytes()))
                self.summary = summarize(manifest)
                summary = json.dumps(asdict(self.summary)).encode()
                written.append(_write_new(staging, SUMMARY, [summary]))
                checksums = {MANIFEST: manifest_digest.hexdigest(), SUMMARY: sha256(summary)}
                written.append(_write_new(staging, CHECKSUMS,
                                          [json.dumps(checksums).encode() + b"\n"]))
                if signer is not None:
                    written.append(_write_new(staging, ORIGIN,
                                              [signer.hexdigest().encode() + b"\n"]))
                if not self._flush():
                    for fd in written:
                        os.fsync(fd)
                    os.fsync(staging)
            finally:
                for fd in written:
                    os.close(fd)
                os.close(staging)
            self._runs.rename_published(self.name, self.run_id)
        except OSError as error:
            raise storage_error(error, action) from None
        return self._runs.published / self.run_id

    def abandon(self) -> None:
        import shutil  # here: it loads bz2 and lzma, 4 ms of every run's start-up

        shutil.rmtree(self.directory, ignore_errors=True)


class RunIndex:
    def __init__(self, root: StoreRoot, flush: Callable[[], bool]) -> None:
        """`flush` makes contents durable; it runs before each run is published, and says
        whether it flushed the store's whole filesystem (so the run's files too)."""
        self.root = root
        self.published = root.path / PUBLISHED
        self.incomplete = root.path / INCOMPLETE
        self._flush = flush

    def rename_published(self, pending: str, run_id: str) -> None:
        """Rename `incomplete/<pending>` to `runs/<run_id>` and make that durable."""
        incomplete = self.root.open_directory(INCOMPLETE)
        try:
            self.root.move_into(incomplete, pending, PUBLISHED, run_id)
        finally:
            os.close(incomplete)

    def initialise(self) -> None:
        for directory in (PUBLISHED, INCOMPLETE):
            self.root.make_directories(directory)

    def begin(self, run_id: str | None = None) -> PendingRun:
        """Reserve a run id and mark it as owned by this process."""
        run_id = run_id or new_run_id()
        pending = PendingRun(self, run_id, self._flush)
        try:
            incomplete = self.root.open_directory(INCOMPLETE)
            try:
                os.mkdir(pending.name, 0o700, dir_fd=incomplete)
            finally:
                os.close(incomplete)
        except OSError as error:
            raise storage_error(error, "start a run in the store") from None
        return pending

    def remove_abandoned(self) -> list[str]:
        """Delete incomplete runs whose owner process has died; return their ids."""
        removed = []
        for directory in sorted(self.incomplete.iterdir()):
            _run_id, _, owner = directory.name.partition(".")
            pid, _, start_time = owner.partition(".")
            alive = pid.isdigit() and str(process_start_time(int(pid))) == start_time
            if not alive:
                import shutil  # here: it loads bz2 and lzma, 4 ms of every run's start-up

                shutil.rmtree(directory, ignore_errors=True)
                removed.append(directory.name)
        return removed

    def ids(self) -> list[str]:
        try:
            return sorted(entry.name for entry in self.published.iterdir() if entry.is_dir())
        except FileNotFoundError:
            return []

    def summaries(self, workspace: str | None = None) -> list[RunSummary]:
        """Runs (of `workspace`, or all), newest first."""
        found = []
        for run_id in self.ids():
            try:
                summary = self.summary(run_id)
            except CorruptManifestError:
                summary = summarize(self.load(run_id))  # the manifest is what counts
            if workspace is None or summary.workspace == workspace:
                found.append(summary)
        found.sort(key=lambda summary: (summary.started_at, summary.run_id), reverse=True)
        return found

    def resolve(self, reference: str | None, workspace: str | None = None) -> str:
        """The run id that `reference` (an id or unique prefix) names; None means the newest
        run of `workspace`."""
        if reference is None:
            runs = self.summaries(workspace)
            if not runs:
                raise RunNotFoundError(f"no runs recorded for workspace {workspace}")
            return runs[0].run_id
        matches = [run_id for run_id in self.ids() if run_id.startswith(reference)]
        if reference in matches:
            return reference
        if not matches:
            raise RunNotFoundError(f"no run matches {reference!r}")
        if len(matches) > 1:
            shown = ", ".join(matches[:3]) + (", ..." if len(matches) > 3 else "")
            raise AmbiguousRunError(
                f"run id {reference!r} is ambiguous: {len(matches)} runs match ({shown})"
            )
        return matches[0]

    def checksums(self, run_id: str) -> dict[str, str] | None:
        """The recorded SHA-256 of the run's manifest and summary; None for a run
        published before runs carried them."""
        path = self.published / run_id / CHECKSUMS
        try:
            raw = self.root.read_bytes(f"{PUBLISHED}/{run_id}/{CHECKSUMS}", limit=4096)
        except FileNotFoundError:
            return None
        except OSError as error:
            raise CorruptManifestError(f"cannot read {path}: {error.strerror}") from None
        try:
            found = json.loads(raw)
        except (ValueError, RecursionError):
            found = None
        if (not isinstance(found, dict) or set(found) != {MANIFEST, SUMMARY}
                or not all(isinstance(value, str) for value in found.values())):
            raise CorruptManifestError(f"damaged checksums {path}")
        return found

    def _read_verified(self, run_id: str, name: str, limit: int) -> bytes:
        """A file of a published run, checked against the run's checksums."""
        if not run_id or "/" in run_id or run_id.startswith("."):
            raise RunNotFoundError(f"no run {run_id!r}")
        path = self.published / run_id / name
        try:
            raw = self.root.read_bytes(f"{PUBLISHED}/{run_id}/{name}", limit=limit)
        except FileNotFoundError:
            raise RunNotFoundError(f"no run {run_id!r}") from None
        except OSError as error:
            raise CorruptManifestError(f"cannot read {path}: {error.strerror}") from None
        except StoreError as error:
            raise CorruptManifestError(str(error)) from None
        checksums = self.checksums(run_id)
        if checksums is not None and sha256(raw) != checksums[name]:
            raise CorruptManifestError(f"{path} is damaged: it does not match its checksum")
        return raw

    def summary(self, run_id: str) -> RunSummary:
        """What `log` lists of one run; RunNotFoundError when it is gone,
        CorruptManifestError when its summary cannot be read or is damaged."""
        raw = self._read_verified(run_id, SUMMARY, SUMMARY_LIMIT)
        path = self.published / run_id / SUMMARY
        try:
            return RunSummary(**json.loads(raw))
        except (ValueError, TypeError, RecursionError) as error:
            raise CorruptManifestError(f"corrupt run summary {path}: {error}") from None

    def load(self, run_id: str) -> Manifest:
        raw = self._read_verified(run_id, MANIFEST, MANIFEST_LIMIT)
        return _parse(raw, self.published / run_id / MANIFEST, run_id)

    def load_with_origin(self, run_id: str) -> tuple[Manifest, bool]:
        """The manifest, and whether this user recorded it on this machine, unchanged
        (its origin tag verifies against the very bytes parsed)."""
        raw = self._read_verified(run_id, MANIFEST, MANIFEST_LIMIT)
        manifest = _parse(raw, self.published / run_id / MANIFEST, run_id)
        return manifest, recorded_here(raw, self._read_tag(run_id))

    def _read_tag(self, run_id: str) -> bytes | None:
        """A run's origin tag: a small regular file inside the store, else None."""
        try:
            return self.root.read_bytes(f"{PUBLISHED}/{run_id}/{ORIGIN}", limit=ORIGIN_MAX)
        except (OSError, StoreError):
            return None


def _write_new(directory: int, name: str, chunks: Iterable[bytes]) -> int:
    """Create `name` (0600) in the open `directory`, write `chunks` to it; its fd, open
    for the caller to fsync and close."""
    fd = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC,
                 0o600, dir_fd=directory)
    try:
        with open(fd, "wb", closefd=False) as handle:
            for chunk in chunks:
                handle.write(chunk)
    except BaseException:
        os.close(fd)
        raise
    return fd


def _parse(raw: bytes, path: Path, run_id: str) -> Manifest:
    """The manifest stored as run `run_id`, which must say it is that run."""
    try:
        manifest = load_manifest(raw, str(path))
    except RecursionError:
        raise CorruptManifestError(f"corrupt manifest {path}: nested too deeply") from None
    if manifest.run_id != run_id:
        raise CorruptManifestError(f"manifest {path} says it is run {manifest.run_id!r}, "
                                   f"which is not the run it is stored as")
    return manifest
