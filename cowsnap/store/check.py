"""`cowsnap check`: every manifest parses and validates, its summary agrees with it,
and every content a run references is there and hashes to its id.

Every problem is listed, not only the first. A content kept in a workspace's own
git repository (a clean tracked file, referenced by id) that the repository no
longer has is a warning, not damage: the store is intact, the user changed the
repository; so is a content whose size differs from the size its manifest
recorded (the file changed between the two while it was recorded: the bytes
stored are intact). Large `large-...` contents are checked against their seal
(`seals.py`), written by the first check that reads them.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace

from cowsnap.errors import ContentNotFoundError, CowsnapError, StoreDamagedError
from cowsnap.model import Manifest
from cowsnap.store.content import blob_id, check_blob_id, loose_blob_id
from cowsnap.store.git_metadata import git_metadata_problems
from cowsnap.store.runs import SUMMARY, summarize
from cowsnap.store.seals import UNHASHED, read_seal_record
from cowsnap.store.store import Store


@dataclass(frozen=True)
class Problem:
    subject: str
    """What is affected: `run <id>` or `content <id>`."""
    problem: str


@dataclass(frozen=True)
class CheckReport:
    runs: int
    contents: int
    """Distinct contents referenced."""
    verified_bytes: int
    sealed: int
    """Large contents sealed by this check (their first)."""
    problems: tuple[Problem, ...]
    warnings: tuple[Problem, ...]

    @property
    def ok(self) -> bool:
        return not self.problems


@dataclass
class _Reference:
    """A content as the manifests refer to it."""

    sizes: set[int] = field(default_factory=set)
    repositories: set[str] = field(default_factory=set)
    """Git repositories holding it, for clean tracked files referenced by id."""
    runs: set[str] = field(default_factory=set)


@dataclass
class _Findings:
    problems: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)
    verified_bytes: int = 0
    sealed: int = 0


def _check_summary(store: Store, manifest: Manifest) -> str | None:
    path = store.runs.published / manifest.run_id / SUMMARY
    try:
        recorded = store.runs.summary(manifest.run_id)
    except CowsnapError as error:
        return str(error)
    expected = summarize(manifest)
    if recorded.effects is None:  # written before summaries counted effects
        expected = replace(expected, effects=None)
    if recorded != expected:
        return f"its summary {path} disagrees with its manifest"
    return None


def _collect(store: Store, findings: _Findings) -> tuple[int, dict[str, _Reference]]:
    references: dict[str, _Reference] = {}
    run_ids = store.runs.ids()
    for run_id in run_ids:
        subject = f"run {run_id}"
        try:
            manifest = store.runs.load(run_id)
            if store.runs.checksums(run_id) is None:
                findings.warnings.append(Problem(subject, (
                    "its manifest carries no checksum (recorded by an older cowsnap): "
                    "bit flips in it cannot be detected")))
        except CowsnapError as error:
            findings.problems.append(Problem(subject, str(error)))
            continue
        if manifest.run_id != run_id:
            findings.problems.append(Problem(subject, f"its manifest is of run {manifest.run_id}"))
        summary_problem = _check_summary(store, manifest)
        if summary_problem:
            findings.problems.append(Problem(subject, summary_problem))
        for content in manifest.content_references():
            try:
                check_blob_id(content.blob)
            except CowsnapError as error:
                findings.problems.append(Problem(subject, str(error)))
                continue
            reference = references.setdefault(content.blob, _Reference())
            reference.runs.add(run_id)
            if content.size is not None:
                reference.sizes.add(content.size)
            if content.repository:
                reference.repositories.add(content.repository)
    return len(run_ids), references


def _verify_large(store: Store, blob: str,
                  findings: _Findings) -> tuple[str | None, int] | None:
    """Why a raw large content is damaged (or None) and its size; None if `blob` is not
    a large content. One cloned here and never hashed is sealed now; one without any
    seal cannot be verified, so it is never sealed as good."""
    unhashed = blob.startswith("large-") and (
        read_seal_record(store.directory, blob) == UNHASHED)
    try:
        with store.contents.open_large(blob) as large:
            if large is None:
                return None
            size = os.fstat(large[0]).st_size
    except StoreDamagedError as error:
        return str(error), 0
    if unhashed:
        findings.sealed += 1
    return None, size


def _verify_loose(store: Store, blob: str) -> tuple[str | None, int] | None:
    """Why a loose object is damaged (or None) and its size; None if there is none."""
    fd = store.contents.open_loose_file(blob)
    if fd is None:
        return None
    try:
        digest, size = loose_blob_id(fd)
    except ValueError as error:
        return f"its loose object {error}", 0
    finally:
        os.close(fd)
    return (None if digest == blob else f"its bytes hash to {digest}"), size


def _verify_stored(store: Store, blob: str, findings: _Findings) -> tuple[str | None, int]:
    """Why the stored content `blob` is damaged (or None), and its size."""
    found = _verify_large(store, blob, findings) or _verify_loose(store, blob)
    if found is None:
        try:
            data = store.contents.read(blob)
        except StoreDamagedError as error:
            return str(error), 0
        found = None, len(data)
    findings.verified_bytes += found[1]
    return found


def _verify_in_repository(store: Store, blob: str, reference: _Reference,
                          findings: _Findings) -> str | None:
    """Why a clean tracked file's content, kept only in its repository, is damaged."""
    repository = sorted(reference.repositories)[0]
    data = store.read(blob, repository)
    findings.verified_bytes += len(data)
    return None if blob_id(data) == blob else f"damaged in the repository {repository}"


def _check_content(store: Store, blob: str, reference: _Reference, findings: _Findings) -> None:
    subject = f"content {blob}"
    used_by = f"(used by {', '.join(sorted(reference.runs))})"
    try:
        if store.contents.has(blob):
            damage, size = _verify_stored(store, blob, findings)
            wrong = sorted(expected for expected in reference.sizes if expected != size)
            if damage is None and wrong:
                findings.warnings.append(Problem(subject, (
                    f"holds {size} bytes, the manifest says {wrong[0]}: the file changed "
                    f"while it was recorded {used_by}")))
        elif reference.repositories:
            damage = _verify_in_repository(store, blob, reference, findings)
        else:
            damage = "is missing from the store"
    except ContentNotFoundError as error:
        findings.warnings.append(Problem(subject, f"{error} {used_by}"))
        return
    except CowsnapError as error:
        damage = str(error)
    except OSError as error:
        damage = f"cannot be read: {error}"
    if damage is not None:
        findings.problems.append(Problem(subject, f"{damage} {used_by}"))


def check_store(store: Store) -> CheckReport:
    """Verify `store`; the caller holds the shared retention lock (no prune meanwhile)."""
    findings = _Findings()
    findings.problems.extend(Problem("store", problem)
                             for problem in git_metadata_problems(store.directory))
    runs, references = _collect(store, findings)
    for blob in sorted(references):
        _check_content(store, blob, references[blob], findings)
    return CheckReport(runs=runs, contents=len(references),
                       verified_bytes=findings.verified_bytes, sealed=findings.sealed,
                       problems=tuple(findings.problems), warnings=tuple(findings.warnings))
