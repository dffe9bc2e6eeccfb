"""A store or bundle prepared by another user cannot turn root's cowsnap against the
machine (issue 10, items 3 and 7): it is refused when not root's own; once copied
by root, a symlink inside it, a tampered content, or a content without a seal makes
cowsnap fail with one line, and every path outside stays byte-identical."""

from __future__ import annotations

import os
import shutil
import struct
import subprocess
import zlib
from pathlib import Path

import pytest

from cowsnap.errors import StoreError
from cowsnap.store.content import LARGE_CONTENT
from cowsnap.store.seals import read_seal_record
from cowsnap.store.store import Store
from tests.attacker import as_attacker, attacker_area, give_to_attacker, tree_digest
from tests.conftest import Cowsnap, rewrite_manifest
from tests.memory import run_python

SECRET_LINE = b"root:$6$secret-hash:19000:0:99999:7:::\n"


def one_line_error(result: subprocess.CompletedProcess[bytes]) -> str:
    assert result.returncode == 1, result
    text = result.stderr.decode()
    assert text.startswith("cowsnap: error: ") and text.count("\n") == 1, text
    assert b"Traceback" not in result.stderr
    return text


@pytest.fixture
def victim(ext4_dir: Path, root_required: None) -> Path:
    """A root-only directory with a secret, outside every workspace and store."""
    directory = ext4_dir / "victim"
    directory.mkdir(mode=0o700)
    (directory / "shadow").write_bytes(SECRET_LINE * (LARGE_CONTENT // len(SECRET_LINE) + 1))
    (directory / "cron.d").mkdir(mode=0o755)
    return directory


def _bundle(cowsnap: Cowsnap, workspace: Path, bundle: Path, content: bytes) -> str:
    """A bundle of a run that replaced `big` (holding `content`) with one line; its id."""
    (workspace / "big").write_bytes(content)
    cowsnap("run", "--output", str(bundle), "--", "sh", "-c", "echo changed > big",
            cwd=workspace)
    [run] = [path.name for path in (bundle / "runs").iterdir()]
    return run


def _attackers_bundle(cowsnap: Cowsnap, base: Path, content: bytes) -> tuple[Path, Path, Path]:
    """(area, workspace, bundle): a bundle as `_bundle` makes it, in an area under `base`
    handed whole to the attacker afterwards."""
    area = attacker_area(base)
    workspace = area / "ws"
    workspace.mkdir()
    bundle = area / "bundle"
    _bundle(cowsnap, workspace, bundle, content)
    give_to_attacker(area)
    return area, workspace, bundle


def _large_of(bundle: Path) -> Path:
    [large] = [path for path in (bundle / "large").iterdir() if not path.name.startswith(".")]
    return large


def test_a_store_of_another_user_is_refused(cowsnap: Cowsnap, ext4_dir: Path,
                                            root_required: None) -> None:
    area, workspace, bundle = _attackers_bundle(cowsnap, ext4_dir, b"small\n")
    before = tree_digest(area)
    for command in (["log"], ["check"], ["restore", "--force"], ["cat", "big"]):
        result = cowsnap(command[0], "--store", str(bundle), *command[1:], cwd=workspace,
                         check=False)
        message = one_line_error(result)
        assert f"refusing the store {bundle}: it belongs to uid" in message
    assert tree_digest(area) == before


def test_a_store_writable_by_others_is_refused(cowsnap: Cowsnap, tmp_path: Path) -> None:
    cowsnap("run", "--", "true", cwd=tmp_path)
    os.chmod(cowsnap.store, 0o777)
    message = one_line_error(cowsnap("log", cwd=tmp_path, check=False))
    assert "is writable by other users (mode 777)" in message


def test_a_large_content_symlinked_to_a_secret_is_never_read(
        cowsnap: Cowsnap, ext4_dir: Path, victim: Path) -> None:
    """The attacker swaps the bundle's raw large content for a symlink to a root-only
    file of the same size; root copies the bundle (as told to) and restores from it."""
    secret = victim / "shadow"
    _area, workspace, bundle = _attackers_bundle(cowsnap, ext4_dir,
                                                 os.urandom(secret.stat().st_size))
    large = _large_of(bundle)
    as_attacker(f"rm {large.name} && ln -s {secret} {large.name}", cwd=large.parent)
    copy = ext4_dir / "copy"
    subprocess.run(["cp", "-r", str(bundle), str(copy)], check=True)
    assert (copy / "large" / large.name).is_symlink()
    victims = tree_digest(victim)
    for command in (["restore", "--force"], ["cat", "--before", "big"]):
        result = cowsnap(command[0], "--store", str(copy), *command[1:], cwd=workspace,
                         check=False)
        message = one_line_error(result)
        assert "a symlink or a non-directory is on its way" in message
        assert SECRET_LINE not in result.stdout
    assert (workspace / "big").read_bytes() == b"changed\n"
    assert tree_digest(victim) == victims


def test_a_large_directory_symlinked_elsewhere_is_refused(
        cowsnap: Cowsnap, ext4_dir: Path, victim: Path) -> None:
    """`large/` a symlink to a root-owned directory: nothing is ever written there."""
    _area, workspace, bundle = _attackers_bundle(cowsnap, ext4_dir, b"small\n")
    as_attacker(f"rm -r large && ln -s {victim / 'cron.d'} large", cwd=bundle)
    copy = ext4_dir / "copy"
    subprocess.run(["cp", "-r", str(bundle), str(copy)], check=True)
    victims = tree_digest(victim)
    (workspace / "big").write_bytes(os.urandom(LARGE_CONTENT))
    for command in (["restore", "--force"], ["log"], ["check"],
                    ["run", "--", "sh", "-c", "echo again > big"]):
        result = cowsnap(command[0], "--store", str(copy), *command[1:], cwd=workspace,
                         check=False)
        assert "a symlink or a non-directory is on its way" in one_line_error(result)
    assert tree_digest(victim) == victims


def test_a_pack_index_that_is_a_fifo_or_a_symlink_is_never_opened(
        cowsnap: Cowsnap, ext4_dir: Path, victim: Path) -> None:
    """A FIFO as a pack's index blocked restore forever (it was opened by path, like
    any file); a symlink as one was followed. Neither is a pack of the bundle's now."""
    _area, workspace, bundle = _attackers_bundle(cowsnap, ext4_dir, b"small\n")
    as_attacker(f"mkfifo pack-{'0' * 40}.idx && touch pack-{'0' * 40}.pack && "
                f"ln -s {victim / 'shadow'} pack-{'1' * 40}.idx && touch pack-{'1' * 40}.pack",
                cwd=bundle / "objects.git" / "objects" / "pack")
    copy = ext4_dir / "copy"
    subprocess.run(["cp", "-r", str(bundle), str(copy)], check=True, timeout=60)
    assert (copy / "objects.git" / "objects" / "pack" / f"pack-{'0' * 40}.idx").is_fifo()
    victims = tree_digest(victim)
    dry = cowsnap("restore", "--store", str(copy), "--dry-run", cwd=workspace)
    assert b"write     big" in dry.stdout
    cowsnap("restore", "--store", str(copy), "--force", cwd=workspace)
    assert (workspace / "big").read_bytes() == b"small\n"
    assert tree_digest(victim) == victims


def test_a_tampered_content_is_never_shown(cowsnap: Cowsnap, tmp_path: Path) -> None:
    (tmp_path / "f.txt").write_text("original\n")
    cowsnap("run", "--", "sh", "-c", "echo changed > f.txt", cwd=tmp_path)
    evil = b"evil!!!!!\n"
    for loose in (cowsnap.store / "objects.git" / "objects").glob("??/*"):
        if zlib.decompress(loose.read_bytes()).endswith(b"\x00original\n"):
            os.chmod(loose, 0o600)
            loose.write_bytes(zlib.compress(b"blob %d\x00" % len(evil) + evil))
    for command in (["cat", "--before", "f.txt"], ["diff"]):
        result = cowsnap(*command, cwd=tmp_path, check=False)
        assert "does not match its id" in one_line_error(result)
        assert b"evil" not in result.stdout


def test_check_never_seals_a_bundles_large_content_as_good(
        cowsnap: Cowsnap, xfs_dir: Path) -> None:
    """A bundle carries a seal for each cloned large content: a flipped byte is caught,
    and a content whose seal is gone is an error that check does not paper over."""
    cowsnap = Cowsnap(home=cowsnap.home, store=xfs_dir / "store")
    workspace = xfs_dir / "ws"
    workspace.mkdir()
    bundle = xfs_dir / "bundle"
    _bundle(cowsnap, workspace, bundle, os.urandom(LARGE_CONTENT))
    large = _large_of(bundle)
    assert large.name.startswith("large-"), "cloned on XFS"
    seal = bundle / "seals" / large.name
    assert len(seal.read_text().strip()) == 40, "the bundle carries its checksum"
    assert cowsnap("check", "--store", str(bundle), cwd=workspace, check=False).returncode == 0
    with large.open("r+b") as handle:
        handle.seek(LARGE_CONTENT // 3)
        byte = handle.read(1)
        handle.seek(LARGE_CONTENT // 3)
        handle.write(bytes([byte[0] ^ 1]))
    result = cowsnap("check", "--store", str(bundle), cwd=workspace, check=False)
    assert result.returncode == 1 and b"does not match its id or seal" in result.stdout
    restored = cowsnap("restore", "--force", "--store", str(bundle), cwd=workspace,
                       check=False)
    assert "does not match its id" in one_line_error(restored)
    seal.unlink()
    result = cowsnap("check", "--store", str(bundle), cwd=workspace, check=False)
    assert result.returncode == 1 and b"carries no seal" in result.stdout
    assert not seal.exists(), "nothing sealed the tampered content as good"
    assert (workspace / "big").read_bytes() == b"changed\n"


def test_a_zlib_bomb_costs_no_memory(cowsnap: Cowsnap, tmp_path: Path) -> None:
    """A 1 MiB loose object that inflates to 1 GiB: refused, in bounded memory."""
    (tmp_path / "f.txt").write_text("original\n")
    cowsnap("run", "--", "sh", "-c", "echo changed > f.txt", cwd=tmp_path)
    size = 1 << 30
    compressor = zlib.compressobj(9)
    bomb = compressor.compress(b"blob %d\x00" % size)
    zeros = bytes(1 << 20)
    for _ in range(size >> 20):
        bomb += compressor.compress(zeros)
    bomb += compressor.flush()
    assert len(bomb) < 2 << 20
    for loose in (cowsnap.store / "objects.git" / "objects").glob("??/*"):
        if zlib.decompress(loose.read_bytes()).endswith(b"\x00original\n"):
            os.chmod(loose, 0o600)
            loose.write_bytes(bomb)
    process, peak = run_python(["-m", "cowsnap", "cat", "--before", "f.txt"],
                               tmp_path / "peak", cwd=tmp_path, env=cowsnap.env(),
                               capture_output=True)
    assert process.returncode == 1 and process.stdout == b"", process.stderr
    assert b"is damaged" in process.stderr and process.stderr.count(b"\n") == 1
    assert peak < 256 * 1024, f"{peak} KiB"


def test_a_bit_flip_in_a_manifest_or_summary_is_caught(cowsnap: Cowsnap,
                                                       tmp_path: Path) -> None:
    cowsnap("run", "--", "sh", "-c", "exit 4", cwd=tmp_path, check=False)
    [run] = (cowsnap.store / "runs").iterdir()
    for name, field in (("manifest.json", b'"exit_status": 4'), ("summary.json", b'"files"')):
        path = run / name
        original = path.read_bytes()
        at = original.index(field) + 2
        path.write_bytes(original[:at] + bytes([original[at] ^ 1]) + original[at + 1:])
        result = cowsnap("check", cwd=tmp_path, check=False)
        assert result.returncode == 1
        assert f"{path} is damaged: it does not match its checksum".encode() in result.stdout
        path.write_bytes(original)
    assert cowsnap("check", cwd=tmp_path, check=False).returncode == 0


@pytest.mark.parametrize(("name", "damage"), [
    ("HEAD", lambda raw: raw.replace(b"refs/heads", b"refs/headr")),
    ("config", lambda raw: raw.replace(b"bare = true", b"bare = trud")),
    ("config", lambda raw: raw.replace(b"filemode", b"filemodd")),
    ("HEAD", lambda raw: b""),
])
def test_damage_to_the_stores_git_metadata_is_caught(cowsnap: Cowsnap, tmp_path: Path,
                                                     name: str, damage: object) -> None:
    cowsnap("run", "--", "sh", "-c", "echo x > f.txt", cwd=tmp_path)
    path = cowsnap.store / "objects.git" / name
    path.write_bytes(damage(path.read_bytes()))  # type: ignore[operator]
    result = cowsnap("check", cwd=tmp_path, check=False)
    assert result.returncode == 1
    assert f"objects.git/{name}".encode() in result.stdout
    assert b"Traceback" not in result.stderr


def test_damaged_store_files_are_one_line_errors(cowsnap: Cowsnap, tmp_path: Path) -> None:
    (tmp_path / "f.txt").write_text("original\n")
    cowsnap("run", "--", "sh", "-c", "echo changed > f.txt", cwd=tmp_path)
    objects = cowsnap.store / "objects.git" / "objects"
    [loose] = [path for path in objects.glob("??/*")
               if zlib.decompress(path.read_bytes()).endswith(b"\x00original\n")]
    os.chmod(loose, 0o600)
    loose.write_bytes(loose.read_bytes()[:-6] + b"\xff" * 6)
    result = cowsnap("cat", "--before", "f.txt", cwd=tmp_path, check=False)
    assert "its loose object" in one_line_error(result)
    [run] = (cowsnap.store / "runs").iterdir()
    nested = b"[" * 100_000 + b"]" * 100_000
    rewrite_manifest(run / "manifest.json", nested)
    assert "nested too deeply" in one_line_error(cowsnap("show", cwd=tmp_path, check=False))
    shutil.rmtree(cowsnap.store / "objects.git")
    for command in (["cat", "--before", "f.txt"], ["check"], ["log"]):
        result = cowsnap(*command, cwd=tmp_path, check=False)
        assert b"Traceback" not in result.stderr
        assert result.returncode in (0, 1)


def test_a_damaged_seal_is_a_store_error(store: Store) -> None:
    blob = "large-" + "0" * 32
    store.directory.make_directories("seals")
    (store.root / "seals" / blob).write_bytes(b"\xff\xfe not a seal")
    with pytest.raises(StoreError, match=f"the seal of content {blob} is damaged"):
        read_seal_record(store.directory, blob)


@pytest.mark.parametrize(("name", "text"), [
    ("config.toml", "a = " + "[" * 100_000 + "]" * 100_000),
    ("ignore.json", "[" * 100_000 + "]" * 100_000),
])
def test_deeply_nested_configuration_is_one_line(cowsnap: Cowsnap, tmp_path: Path,
                                                 name: str, text: str) -> None:
    config = cowsnap.home / ".config" / "cowsnap"
    config.mkdir(parents=True)
    (config / name).write_text(text)
    result = cowsnap("run", "--", "true", cwd=tmp_path, check=False)
    assert result.returncode != 0
    assert result.stderr.count(b"\n") == 1 and b"Traceback" not in result.stderr, result


def _packed(cowsnap: Cowsnap, tmp_path: Path) -> tuple[Path, Path]:
    """(workspace, pack index): a run that changed f.txt, its contents moved from loose
    objects into one pack as git makes them."""
    workspace = tmp_path / "ws"
    workspace.mkdir()
    (workspace / "f.txt").write_text("original\n")
    cowsnap("run", "--", "sh", "-c", "echo changed > f.txt", cwd=workspace)
    git_dir = cowsnap.store / "objects.git"
    loose = sorted(git_dir.glob("objects/??/*"))
    names = "".join(f"{path.parent.name}{path.name}\n" for path in loose)
    subprocess.run(["git", f"--git-dir={git_dir}", "pack-objects", "-q",
                    str(git_dir / "objects" / "pack" / "pack")],
                   input=names.encode(), check=True, stdout=subprocess.DEVNULL, timeout=60)
    for path in loose:
        path.unlink()
    [index] = (git_dir / "objects" / "pack").glob("*.idx")
    assert cowsnap("cat", "--before", "f.txt", cwd=workspace).stdout == b"original\n"
    return workspace, index


def _offsets_out_of_their_table(index: Path) -> None:
    """Every entry of `index` marked as a large offset past the index's table of them."""
    raw = bytearray(index.read_bytes())
    count = struct.unpack_from(">I", raw, 8 + 255 * 4)[0]
    offsets = 8 + 256 * 4 + 24 * count
    for position in range(count):
        struct.pack_into(">I", raw, offsets + 4 * position, 0x80000000 | (1000 + position))
    index.chmod(0o600)
    index.write_bytes(raw)


def test_a_pack_index_offset_out_of_its_table_is_one_line(cowsnap: Cowsnap,
                                                          tmp_path: Path) -> None:
    """The struct read beyond the index was a traceback in restore, cat and check."""
    workspace, index = _packed(cowsnap, tmp_path)
    _offsets_out_of_their_table(index)
    for command in (["restore", "--dry-run"], ["restore", "--force"],
                    ["cat", "--before", "f.txt"]):
        error = one_line_error(cowsnap(*command, cwd=workspace, check=False))
        assert "is damaged: an offset is out of its table" in error, command
    checked = cowsnap("check", cwd=workspace, check=False)
    assert checked.returncode == 1 and b"Traceback" not in checked.stderr
    assert b"an offset is out of its table" in checked.stdout
    assert (workspace / "f.txt").read_text() == "changed\n"


def test_a_pack_named_with_control_characters_is_not_a_pack(cowsnap: Cowsnap,
                                                            tmp_path: Path) -> None:
    """Only git's pack names are read: a bundle's pack named with an escape sequence
    and a carriage return put them on the terminal in every error naming the pack."""
    workspace, index = _packed(cowsnap, tmp_path)
    _offsets_out_of_their_table(index)
    hostile = "x\x1b]0;owned\x07\rcowsnap: ok"
    for suffix in (".idx", ".pack"):
        index.with_suffix(suffix).rename(index.with_name(hostile + suffix))
    for command in (["restore", "--dry-run"], ["cat", "--before", "f.txt"], ["check"],
                    ["diff"]):
        result = cowsnap(*command, cwd=workspace, check=False)
        assert b"\x1b" not in result.stdout + result.stderr, command
        assert b"\r" not in result.stdout + result.stderr, command
    error = one_line_error(cowsnap("cat", "--before", "f.txt", cwd=workspace, check=False))
    assert "is not in the store" in error


def _claim_with_damaged_data(bundle: Path, content: bytes) -> str:
    """The bundle's author packs `content` (a file of the victim it knows, a common
    config say), then damages the pack's data: its index still claims the content,
    whose id is returned."""
    git_dir = bundle / "objects.git"
    blob = subprocess.run(["git", f"--git-dir={git_dir}", "hash-object", "-w", "--stdin"],
                          input=content, check=True, capture_output=True,
                          timeout=60).stdout.decode().strip()
    subprocess.run(["git", f"--git-dir={git_dir}", "pack-objects", "-q",
                    str(git_dir / "objects" / "pack" / "pack")],
                   input=f"{blob}\n".encode(), check=True, stdout=subprocess.DEVNULL, timeout=60)
    (git_dir / "objects" / blob[:2] / blob[2:]).unlink()
    [pack] = (git_dir / "objects" / "pack").glob("*.pack")
    raw = bytearray(pack.read_bytes())
    for position in range(14, len(raw) - 20):  # past the header and the first entry's type
        raw[position] ^= 0xFF
    pack.chmod(0o600)
    pack.write_bytes(raw)
    return blob


def test_a_bundle_claiming_the_replaced_content_cannot_lose_it(cowsnap: Cowsnap,
                                                               tmp_path: Path) -> None:
    """Restoring from a bundle records its undo run in the bundle: a content the
    bundle's index claims (the victim's current file) but whose pack data is garbage
    must not be taken as kept. The restore refuses, changing nothing."""
    workspace = tmp_path / "ws"
    workspace.mkdir()
    (workspace / "f.txt").write_text("original\n")
    bundle = tmp_path / "bundle"
    cowsnap("run", "--output", str(bundle), "--", "sh", "-c", "echo changed > f.txt",
            cwd=workspace)
    victims = b"the victim's own configuration\n" * 40
    (workspace / "f.txt").write_bytes(victims)
    blob = _claim_with_damaged_data(bundle, victims)
    runs = sorted(path.name for path in (bundle / "runs").iterdir())
    result = cowsnap("restore", "--store", str(bundle), "--workspace", str(workspace),
                     "--force", cwd=workspace, check=False)
    error = one_line_error(result)
    assert blob in error and f"cowsnap check --store {bundle}" in error
    assert (workspace / "f.txt").read_bytes() == victims
    assert sorted(path.name for path in (bundle / "runs").iterdir()) == runs
