"""The run a restore records of itself, before it changes anything.

Its before-states are what is at each path the restore will touch, contents
stored; its after-states are the states the restore brings back. So
`cowsnap restore <that run>` undoes the restore, with the same conflict checks
as any other run, and a restore interrupted half-way can still be undone.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from contextlib import closing
from datetime import UTC, datetime

from cowsnap import __version__
from cowsnap.errors import RestoreError, StoreError
from cowsnap.model import (
    FileEntry,
    FileState,
    Manifest,
    Operation,
    is_hash_id,
    same_content,
    sort_operations,
    stored,
)
from cowsnap.restore.beneath import OpenParents, Roots
from cowsnap.restore.plan import Current, Plan, Target
from cowsnap.store.batch import read_packed
from cowsnap.store.keeping import ContentWriter
from cowsnap.store.store import Store

BACKEND = "restore"
"""The `backend` of a restore's own run: no snapshot was taken, contents were stored."""


_DELETE = (Operation.DELETE,)
_REPLACE = {made: sort_operations((Operation.DELETE, made))
            for made in (Operation.MKDIR, Operation.CREATE)}
_WRITE = (Operation.WRITE,)
_METADATA = (Operation.METADATA,)


def restore_operations(current: FileState, want: FileState) -> tuple[Operation, ...]:
    """What the restore does to a path, in the manifest's vocabulary (the content or
    target compared as `compare` does)."""
    made = Operation.MKDIR if want.type == "directory" else Operation.CREATE
    if not want.exists:
        return _DELETE
    if not current.exists:
        return (made,)
    if current.type != want.type:
        return _REPLACE[made]
    if want.type == "symlink":
        rewritten = current.target != want.target
    else:
        rewritten = want.type == "file" and not same_content(current, want)
    return _WRITE if rewritten else _METADATA


def _keep_current(writer: ContentWriter, parents: OpenParents, target: Target,
                  state: FileState, held: set[str]) -> FileState:
    """`state` with its content in the store: usually there already (the run's own
    content it replaces), known by the id computed when the path was examined. Its
    presence is checked (`held`: the ids the store holds), never assumed: a prune before
    this restore took the retention lock may have reclaimed it, and the restore is about
    to delete the file."""
    if state.type != "file":
        return state
    if state.blob in held:
        return stored(state, state.blob)
    path = target.path
    try:
        dir_fd, name = parents.get(path)
        fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC,
                     dir_fd=dir_fd)
        try:
            blob = writer.keep(fd, os.fstat(fd).st_size).blob
        finally:
            os.close(fd)
    except OSError as error:
        raise RestoreError(f"cannot keep the current content of {os.fsdecode(path)} "
                           f"({error.strerror}); nothing was restored") from None
    assert blob is not None  # kept whole: only a clone_only keep may keep nothing
    return stored(state, blob)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def _entry(target: Target, before: FileState) -> FileEntry:
    return FileEntry(path=target.path, operations=restore_operations(before, target.want),
                     before=before, after=target.want, git=target.entry.git,
                     in_workspace=target.entry.in_workspace)


def _held(store: Store, touched: Sequence[Target], current: Mapping[bytes, Current], *,
          verify: bool) -> set[str]:
    """The current contents the store already holds, so the undo run need not keep them
    again. With `verify` (a store that is not this user's own: a bundle, whose pack
    index may claim a content its pack does not hold), each is read and checked against
    its id and size first: an undo run must never reference a content that is not there."""
    sizes = {blob: state.size for target in touched
             if is_hash_id(blob := (state := current[target.path].state).blob)
             and blob is not None}
    held = store.contents.held(sizes)
    if not verify:
        return held
    try:
        packed = {blob for blob, _data in read_packed(
            store.contents, {blob: sizes[blob] for blob in held})}
        for blob in held - packed:
            # a stream checks the whole content before its first chunk
            with closing(store.contents.stream(blob, sizes[blob])) as chunks:
                next(chunks, None)
    except StoreError as error:
        raise RestoreError(f"the store does not hold what the restore replaces: {error}; "
                           f"nothing was restored: cowsnap check --store {store.root}") from None
    return held


def record_restore(store: Store, source: Manifest, plan: Plan, current: Mapping[bytes, Current],
                   roots: Roots, command: Sequence[str], cwd: str, *,
                   verify_held: bool) -> str:
    """Publish the restore's own run (see the module docstring); return its id.
    `verify_held`: check the contents the store says it holds (`_held`)."""
    started_at = _now()
    touched = plan.touched()
    held = _held(store, touched, current, verify=verify_held)
    pending = store.runs.begin()
    try:
        with OpenParents(roots) as parents, ContentWriter(store.contents) as writer:
            entries = [_entry(target, _keep_current(writer, parents, target,
                                                    current[target.path].state, held))
                       for target in touched]
        manifest = Manifest(
            run_id=pending.run_id, tool_version=__version__, command=tuple(command),
            exit_status=0, start_cwd=cwd, workspace=source.workspace, backend=BACKEND,
            uid=os.getuid(), gid=os.getgid(), started_at=started_at, finished_at=_now(),
            files=tuple(entries), capture_reads="none", max_file_size=None)
        pending.publish(manifest)
    except BaseException:
        pending.abandon()
        raise
    return pending.run_id
