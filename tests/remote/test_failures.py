"""Remotes that refuse, drop the connection, hold damaged objects or want a password:
one clear line, exit 1, and nothing half-recorded locally."""

from __future__ import annotations

import json
import os
import subprocess
import time
import zlib
from pathlib import Path

import pytest

from cowsnap.store.store import Store
from tests.conftest import Cowsnap
from tests.memory import run_python
from tests.remote.conftest import Server, daemon_server, http_server, make_bare, ssh_server
from tests.remote.synthetic import publish_run

CONTENT = b"the content a remote will damage\n" * 40


def _record(cowsnap: Cowsnap, workspace: Path) -> str:
    workspace.mkdir(exist_ok=True)
    (workspace / "payload").write_bytes(CONTENT)
    cowsnap("run", "--", "sh", "-c", "cat payload > copy; echo x >> payload", cwd=workspace)
    return str(json.loads(cowsnap("log", "--json", cwd=workspace).stdout)[0]["run_id"])


def _laptop(tmp_path: Path) -> Cowsnap:
    laptop = Cowsnap(home=tmp_path / "laptop", store=tmp_path / "laptop-store")
    laptop.home.mkdir()
    return laptop


def _one_line_error(result: subprocess.CompletedProcess[bytes], *words: str) -> str:
    assert result.returncode == 1, result.stderr
    error = result.stderr.decode()
    assert b"Traceback" not in result.stderr
    assert error.startswith("cowsnap: error: ") and error.count("\n") == 1, error
    for word in words:
        assert word in error, error
    return error


def _refs(repository: Path) -> list[str]:
    return subprocess.run(["git", "--git-dir", str(repository), "for-each-ref"],
                          capture_output=True, text=True, check=True).stdout.split()


def _nothing_fetched(laptop: Cowsnap) -> None:
    runs = laptop.store / "runs"
    assert not runs.exists() or not any(runs.iterdir())
    assert not any((laptop.store / "incomplete").iterdir())
    assert not any((laptop.store / "tmp").iterdir())


def test_a_remote_that_refuses_the_push(cowsnap: Cowsnap, tmp_path: Path) -> None:
    run_id = _record(cowsnap, tmp_path / "workspace")
    base = tmp_path / "served"
    base.mkdir()
    for server in daemon_server(base, "runs.git"):
        hook = server.repository / "hooks" / "pre-receive"
        hook.write_text("#!/bin/sh\necho 'runs are frozen' >&2\nexit 1\n")
        hook.chmod(0o755)
        result = cowsnap("push", server.url, "--json", cwd=tmp_path / "workspace", check=False)
        _one_line_error(result, "refused 1 of 1 runs", run_id)
        [run] = json.loads(result.stdout)["runs"]
        assert run["status"] == "rejected" and run["reason"]
        assert _refs(server.repository) == []
    assert not any((cowsnap.store / "tmp").iterdir())


def test_a_connection_dropped_mid_push(cowsnap: Cowsnap, tmp_path: Path) -> None:
    _record(cowsnap, tmp_path / "workspace")
    base = tmp_path / "served"
    base.mkdir()
    for server in http_server(base, "runs.git", "--drop-push"):
        result = cowsnap("push", server.url, cwd=tmp_path / "workspace", check=False)
        _one_line_error(result, "cannot push to", server.url)
        assert _refs(server.repository) == []
    assert not any((cowsnap.store / "tmp").iterdir())


def test_a_connection_dropped_mid_fetch(cowsnap: Cowsnap, tmp_path: Path) -> None:
    base = tmp_path / "served"
    base.mkdir()
    repository = make_bare(base / "runs.git")
    _record(cowsnap, tmp_path / "workspace")
    cowsnap("push", str(repository), cwd=tmp_path / "workspace")
    laptop = _laptop(tmp_path)
    for server in http_server(base, "runs.git", "--drop-fetch"):
        result = laptop("fetch", server.url, cwd=tmp_path, check=False)
        _one_line_error(result, "cannot fetch from", server.url)
    _nothing_fetched(laptop)


def _damage(repository: Path, blob: str) -> None:
    """Replace the loose object `blob` by a well-formed object of other bytes."""
    loose = repository / "objects" / blob[:2] / blob[2:]
    assert loose.exists()
    loose.chmod(0o644)
    other = b"x" + CONTENT[1:]
    loose.write_bytes(zlib.compress(b"blob %d\x00" % len(other) + other))


def test_a_remote_holding_a_damaged_object(cowsnap: Cowsnap, tmp_path: Path) -> None:
    run_id = _record(cowsnap, tmp_path / "workspace")
    manifest = json.loads(cowsnap("show", run_id, "--json", cwd=tmp_path).stdout)
    copy = next(entry for entry in manifest["files"] if entry["path"].endswith("/copy"))
    base = tmp_path / "served"
    base.mkdir()
    laptop = _laptop(tmp_path)
    for server in daemon_server(base, "runs.git"):
        cowsnap("push", server.url, cwd=tmp_path / "workspace")
        _damage(server.repository, copy["after"]["blob"])
        checked = laptop("check", "--remote", server.url, "--json", cwd=tmp_path, check=False)
        assert checked.returncode == 1
        assert [item["run_id"] for item in json.loads(checked.stdout)["problems"]] == [run_id]
        _one_line_error(laptop("fetch", server.url, cwd=tmp_path, check=False), run_id)
        _nothing_fetched(laptop)
        local = laptop("fetch", f"file://{server.repository}", cwd=tmp_path, check=False)
        _one_line_error(local)
        _nothing_fetched(laptop)


def test_credentials_from_a_git_credential_helper(cowsnap: Cowsnap, tmp_path: Path) -> None:
    run_id = _record(cowsnap, tmp_path / "workspace")
    base = tmp_path / "served"
    base.mkdir()
    for server in http_server(base, "runs.git", "--user", "runner:s3cret"):
        refused = cowsnap("push", server.url, cwd=tmp_path / "workspace", check=False)
        _one_line_error(refused, "authentication")
        (cowsnap.home / ".gitconfig").write_text(
            "[credential]\n\thelper = \"!f() { test \\\"$1\\\" = get && "
            "echo username=runner && echo password=s3cret; }; f\"\n")
        cowsnap("push", server.url, cwd=tmp_path / "workspace")
        assert _refs(server.repository)[2].endswith(run_id)


def test_a_content_far_larger_than_recorded_is_refused(cowsnap: Cowsnap,
                                                      tmp_path: Path) -> None:
    """A decompression bomb: a few kB on the wire, far more than the manifest says."""
    store = Store.open(cowsnap.store)
    run_id = publish_run(store, tmp_path / "w", 0, bytes(8 * 1024 * 1024), recorded_size=10)
    remote = make_bare(tmp_path / "runs.git")
    cowsnap("push", str(remote), run_id, cwd=tmp_path)
    laptop = _laptop(tmp_path)
    _one_line_error(laptop("fetch", str(remote), cwd=tmp_path, check=False),
                    "holds 8388608 bytes, its manifest says 10")
    _nothing_fetched(laptop)


def test_ssh_with_the_agent_and_only_to_a_known_host(cowsnap: Cowsnap, tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """ssh: a host key unknown or changed is refused before anything is sent; a key in
    the ssh agent is used; no key at all is one line."""
    run_id = _record(cowsnap, tmp_path / "workspace")
    base = tmp_path / "served"
    base.mkdir()
    for server in ssh_server(base, "runs.git"):
        home_ssh = cowsnap.home / ".ssh"
        client = {name: data for name, data in server.client_files.items()
                  if name != "known_hosts"}
        Server(server.url, server.repository, client).admit(cowsnap.home)
        unknown = cowsnap("push", server.url, cwd=tmp_path / "workspace", check=False)
        _one_line_error(unknown, "cannot be verified", server.url)
        port = server.url.split(":")[2].split("/")[0]
        (home_ssh / "known_hosts").write_bytes(
            f"[127.0.0.1]:{port} ".encode() + server.client_files["id_ed25519.pub"])
        changed = cowsnap("push", server.url, cwd=tmp_path / "workspace", check=False)
        _one_line_error(changed, "cannot be verified")
        assert _refs(server.repository) == []

        (home_ssh / "known_hosts").write_bytes(server.client_files["known_hosts"])
        for name in ("id_ed25519", "id_ed25519.pub"):
            (home_ssh / name).unlink()
        _one_line_error(cowsnap("push", server.url, cwd=tmp_path / "workspace", check=False),
                        "authentication failed")
        socket_path = tmp_path / "agent.sock"
        agent = subprocess.Popen(["ssh-agent", "-D", "-a", str(socket_path)],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            while not socket_path.exists() and agent.poll() is None:
                time.sleep(0.05)
            key = tmp_path / "agent-key"
            key.write_bytes(server.client_files["id_ed25519"])
            key.chmod(0o600)
            monkeypatch.setenv("SSH_AUTH_SOCK", str(socket_path))
            subprocess.run(["ssh-add", "-q", str(key)], check=True, capture_output=True)
            cowsnap("push", server.url, cwd=tmp_path / "workspace")
        finally:
            agent.terminate()
            agent.wait(timeout=10)
        assert _refs(server.repository)[2].endswith(run_id)


def test_a_content_over_the_fetch_cap_is_refused_before_it_is_read(
        cowsnap: Cowsnap, tmp_path: Path) -> None:
    """A decompression bomb that records its true size: 256 MiB of zeros, a few hundred
    kB on the wire. Over the cap (the remote's max_content, else 50 MiB, as for push),
    the run is refused from the blob's header, in bounded memory. (Served by git
    daemon: from a local path, libgit2 packs the objects in this process.)"""
    store = Store.open(cowsnap.store)
    run_id = publish_run(store, tmp_path / "w", 0, bytes(256 << 20))
    base = tmp_path / "served"
    base.mkdir()
    laptop = _laptop(tmp_path)
    for server in daemon_server(base, "runs.git"):
        cowsnap("push", "--max-content", "1G", server.url, run_id, cwd=tmp_path)
        process, peak = run_python(["-m", "cowsnap", "fetch", server.url],
                                   tmp_path / "peak", cwd=tmp_path, env=laptop.env(),
                                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        stderr = process.stderr
        assert process.returncode == 1
        assert b"holds 268435456 bytes, more than the fetch cap 50.0 MiB" in stderr, stderr
        assert stderr.count(b"\n") == 1
        assert peak < 200 * 1024, f"{peak} KiB"
    _nothing_fetched(laptop)


def test_max_content_sets_the_fetch_cap(cowsnap: Cowsnap, tmp_path: Path) -> None:
    store = Store.open(cowsnap.store)
    run_id = publish_run(store, tmp_path / "w", 0, os.urandom(2 << 20))
    remote = make_bare(tmp_path / "runs.git")
    cowsnap("push", str(remote), run_id, cwd=tmp_path)
    laptop = _laptop(tmp_path)
    _one_line_error(laptop("fetch", "--max-content", "1M", str(remote), cwd=tmp_path,
                           check=False), "more than the fetch cap 1.0 MiB")
    _nothing_fetched(laptop)
    assert laptop("fetch", str(remote), cwd=tmp_path).returncode == 0
    assert laptop("check", cwd=tmp_path).returncode == 0
