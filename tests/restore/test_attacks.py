"""Restore as an attacker would have it: an unprivileged user prepares a bundle (or
links a file into a workspace) and root restores it. Whatever the bundle says, every
path outside the workspace restored into stays byte-identical."""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from cowsnap.store.bundle import export_bundle
from cowsnap.store.store import Store
from tests.conftest import Cowsnap
from tests.restore.conftest import Attacker, open_to_all, read_victim

Manifest = dict[str, Any]


def forge(manifest_path: Path, base: Path, attacker: Attacker,
          change: Callable[[Manifest], None]) -> None:
    """The attacker rewrites a bundle's manifest (and its checksum) with `change`."""
    manifest: Manifest = json.loads(manifest_path.read_bytes())
    change(manifest)
    manifest["files"].sort(key=lambda item: item["path"].encode())
    forged = base / "forged.json"
    forged.write_bytes(json.dumps(manifest).encode())
    checksums_path = manifest_path.parent / "checksums.json"
    checksums = json.loads(checksums_path.read_bytes())
    checksums["manifest.json"] = hashlib.sha256(forged.read_bytes()).hexdigest()
    forged_checksums = base / "forged-checksums.json"
    forged_checksums.write_text(json.dumps(checksums))
    for path in (forged, forged_checksums):
        os.chmod(path, 0o644)
    attacker("cp", forged, manifest_path)
    attacker("cp", forged_checksums, checksums_path)


class Scene:
    """A root-owned victim tree, a workspace and a bundle of one run in it
    (`echo changed > f.txt` over `original`), the bundle handed to the attacker."""

    def __init__(self, cowsnap: Cowsnap, base: Path, victim: Path, attacker: Attacker) -> None:
        self.cowsnap = cowsnap
        self.attacker = attacker
        self.base = open_to_all(base)
        self.victim = victim
        for name, text in {"cron.d/job": "0 * * * * root true\n",
                           "bin/tool": "#!/bin/sh\n"}.items():
            (victim / name).parent.mkdir(parents=True, exist_ok=True)
            (victim / name).write_text(text)
        self.victim_before = read_victim(victim)
        self.workspace = base / "ws"
        self.workspace.mkdir()
        (self.workspace / "f.txt").write_text("original\n")
        self.bundle = base / "bundle"
        cowsnap("run", "--output", str(self.bundle), "--", "sh", "-c", "echo changed > f.txt",
                cwd=self.workspace)
        attacker.own(self.bundle)
        (self.manifest_path,) = self.bundle.glob("runs/*/manifest.json")
        self.run_id = self.manifest_path.parent.name

    def manifest(self) -> Manifest:
        loaded: Manifest = json.loads(self.manifest_path.read_bytes())
        return loaded

    def entry(self, manifest: Manifest, name: str) -> dict[str, Any]:
        wanted = f"{self.workspace}/{name}"
        (found,) = [entry for entry in manifest["files"] if entry["path"] == wanted]
        return found

    def tamper(self, change: Callable[[Manifest], None]) -> None:
        """The attacker rewrites the bundle's manifest."""
        forge(self.manifest_path, self.base, self.attacker, change)

    def restore(self, *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[bytes]:
        """Root restores the attacker's bundle the one way cowsnap takes another user's
        store: from root's own copy (`cp -r`: symlinks stay symlinks, and are refused)."""
        copy = self.base / f"bundle-copy-{secrets.token_hex(4)}"
        subprocess.run(["cp", "-r", str(self.bundle), str(copy)], check=True, timeout=60)
        return self.cowsnap("restore", "--store", str(copy), self.run_id, *args,
                            cwd=cwd or self.workspace, check=False)

    def victim_untouched(self) -> bool:
        return read_victim(self.victim) == self.victim_before


@pytest.fixture
def scene(cowsnap: Cowsnap, ext4_dir: Path, tmp_path: Path, attacker: Attacker) -> Scene:
    victim = tmp_path / "victim"
    victim.mkdir()
    return Scene(cowsnap, ext4_dir, victim, attacker)


def _outside_entry(scene: Scene, manifest: Manifest, path: Path) -> dict[str, Any]:
    """An entry saying the run deleted `path` (outside the workspace), whose before-state
    is the bundle's `original` content: undoing it would write that content there."""
    model = scene.entry(manifest, "f.txt")
    return {**model, "path": str(path), "operations": ["delete"], "in_workspace": False,
            "before": {**model["before"], "mode": 0o104755}, "after": {"exists": False}}


def test_entries_outside_the_workspace_are_left_alone(scene: Scene) -> None:
    job = scene.victim / "cron.d" / "job"
    planted = scene.victim / "cron.d" / "planted"
    scene.tamper(lambda manifest: manifest["files"].extend(
        [_outside_entry(scene, manifest, job), _outside_entry(scene, manifest, planted)]))
    dry = scene.restore("--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert f"skip      {job}: recorded outside its workspace".encode() in dry.stdout
    result = scene.restore("--force")
    assert result.returncode == 0, result.stderr
    assert f"left alone: {planted}".encode() in result.stderr
    assert (scene.workspace / "f.txt").read_text() == "original\n"
    assert scene.victim_untouched()


def test_outside_entries_are_restored_only_when_asked(scene: Scene) -> None:
    planted = scene.victim / "planted"
    scene.tamper(lambda manifest: manifest["files"].append(
        _outside_entry(scene, manifest, planted)))
    dry = scene.restore("--dry-run", "--outside")
    assert f"write     {planted}".encode() in dry.stdout
    assert scene.restore("--outside").returncode == 0
    assert planted.read_text() == "original\n"
    assert os.lstat(planted).st_mode & 0o7777 == 0o755, "never a set-id bit from a bundle"


@pytest.mark.parametrize(("workspace", "message"), [
    ("/", b"its recorded workspace / is /: refused"),
    ("/etc", b"its recorded workspace /etc is or lies inside the system directory /etc"),
    ("/usr/lib/cowsnap-test", b"/usr/lib/cowsnap-test is or lies inside the system directory"),
    ("/var", b"its recorded workspace /var holds"),
])
def test_a_system_workspace_is_refused(scene: Scene, workspace: str, message: bytes) -> None:
    def to_system(manifest: Manifest) -> None:
        manifest["workspace"] = workspace
        for entry in manifest["files"]:
            entry["in_workspace"] = entry["path"].startswith(workspace.rstrip("/") + "/")
        entry = scene.entry(manifest, "f.txt")
        entry["path"] = f"{workspace.rstrip('/')}/cowsnap-test-planted"
        entry["in_workspace"] = True

    scene.tamper(to_system)
    result = scene.restore("--force", "--outside")
    assert result.returncode == 1
    assert message in result.stderr
    assert len(result.stderr.splitlines()) == 1
    assert not Path(workspace, "cowsnap-test-planted").exists()
    assert scene.victim_untouched()


def test_a_workspace_holding_the_store_is_refused(scene: Scene) -> None:
    scene.tamper(lambda manifest: manifest.update(warnings=["tampered"]))
    result = scene.restore("--workspace", str(scene.base), cwd=scene.base)
    assert result.returncode == 1
    assert b"its target workspace" in result.stderr and b"holds the store" in result.stderr


def _key_entry(scene: Scene, manifest: Manifest, path: str, in_workspace: bool) -> Manifest:
    """An entry whose undo writes the bundle's `original` as a private file at `path`:
    as an origin key, it would make the attacker's next bundle pass as recorded here."""
    model = scene.entry(manifest, "f.txt")
    return {**model, "path": path, "operations": ["delete"], "in_workspace": in_workspace,
            "before": {**model["before"], "mode": 0o100600}, "after": {"exists": False}}


def test_the_origin_key_is_never_written(scene: Scene) -> None:
    """Neither into a workspace holding the restoring user's origin key directory, nor
    at the key's own path with --outside."""
    state = scene.cowsnap.home / ".local" / "state"
    key = state / "cowsnap" / "origin-key"
    scene.cowsnap("run", "--", "true", cwd=scene.workspace)  # makes the key
    known = key.read_bytes()
    scene.tamper(lambda manifest: manifest["files"].extend([
        _key_entry(scene, manifest, f"{scene.workspace}/cowsnap/origin-key", True),
        _key_entry(scene, manifest, str(key), False)]))
    refused = scene.restore("--force", "--workspace", str(state))
    assert refused.returncode == 1
    assert b"holds cowsnap's origin key directory" in refused.stderr
    outside = scene.restore("--force", "--outside")
    assert b"origin-key: lies inside cowsnap's origin key directory" in outside.stderr
    assert key.read_bytes() == known


def test_paths_are_remapped_into_the_workspace_restored_into(scene: Scene) -> None:
    elsewhere = "/srv/cowsnap-test-elsewhere/project"

    def move(manifest: Manifest) -> None:
        manifest["workspace"] = elsewhere
        for entry in manifest["files"]:
            if entry["in_workspace"]:
                entry["path"] = entry["path"].replace(str(scene.workspace), elsewhere, 1)

    scene.tamper(move)
    target = scene.base / "target"
    target.mkdir()
    (target / "f.txt").write_text("changed\n")
    result = scene.restore(cwd=target)
    assert result.returncode == 0, result.stderr
    assert (target / "f.txt").read_text() == "original\n"
    assert (scene.workspace / "f.txt").read_text() == "changed\n"
    assert not Path(elsewhere).exists()


def _setuid_of_another(manifest: Manifest, scene: Scene) -> None:
    entry = scene.entry(manifest, "f.txt")
    entry["before"].update(mode=0o104755, uid=4321)


def test_no_set_id_bits_and_no_other_owner_from_a_bundle(scene: Scene) -> None:
    scene.tamper(lambda manifest: _setuid_of_another(manifest, scene))
    assert scene.restore().returncode == 0
    info = os.lstat(scene.workspace / "f.txt")
    assert (info.st_mode & 0o7777, info.st_uid) == (0o755, os.geteuid())


def test_same_owner_restores_them_when_asked(scene: Scene) -> None:
    scene.tamper(lambda manifest: _setuid_of_another(manifest, scene))
    assert scene.restore("--same-owner").returncode == 0
    info = os.lstat(scene.workspace / "f.txt")
    assert (info.st_mode & 0o7777, info.st_uid) == (0o4755, 4321)


def test_content_is_never_taken_from_a_repository_the_bundle_names(
        scene: Scene, tmp_path: Path) -> None:
    repository = tmp_path / "secret-repo"
    repository.mkdir()
    (repository / "secret").write_text("root's secret\n")
    subprocess.run(["git", "init", "-q"], cwd=repository, check=True, timeout=30)
    blob = subprocess.run(["git", "hash-object", "-w", "secret"], cwd=repository, check=True,
                          capture_output=True, timeout=30).stdout.decode().strip()

    def point_at_secret(manifest: Manifest) -> None:
        entry = scene.entry(manifest, "f.txt")
        entry["before"].update(blob=blob, blob_source="git", size=len("root's secret\n"))
        entry["git"].update(in_repo=True, root=str(repository), tracked=True)

    scene.tamper(point_at_secret)
    result = scene.restore("--force")
    assert result.returncode == 1
    assert b"is not in the store" in result.stderr
    assert (scene.workspace / "f.txt").read_text() == "changed\n"


@pytest.mark.parametrize(("field", "value"), [
    ("mtime_ns", 10**30), ("uid", -5), ("uid", 2**40), ("size", -1), ("mode", 2**40),
])
def test_impossible_values_are_refused_before_anything_is_written(
        scene: Scene, field: str, value: int) -> None:
    scene.tamper(lambda manifest: scene.entry(manifest, "f.txt")["before"].update(
        {field: value}))
    result = scene.restore("--force")
    assert result.returncode == 1
    assert f"has an impossible {field} {value}".encode() in result.stderr
    assert len(result.stderr.splitlines()) == 1
    assert (scene.workspace / "f.txt").read_text() == "changed\n"
    assert sorted(os.listdir(scene.workspace)) == ["f.txt"]


def test_a_path_of_thousands_of_components_is_no_traceback(scene: Scene) -> None:
    """3,000 components (deeper than PATH_MAX): restore lists the path as not restored,
    and show and diff read the run."""
    def deep(manifest: Manifest) -> None:
        model = scene.entry(manifest, "f.txt")
        manifest["files"].append({**model, "path": str(scene.workspace) + "/a" * 3000,
                                  "operations": ["create", "write"],
                                  "before": {"exists": False}, "after": model["after"]})

    scene.tamper(deep)
    result = scene.restore("--to", "after", "--force")
    assert result.returncode == 1 and b"Traceback" not in result.stderr
    assert b"cannot examine it: File name too long" in result.stderr
    copy = scene.base / "root-copy"
    subprocess.run(["cp", "-r", str(scene.bundle), str(copy)], check=True, timeout=60)
    for command in ("show", "diff"):
        shown = scene.cowsnap(command, "--store", str(copy), scene.run_id, cwd=scene.workspace)
        assert scene.run_id.encode() in shown.stdout or command == "diff"
    assert scene.victim_untouched()


def test_duplicate_paths_are_refused(scene: Scene) -> None:
    scene.tamper(lambda manifest: manifest["files"].append(
        dict(scene.entry(manifest, "f.txt"))))
    result = scene.restore("--force")
    assert result.returncode == 1
    assert b"f.txt' appears twice" in result.stderr
    assert (scene.workspace / "f.txt").read_text() == "changed\n"


def test_a_run_id_other_than_its_directory_is_refused(scene: Scene) -> None:
    scene.tamper(lambda manifest: manifest.update(run_id="20200101T000000Z-000000"))
    result = scene.restore("--force")
    assert result.returncode == 1
    assert b"is not the run it is stored as" in result.stderr
    assert (scene.workspace / "f.txt").read_text() == "changed\n"


def test_a_hard_link_swapped_in_never_gets_the_runs_metadata(
        cowsnap: Cowsnap, ext4_dir: Path, attacker: Attacker) -> None:
    base = open_to_all(ext4_dir)
    workspace = base / "ws"
    workspace.mkdir()
    (workspace / "f.txt").write_text("hers\n")
    attacker.own(workspace)
    victim = base / "victim"
    victim.mkdir()
    (victim / "shared").write_text("hers\n")  # world-writable: the attacker may link it
    os.chmod(victim / "shared", 0o666)
    recorded = os.lstat(workspace / "f.txt").st_mtime_ns
    os.utime(victim / "shared", ns=(recorded, recorded))  # so restore takes it for f.txt
    victim_before = read_victim(victim)
    cowsnap("run", "--", "chmod", "600", "f.txt", cwd=workspace)
    attacker("rm", workspace / "f.txt")
    attacker("ln", victim / "shared", workspace / "f.txt")
    result = cowsnap("restore", "--force", cwd=workspace, check=False)
    assert result.returncode == 1
    assert b"f.txt: it has hard links outside the workspace" in result.stderr
    assert read_victim(victim) == victim_before


def test_hard_links_inside_the_workspace_get_their_metadata_back(
        cowsnap: Cowsnap, ext4_workspace: Path) -> None:
    (ext4_workspace / "a").write_text("shared\n")
    os.chmod(ext4_workspace / "a", 0o644)
    os.link(ext4_workspace / "a", ext4_workspace / "sub-b")
    cowsnap("run", "--", "chmod", "600", "a", cwd=ext4_workspace)
    result = cowsnap("restore", cwd=ext4_workspace)
    assert result.returncode == 0, result.stderr
    assert os.lstat(ext4_workspace / "sub-b").st_mode & 0o777 == 0o644


def test_a_run_recorded_with_another_key_is_confined(cowsnap: Cowsnap, ext4_workspace: Path,
                                                     tmp_path: Path) -> None:
    """Same store, same uid, but not this user's key (another home, another machine):
    the run is untrusted, so what it recorded outside the workspace is left alone."""
    outside = tmp_path / "outside.txt"
    outside.write_text("before\n")
    cowsnap("run", "--", "sh", "-c", f"echo after > {outside}; echo w > w.txt",
            cwd=ext4_workspace)
    (tmp_path / "elsewhere").mkdir()
    elsewhere = Cowsnap(home=tmp_path / "elsewhere", store=cowsnap.store)
    result = elsewhere("restore", cwd=ext4_workspace)
    assert f"left alone: {outside}: recorded outside its workspace".encode() in result.stderr
    assert outside.read_text() == "after\n"
    assert not (ext4_workspace / "w.txt").exists()
    cowsnap("restore", cwd=ext4_workspace)  # its own undo run is trusted: w.txt is back
    assert (ext4_workspace / "w.txt").read_text() == "w\n"


def test_exporting_never_makes_a_run_trusted(scene: Scene, tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(scene.cowsnap.home))  # export with the restorer's key
    monkeypatch.delenv("XDG_STATE_HOME", raising=False)
    scene.tamper(lambda manifest: manifest["files"].append(
        _outside_entry(scene, manifest, scene.victim / "planted")))
    copy = tmp_path / "copy"
    own = tmp_path / "own"
    subprocess.run(["cp", "-r", str(scene.bundle), str(own)], check=True, timeout=60)
    export_bundle(Store.open(own, create=False), scene.run_id, copy)
    result = scene.cowsnap("restore", "--store", str(copy), scene.run_id,
                           cwd=scene.workspace, check=False)
    assert result.returncode == 0, result.stderr
    assert b"left alone" in result.stderr
    assert scene.victim_untouched()


@pytest.mark.parametrize("link", ["directory", "file"])
def test_a_large_content_behind_a_symlink_is_never_read(
        cowsnap: Cowsnap, ext4_dir: Path, tmp_path: Path, attacker: Attacker,
        link: str) -> None:
    """The bundle's `large/` (or the content in it) is a symlink to a root-owned file
    of the right size and name: restore refuses the attacker's bundle, and root's own
    copy of it (`cp -r` keeps the symlink), writing nothing."""
    base = open_to_all(ext4_dir)
    workspace = base / "ws"
    workspace.mkdir()
    (workspace / "big").write_bytes(b"b" * (33 * 1024 * 1024))
    bundle = base / "bundle"
    cowsnap("run", "--output", str(bundle), "--", "rm", "big", cwd=workspace)
    (stored,) = (bundle / "large").iterdir()
    secret_dir = tmp_path / "secret"
    secret_dir.mkdir()
    (secret_dir / stored.name).write_bytes(b"s" * (33 * 1024 * 1024))
    attacker.own(bundle)
    if link == "directory":
        attacker("mv", bundle / "large", bundle / "large.real")
        attacker("ln", "-s", secret_dir, bundle / "large")
    else:
        attacker("ln", "-sf", secret_dir / stored.name, stored)
    run_id = next((bundle / "runs").iterdir()).name
    refused = cowsnap("restore", "--store", str(bundle), run_id, cwd=workspace, check=False)
    assert refused.returncode == 1 and b"it belongs to uid" in refused.stderr
    copy = base / "copy"
    subprocess.run(["cp", "-r", str(bundle), str(copy)], check=True, timeout=60)
    result = cowsnap("restore", "--store", str(copy), run_id, cwd=workspace, check=False)
    assert result.returncode == 1
    assert b"a symlink or a non-directory is on its way" in result.stderr
    assert not (workspace / "big").exists()


def test_a_directory_of_another_owner_comes_back_with_its_owner(
        cowsnap: Cowsnap, ext4_workspace: Path, root_required: None) -> None:
    (ext4_workspace / "theirs").mkdir(mode=0o750)
    (ext4_workspace / "theirs" / "f").write_text("f\n")
    os.chown(ext4_workspace / "theirs", 1234, -1)
    cowsnap("run", "--", "rm", "-r", "theirs", cwd=ext4_workspace)
    result = cowsnap("restore", cwd=ext4_workspace, check=False)
    assert result.returncode == 0, result.stderr
    info = os.lstat(ext4_workspace / "theirs")
    assert (info.st_uid, info.st_mode & 0o777) == (1234, 0o750)


def test_a_bundle_naming_a_files_size_and_time_cannot_hide_its_content(scene: Scene) -> None:
    """The stat rule (same size and mtime: same content) holds only for runs recorded
    here: a bundle recording the size and time the workspace's file has now neither
    skips the conflict check nor makes the restore's undo run forget that content."""
    mine = scene.workspace / "f.txt"
    mine.write_text("secret!\n")  # the size of the bundle's `changed\n`
    now = os.lstat(mine).st_mtime_ns
    scene.tamper(lambda manifest: scene.entry(manifest, "f.txt")["after"].update(mtime_ns=now))
    refused = scene.restore()
    assert refused.returncode == 1
    assert b"f.txt: changed since the run: content differs" in refused.stderr
    assert mine.read_text() == "secret!\n"
    copy = scene.base / "root-copy"
    subprocess.run(["cp", "-r", str(scene.bundle), str(copy)], check=True, timeout=60)
    forced = scene.cowsnap("restore", "--store", str(copy), scene.run_id, "--force", "--json",
                           cwd=scene.workspace)
    assert mine.read_text() == "original\n"
    undo_run = json.loads(forced.stdout)["undo_run"]
    scene.cowsnap("restore", "--store", str(copy), undo_run, cwd=scene.workspace)
    assert mine.read_text() == "secret!\n"


@pytest.mark.parametrize("size", [33 * 1024 * 1024, 12])
def test_a_content_without_a_recorded_size_is_refused(
        cowsnap: Cowsnap, ext4_dir: Path, attacker: Attacker, size: int) -> None:
    """A bundle whose before-state names a content (large, cloned into the store; or
    small, packed) but records no size: one line, nothing written. A large one was
    checked whole and then restored empty where it could not be cloned (ext4)."""
    base = open_to_all(ext4_dir)
    workspace = base / "ws"
    workspace.mkdir()
    (workspace / "kept").write_bytes(b"b" * size)
    bundle = base / "bundle"
    cowsnap("run", "--output", str(bundle), "--", "rm", "kept", cwd=workspace)
    attacker.own(bundle)
    (manifest_path,) = bundle.glob("runs/*/manifest.json")

    def unsized(manifest: Manifest) -> None:
        (entry,) = [entry for entry in manifest["files"] if entry["path"].endswith("/kept")]
        assert entry["before"]["blob"] is not None
        entry["before"]["size"] = None

    forge(manifest_path, base, attacker, unsized)
    copy = base / "copy"
    subprocess.run(["cp", "-r", str(bundle), str(copy)], check=True, timeout=60)
    result = cowsnap("restore", "--store", str(copy), manifest_path.parent.name,
                     cwd=workspace, check=False)
    assert result.returncode == 1
    assert b"before-state names a content but records no size" in result.stderr
    assert len(result.stderr.splitlines()) == 1
    assert os.listdir(workspace) == []
