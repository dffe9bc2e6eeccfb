"""Runs published straight into a store (no tracing), for tests that need hundreds.

Run as a script, it is one CI runner: `python synthetic.py STORE WORKSPACE FIRST COUNT
URL` records COUNT runs (run numbers FIRST...), each writing one file of its own
random bytes, then pushes them to URL one push per run, as a runner pushing
after each step would.
"""

from __future__ import annotations

import os
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cowsnap.model import FileEntry, FileState, Manifest, Operation
from cowsnap.store.runs import new_run_id
from cowsnap.store.store import Store

EPOCH = datetime(2026, 1, 1, tzinfo=UTC)


def publish_run(store: Store, workspace: Path, number: int, payload: bytes,
                recorded_size: int | None = None) -> str:
    """Publish run `number` (its start time, hence its id, is unique per number) in
    which `workspace/out-<number>` was created holding `payload` (of `recorded_size`
    bytes, the manifest says, when given)."""
    started = EPOCH + timedelta(seconds=number)
    run_id = new_run_id(started)
    blob = store.contents.put_bytes(payload)
    stamp = started.isoformat().replace("+00:00", "Z")
    path = os.fsencode(workspace / f"out-{number}")
    entry = FileEntry(path=path, operations=(Operation.CREATE, Operation.WRITE),
                      before=FileState(exists=False),
                      after=FileState(exists=True, type="file", mode=0o100644,
                                      size=len(payload) if recorded_size is None
                                      else recorded_size, mtime_ns=0, uid=os.getuid(),
                                      blob=blob, blob_source="store"))
    manifest = Manifest(run_id=run_id, tool_version="test", command=("step", str(number)),
                        exit_status=0, start_cwd=str(workspace), workspace=str(workspace),
                        backend="copy", uid=os.getuid(), gid=os.getgid(), started_at=stamp,
                        finished_at=stamp, files=(entry,))
    store.runs.begin(run_id).publish(manifest)
    return run_id


def main() -> None:
    from cowsnap import api

    store_dir, workspace, first, count, url = sys.argv[1:]
    store = Store.open(Path(store_dir))
    for number in range(int(first), int(first) + int(count)):
        run_id = publish_run(store, Path(workspace), number, os.urandom(4096))
        report = api.push(url, [run_id], store=store_dir)
        if [run.status for run in report.runs] != ["pushed"]:
            raise SystemExit(f"run {run_id} was not pushed: {report.runs}")


if __name__ == "__main__":
    main()
