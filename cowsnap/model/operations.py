"""The operation vocabulary (DESIGN section 3): what a run did to a path."""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum


class Operation(StrEnum):
    """Listed in the manifest's order."""

    READ = "read"
    WRITE = "write"
    CREATE = "create"
    DELETE = "delete"
    RENAME = "rename"
    MKDIR = "mkdir"
    METADATA = "metadata"
    EXISTENCE = "existence"
    DIRECTORY = "directory"
    EXEC = "exec"


CHANGES_CONTENT = frozenset(
    {Operation.WRITE, Operation.CREATE, Operation.DELETE, Operation.RENAME}
)
"""Operations after which the before-content may be gone."""
PRODUCES_CONTENT = frozenset({Operation.WRITE, Operation.CREATE, Operation.RENAME})
"""Operations that may leave a new content at the path."""
MUTATING_OPERATIONS = CHANGES_CONTENT | {Operation.MKDIR, Operation.METADATA}
"""Operations that change the filesystem: the ones a restore undoes."""
PROBES = frozenset({Operation.EXISTENCE, Operation.DIRECTORY})
"""Operations that use no content."""


_ORDER = tuple(Operation)


def sort_operations(operations: Iterable[Operation]) -> tuple[Operation, ...]:
    """Operations in vocabulary order, so equal runs give equal manifests."""
    present = set(operations)
    return tuple(op for op in _ORDER if op in present)
