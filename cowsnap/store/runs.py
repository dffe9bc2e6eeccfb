"""Run ids, run summaries, and the published / incomplete run areas of a store.

A run is written under `incomplete/<id>.<pid>.<start time>/` (the directory's
name says which process owns it, so it is never seen without an owner) and
published by renaming the directory to `runs/<id>/`: readers never see half a
run. Incomplete runs whose owner is gone are removed when a store is opened.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import stat
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

from cowsnap.errors import AmbiguousRunError, CorruptManifestError, RunNotFoundError
from cowsnap.model import Manifest, Operation, load_manifest, manifest_chunks
from cowsnap.origin import origin_signer, recorded_here
from cowsnap.processes import owner_tag, process_start_time
from cowsnap.store.atomic import atomic_writer, fsync_dir, storage_error, write_atomic

MANIFEST = "manifest.json"
SUMMARY = "summary.json"
ORIGIN = "origin"
"""This user's keyed tag of the manifest's bytes (cowsnap/origin.py), when it has a key."""
ORIGIN_MAX = 128


def new_run_id(now: datetime | None = None) -> str:
    """A unique id that sorts by start time: `20261121T093012Z-3fa9c1`."""
    moment = (now or datetime.now(UTC)).astimezone(UTC)
    return f"{moment:%Y%m%dT%H%M%SZ}-{secrets.token_hex(3)}"


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


def summarize(manifest: Manifest) -> RunSummary:
    def count(*operations: Operation) -> int:
        return sum(1 for entry in manifest.files if set(entry.operations) & set(operations))

    return RunSummary(
        run_id=manifest.run_id, workspace=manifest.workspace, command=list(manifest.command),
        exit_status=manifest.exit_status, backend=manifest.backend,
        started_at=manifest.started_at, finished_at=manifest.finished_at,
        files=len(manifest.files),
        written=count(Operation.WRITE, Operation.CREATE, Operation.RENAME, Operation.MKDIR),
        deleted=count(Operation.DELETE), read=count(Operation.READ), session=manifest.session,
    )


class PendingRun:
    """A run being recorded: invisible until `publish`."""

    def __init__(self, runs: RunIndex, run_id: str, flush: Callable[[], None]) -> None:
        self.run_id = run_id
        self._runs = runs
        self._flush = flush
        owner = owner_tag()
        self.directory = runs.incomplete / f"{run_id}.{owner}"

    def publish(self, manifest: Manifest, *, recorded_here: bool = True) -> Path:
        """Write the manifest and make the run visible in one rename; return its directory.
        A run not recorded here (fetched from a remote) gets no origin tag, so restore
        treats it as untrusted."""
        if manifest.run_id != self.run_id:
            raise ValueError("manifest belongs to another run")
        target = self._runs.published / self.run_id
        self._flush()
        try:
            signer = origin_signer() if recorded_here else None
            with atomic_writer(self.directory / MANIFEST) as handle:
                for chunk in manifest_chunks(manifest):
                    handle.write(chunk)
                    if signer is not None:
                        signer.update(chunk)
            if signer is not None:
                write_atomic(self.directory / ORIGIN, signer.hexdigest().encode() + b"\n")
            summary = json.dumps(asdict(summarize(manifest))).encode()
            write_atomic(self.directory / SUMMARY, summary)
            os.rename(self.directory, target)
            fsync_dir(self._runs.published)
        except OSError as error:
            raise storage_error(error, f"publish run {self.run_id}") from None
        return target

    def abandon(self) -> None:
        shutil.rmtree(self.directory, ignore_errors=True)


class RunIndex:
    def __init__(self, root: Path, flush: Callable[[], None]) -> None:
        """`flush` makes contents durable; it runs before each manifest is published."""
        self.published = root / "runs"
        self.incomplete = root / "incomplete"
        self._flush = flush

    def initialise(self) -> None:
        for directory in (self.published, self.incomplete):
            directory.mkdir(mode=0o700, exist_ok=True)

    def begin(self, run_id: str | None = None) -> PendingRun:
        """Reserve a run id and mark it as owned by this process."""
        run_id = run_id or new_run_id()
        pending = PendingRun(self, run_id, self._flush)
        try:
            pending.directory.mkdir(mode=0o700)
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

    def summary(self, run_id: str) -> RunSummary:
        """What `log` lists of one run; RunNotFoundError when it is gone,
        CorruptManifestError when its summary cannot be read."""
        path = self.published / run_id / SUMMARY
        try:
            return RunSummary(**json.loads(path.read_bytes()))
        except FileNotFoundError:
            raise RunNotFoundError(f"no run {run_id}") from None
        except (OSError, ValueError, TypeError) as error:
            raise CorruptManifestError(f"corrupt run summary {path}: {error}") from None

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

    def _read_manifest(self, run_id: str) -> tuple[bytes, Path]:
        if not run_id or "/" in run_id or run_id.startswith("."):
            raise RunNotFoundError(f"no run {run_id!r}")
        path = self.published / run_id / MANIFEST
        try:
            return path.read_bytes(), path
        except FileNotFoundError:
            raise RunNotFoundError(f"no run {run_id!r}") from None
        except OSError as error:
            raise CorruptManifestError(f"cannot read manifest {path}: {error.strerror}") from None

    def load(self, run_id: str) -> Manifest:
        raw, path = self._read_manifest(run_id)
        return _parse(raw, path, run_id)

    def load_with_origin(self, run_id: str) -> tuple[Manifest, bool]:
        """The manifest, and whether this user recorded it on this machine, unchanged
        (its origin tag verifies against the very bytes parsed)."""
        raw, path = self._read_manifest(run_id)
        return _parse(raw, path, run_id), recorded_here(raw, _read_tag(path.parent / ORIGIN))


def _parse(raw: bytes, path: Path, run_id: str) -> Manifest:
    """The manifest stored as run `run_id`, which must say it is that run."""
    manifest = load_manifest(raw, str(path))
    if manifest.run_id != run_id:
        raise CorruptManifestError(f"manifest {path} says it is run {manifest.run_id!r}, "
                                   f"which is not the run it is stored as")
    return manifest


def _read_tag(path: Path) -> bytes | None:
    """A run's origin tag: a small regular file, never followed through a symlink."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        return os.read(fd, ORIGIN_MAX) if stat.S_ISREG(os.fstat(fd).st_mode) else None
    except OSError:
        return None
    finally:
        os.close(fd)
