"""The content store: ids, dedup, compression, large contents, privacy, full disks."""

from __future__ import annotations

import hashlib
import os
import re
import stat
from pathlib import Path

import pytest
import sh

from cowsnap.errors import ContentNotFoundError, DiskFullError, StoreDamagedError, StoreError
from cowsnap.store import content as content_module
from cowsnap.store import keeping
from cowsnap.store.content import ContentStore, blob_id, clone_or_copy
from cowsnap.store.keeping import ContentWriter
from cowsnap.store.seals import read_seal
from cowsnap.store.store import Store
from tests.conftest import keep_file


def git_hash(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\x00" % len(data) + data).hexdigest()


def files_under(root: Path) -> list[Path]:
    return [path for path in root.rglob("*") if path.is_file()]


def test_ids_are_git_blob_ids_and_git_can_read_them(store: Store, tmp_path: Path) -> None:
    blob = store.contents.put_bytes(b"hello\n")
    assert blob == git_hash(b"hello\n") == "ce013625030ba8dba906f756967f9e9ca394464a"
    shown = sh.git("--git-dir", str(store.contents.git_dir), "cat-file", "-p", blob,
                   _env={"GIT_CONFIG_GLOBAL": "/dev/null", "GIT_CONFIG_NOSYSTEM": "1",
                         "PATH": os.environ["PATH"]}, _timeout=30)
    assert shown == "hello\n"
    assert store.read(blob) == b"hello\n"


def test_same_content_is_stored_once_and_compressed(store: Store, tmp_path: Path) -> None:
    data = b"the same line over and over\n" * 10_000
    source = tmp_path / "source"
    source.write_bytes(data)
    blob = store.contents.put_bytes(data)
    before = files_under(store.contents.objects)
    assert keep_file(store, source) == blob
    assert files_under(store.contents.objects) == before
    stored = store.root / store.contents.loose_name(blob)
    assert stored in before
    assert stored.stat().st_size < len(data) / 50
    assert b"".join(store.contents.stream(blob)) == data


@pytest.mark.parametrize(("kind", "clones"), [("xfs", True), ("btrfs", True), ("ext4", False)])
def test_large_contents_are_raw_files_cloned_where_possible(
    kind: str, clones: bool, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    directory: Path = request.getfixturevalue(f"{kind}_dir")
    store = Store.open(directory / "store")
    monkeypatch.setattr(content_module, "LARGE_CONTENT", 1000)
    monkeypatch.setattr(content_module, "CHUNK", 777)
    data = os.urandom(5000)
    source = directory / "large"
    source.write_bytes(data)
    blob = keep_file(store, source)
    again = keep_file(store, source)
    if clones:
        assert re.fullmatch("large-[0-9a-f]{32}", blob), "cloned, not hashed"
        assert again != blob
    else:
        assert blob == again == git_hash(data), "copied and hashed in one pass: deduplicated"
    assert (store.root / store.contents.large_name(blob)).read_bytes() == data
    assert b"".join(store.contents.stream(blob)) == data
    assert store.contents.has(blob)
    assert list((store.root / "tmp").iterdir()) == []
    copy = Store.open(directory / "copy")
    with store.contents.open_large(blob) as large:
        assert large is not None and large[1] == git_hash(data)
        copy.contents.adopt_large(blob, *large)
    assert copy.read(blob) == data


def _large_sources(directory: Path, count: int) -> list[Path]:
    sources = []
    for number in range(count):
        source = directory / f"large-{number}"
        source.write_bytes(os.urandom(5000 + number))
        sources.append(source)
    return sources


@pytest.mark.parametrize("kind", ["xfs", "btrfs"])
def test_a_writer_seals_every_clone_once_before_it_closes(
    kind: str, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every clone is hashed once, with the git blob id of its bytes, by the time the
    writer closes (before any run can refer to it): one made before the pool started
    (while a command runs) when the writer closes, the others in the pool as soon as
    they are made."""
    directory: Path = request.getfixturevalue(f"{kind}_dir")
    monkeypatch.setattr(content_module, "LARGE_CONTENT", 1000)
    store = Store.open(directory / "store")
    sealed: list[str] = []
    seal_clone = ContentStore.seal_clone

    def counting_seal(contents: ContentStore, blob: str) -> None:
        sealed.append(blob)
        seal_clone(contents, blob)

    monkeypatch.setattr(ContentStore, "seal_clone", counting_seal)
    sources = _large_sources(directory, 5)
    with ContentWriter(store.contents) as writer:
        blobs = [writer.keep_path(os.fsencode(sources[0]))]
        assert sealed == []
        blobs += writer.map(lambda source: writer.keep_path(os.fsencode(source)), sources[1:])
    assert sorted(sealed) == sorted(blob for blob in blobs if blob is not None)
    for blob, source in zip(blobs, sources, strict=True):
        assert blob is not None and blob.startswith("large-")
        assert read_seal(store.directory, blob) == git_hash(source.read_bytes())


@pytest.mark.parametrize("in_pool", [False, True])
def test_a_clone_that_cannot_be_sealed_drops_the_writers_pack(
    in_pool: bool, xfs_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(content_module, "LARGE_CONTENT", 1000)
    monkeypatch.setattr(keeping, "PACK_FROM_COUNT", 1)
    store = Store.open(xfs_dir / "store")
    sources = _large_sources(xfs_dir, 3)

    def failing_seal(contents: ContentStore, blob: str) -> None:
        raise StoreDamagedError(f"content {blob} does not match its id or seal")

    monkeypatch.setattr(ContentStore, "seal_clone", failing_seal)
    writer = ContentWriter(store.contents)
    writer.keep_bytes(b"a small content, packed")
    if in_pool:
        writer.map(lambda source: writer.keep_path(os.fsencode(source)), sources)
    else:
        for source in sources:
            writer.keep_path(os.fsencode(source))
    with pytest.raises(StoreDamagedError, match="does not match"):
        writer.close()
    assert not store.contents.pack_dir.exists() or list(store.contents.pack_dir.iterdir()) == []
    assert [path.name for path in (store.root / "tmp").iterdir()] == []


@pytest.mark.parametrize(("kind", "clones"), [("xfs", True), ("btrfs", True), ("ext4", False)])
def test_clone_or_copy(kind: str, clones: bool, request: pytest.FixtureRequest) -> None:
    directory: Path = request.getfixturevalue(f"{kind}_dir")
    data = os.urandom(300_000)
    (directory / "source").write_bytes(data)
    source = os.open(directory / "source", os.O_RDONLY)
    target = os.open(directory / "target", os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        assert clone_or_copy(source, target, len(data)) is clones
    finally:
        os.close(source)
        os.close(target)
    assert (directory / "target").read_bytes() == data


def test_everything_in_the_store_is_private(
    store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(content_module, "LARGE_CONTENT", 100)
    store.contents.put_bytes(b"small")
    (tmp_path / "big").write_bytes(b"b" * 500)
    keep_file(store, tmp_path / "big")
    store.runs.begin()
    for path in [store.root, *store.root.rglob("*")]:
        mode = stat.S_IMODE(path.lstat().st_mode)
        expected = 0o700 if path.is_dir() else 0o600
        assert mode == expected, f"{path} has mode {mode:o}"


def test_unknown_or_malformed_ids(store: Store) -> None:
    with pytest.raises(ContentNotFoundError, match="not in the store"):
        store.read(blob_id(b"never stored"))
    with pytest.raises(StoreError, match="not a content id"):
        store.read("../../etc/passwd")


def test_a_full_disk_is_one_clear_error_and_leaves_nothing(tiny_filesystem: Path) -> None:
    store = Store.open(tiny_filesystem / "store")
    with pytest.raises(DiskFullError, match="no space left"):
        store.contents.put_bytes(os.urandom(2 * 1024 * 1024))
    assert [path for path in files_under(store.contents.objects) if ".tmp-" in path.name] == []


def test_a_read_only_store_is_one_clear_error(tiny_filesystem: Path) -> None:
    Store.open(tiny_filesystem / "store")
    sh.mount("-o", "remount,ro", str(tiny_filesystem), _timeout=10)
    with pytest.raises(StoreError, match="Read-only file system") as caught:
        Store.open(tiny_filesystem / "store").contents.put_bytes(b"x")
    assert "\n" not in str(caught.value)
