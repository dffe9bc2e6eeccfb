"""Sparse contents come back sparse: cloned, or copied data segment by data segment."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from cowsnap import api
from cowsnap.restore.sparse import blob_id_of, copy_content, data_segments

MIB = 1024 * 1024
SIZE = 200 * MIB
"""Above the size kept as a file (32 MiB), below the default --max-file-size."""
DATA = {0: b"head", 70 * MIB: b"middle" * 1000, SIZE - 5: b"tail\n"}


def _sparse(path: Path, size: int = SIZE, data: dict[int, bytes] = DATA) -> None:
    with path.open("wb") as handle:
        handle.truncate(size)
        for offset, chunk in data.items():
            handle.seek(offset)
            handle.write(chunk)


def _allocated(path: Path) -> int:
    return os.lstat(path).st_blocks * 512


def _same_content(path: Path) -> bool:
    with path.open("rb") as handle:
        for offset, chunk in DATA.items():
            handle.seek(offset)
            if handle.read(len(chunk)) != chunk:
                return False
    return os.lstat(path).st_size == SIZE


def test_copy_keeps_holes_where_it_cannot_clone(ext4_dir: Path) -> None:
    source, target = ext4_dir / "source", ext4_dir / "target"
    _sparse(source)
    with source.open("rb") as reader, target.open("wb") as writer:
        copy_content(reader.fileno(), writer.fileno(), SIZE)
    assert _same_content(target)
    assert _allocated(target) < 8 * MIB


def test_a_hole_hashes_as_zeros(ext4_dir: Path) -> None:
    path = ext4_dir / "small"
    _sparse(path, 3 * MIB, {MIB + 7: b"x"})
    expected = hashlib.sha1(b"blob %d\x00" % (3 * MIB) + path.read_bytes(),
                            usedforsecurity=False).hexdigest()
    with path.open("rb") as reader:
        assert len(list(data_segments(reader.fileno(), 3 * MIB))) == 1
        assert blob_id_of(reader.fileno(), 3 * MIB) == expected


def test_a_sparse_file_is_restored_sparse(backend_workspace: tuple[str, Path],
                                          isolated_home: Path) -> None:
    backend, workspace = backend_workspace
    store = workspace.parent / "store"  # beside the workspace: cloning is possible
    _sparse(workspace / "big")
    result = api.run(api.RunRequest(command=["rm", "big"], workspace=workspace, store=store,
                                    backend=backend, cwd=workspace))
    assert result.recording_error is None
    undo = api.restore(result.run_id, workspace=workspace, store=store, cwd=workspace)
    assert undo.failures == ()
    assert _same_content(workspace / "big")
    assert _allocated(workspace / "big") < 8 * MIB
