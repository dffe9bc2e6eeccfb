"""Git objects and git transport for remotes, through pygit2 (no `git` binary).

Runs travel as ordinary git objects: a scratch bare repository (under the store's
`tmp/`, its object database borrowing the store's through `alternates`) receives
what a push adds or what a fetch brings, so nothing reaches the store itself
before it has been verified. Credentials: the ssh agent, then the usual key
files, for ssh; git credential helpers (`credential.helper` in the user's git
configuration) for http(s); user and password embedded in the URL work too.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import pygit2
from pygit2.enums import CredentialType

from cowsnap.errors import RemoteError
from cowsnap.gitlib.config import isolated_config

BLOB_MODE = pygit2.GIT_FILEMODE_BLOB
TREE_MODE = pygit2.GIT_FILEMODE_TREE


def _describe(error: Exception) -> str:
    text = str(error).strip() or type(error).__name__
    return text.splitlines()[0]


def _credential_helpers() -> list[str]:
    """`credential.helper` values of the user's git configuration, in order."""
    try:
        config = pygit2.Config.get_global_config()
        return [str(value) for value in config.get_multivar("credential.helper")]
    except (OSError, KeyError, pygit2.GitError):
        return []


def _run_helper(helper: str, url: str) -> tuple[str, str] | None:
    """Ask one git credential helper for a user name and password for `url`."""
    if helper.startswith("!"):
        command = ["/bin/sh", "-c", helper[1:] + ' "$@"', helper, "get"]
    elif os.path.isabs(helper.split()[0]):
        command = [*helper.split(), "get"]
    elif shutil.which("git"):
        command = ["git", f"credential-{helper.split()[0]}", *helper.split()[1:], "get"]
    else:
        return None
    parts = urlsplit(url)
    query = (f"protocol={parts.scheme}\nhost={parts.hostname or ''}"
             f"{f':{parts.port}' if parts.port else ''}\npath={parts.path.lstrip('/')}\n\n")
    try:
        answer = subprocess.run(command, input=query.encode(), capture_output=True,
                                timeout=60, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    fields = dict(line.split("=", 1) for line in answer.stdout.decode(errors="replace")
                  .splitlines() if "=" in line)
    if answer.returncode != 0 or "password" not in fields:
        return None
    return fields.get("username", ""), fields["password"]


def _plain_file(entry: pygit2.Object) -> bool:
    """Whether a tree entry is a file written as cowsnap writes them (not a symlink,
    an executable, a submodule or a directory)."""
    return entry.type_str == "blob" and entry.filemode == BLOB_MODE


class _Callbacks(pygit2.RemoteCallbacks):
    """Credentials (each kind tried once), the server's identity, bytes moved, and the
    server's verdict per ref."""

    def __init__(self, url: str) -> None:
        super().__init__()
        self._url = url
        self.rejected: dict[str, str] = {}
        self.pushed_bytes = 0
        self._tried: set[str] = set()

    def credentials(self, url: str, username_from_url: str | None,
                    allowed_types: CredentialType) -> (
                        pygit2.Username | pygit2.UserPass | pygit2.Keypair):
        user = username_from_url or "git"
        if allowed_types & CredentialType.USERNAME and "username" not in self._tried:
            self._tried.add("username")
            return pygit2.Username(user)
        if allowed_types & CredentialType.SSH_KEY:
            if "agent" not in self._tried and os.environ.get("SSH_AUTH_SOCK"):
                self._tried.add("agent")
                return pygit2.KeypairFromAgent(user)
            for name in ("id_ed25519", "id_ecdsa", "id_rsa"):
                private = Path.home() / ".ssh" / name
                if name not in self._tried and private.exists():
                    self._tried.add(name)
                    return pygit2.Keypair(user, f"{private}.pub", str(private), "")
        if allowed_types & CredentialType.USERPASS_PLAINTEXT:
            for helper in _credential_helpers():
                if helper not in self._tried:
                    self._tried.add(helper)
                    found = _run_helper(helper, url)
                    if found is not None:
                        return pygit2.UserPass(*found)
        raise RemoteError(f"{url}: authentication failed (no ssh agent or key, no credential "
                          f"helper gave a password the server accepted)")

    def certificate_check(self, certificate: None, valid: bool, host: bytes) -> bool:
        """Connect only to a server whose identity checks out: an ssh host key listed in
        ~/.ssh/known_hosts, a TLS certificate the system trusts. (pygit2's default
        lets libgit2 accept an unknown or changed ssh host key.)"""
        if not valid:
            name = host.decode(errors="replace")
            raise RemoteError(f"{self._url}: the identity of {name} cannot be verified (an "
                              f"ssh host key not in ~/.ssh/known_hosts or changed, or an "
                              f"untrusted TLS certificate)")
        return True

    def push_update_reference(self, refname: str, message: str | None) -> None:
        if message is not None:
            self.rejected[refname] = message

    def push_transfer_progress(self, objects_pushed: int, total_objects: int,
                               bytes_pushed: int) -> None:
        self.pushed_bytes = max(self.pushed_bytes, bytes_pushed)


@dataclass(frozen=True)
class PushOutcome:
    rejected: Mapping[str, str] = field(default_factory=dict)
    """Refs the server refused to update, with its reason."""
    sent_bytes: int = 0


class GitRepository:
    """A bare repository: a scratch one for a push or fetch, or a local remote read
    directly."""

    def __init__(self, repository: pygit2.Repository) -> None:
        self._repository = repository

    def write_blob(self, data: bytes) -> str:
        return str(self._repository.create_blob(data))

    def write_blob_from_file(self, path: Path) -> str:
        return str(self._repository.create_blob_fromdisk(str(path)))

    def write_tree(self, files: Mapping[str, str]) -> str:
        """A tree holding each `path` ("a/b/c") -> blob id of `files`."""
        return self._tree(sorted((path.split("/"), oid) for path, oid in files.items()))

    def _tree(self, items: list[tuple[list[str], str]]) -> str:
        builder = self._repository.TreeBuilder()
        groups: dict[str, list[tuple[list[str], str]]] = {}
        for parts, oid in items:
            if len(parts) == 1:
                builder.insert(parts[0], pygit2.Oid(hex=oid), BLOB_MODE)
            else:
                groups.setdefault(parts[0], []).append((parts[1:], oid))
        for name, children in groups.items():
            builder.insert(name, pygit2.Oid(hex=self._tree(children)), TREE_MODE)
        return str(builder.write())

    def write_commit(self, tree: str, parents: list[str], message: str, when: int) -> str:
        """A commit with a fixed author and time, so the same run gives the same id."""
        signature = pygit2.Signature("cowsnap", "cowsnap@localhost", when, 0)
        oid = self._repository.create_commit(
            None, signature, signature, message, pygit2.Oid(hex=tree),
            [pygit2.Oid(hex=parent) for parent in parents])
        return str(oid)

    def set_ref(self, name: str, oid: str) -> None:
        self._repository.references.create(name, pygit2.Oid(hex=oid), force=True)

    def commit(self, oid: str) -> tuple[str, list[str]]:
        """The tree and parents of commit `oid`; RemoteError if it is not a commit here."""
        found = self._get(oid)
        if not isinstance(found, pygit2.Commit):
            raise RemoteError(f"object {oid} is not a commit")
        return str(found.tree_id), [str(parent) for parent in found.parent_ids]

    def blob_at(self, tree: str, path: str) -> str | None:
        """The blob at `path` ("a/b/c") in tree `tree`, looked up directly (a hostile
        tree is never walked whole); None if there is no blob there."""
        entry = self._entry_at(tree, path)
        return str(entry.id) if entry is not None and _plain_file(entry) else None

    def blobs_under(self, tree: str, directories: Mapping[str, int]) -> dict[str, str]:
        """Blob id by path of every plain file (not a symlink) exactly `depth` levels
        below each of the `directories` ({name: depth}) of tree `tree`: a bounded walk,
        not a recursive one, whatever a hostile tree holds."""
        found: dict[str, str] = {}
        for name, depth in directories.items():
            level = [(name, self._tree_at(tree, name))]
            for step in range(depth):
                deeper = []
                for prefix, subtree in level:
                    if subtree is None:
                        continue
                    for entry in subtree:
                        path = f"{prefix}/{entry.name}"
                        if step == depth - 1 and _plain_file(entry):
                            found[path] = str(entry.id)
                        elif step < depth - 1 and entry.type_str == "tree":
                            child = self._get(str(entry.id))
                            deeper.append((path, child if isinstance(child, pygit2.Tree)
                                           else None))
                level = deeper
        return found

    def _tree_at(self, tree: str, path: str) -> pygit2.Tree | None:
        entry = self._entry_at(tree, path)
        child = self._get(str(entry.id)) if entry is not None and entry.type_str == "tree" else None
        return child if isinstance(child, pygit2.Tree) else None

    def _entry_at(self, tree: str, path: str) -> pygit2.Object | None:
        """The entry at `path` in tree `tree`, looked up directly; None if there is none.
        RemoteError if `tree` is not a tree."""
        found = self._get(tree)
        if not isinstance(found, pygit2.Tree):
            raise RemoteError(f"object {tree} is not a tree")
        try:
            return found[path]
        except (KeyError, ValueError, pygit2.GitError):
            return None

    def blob_size(self, oid: str) -> int:
        """The size of blob `oid`, from its header (its bytes are not inflated)."""
        try:
            kind, size = self._repository.odb.read_header(pygit2.Oid(hex=oid))
        except (KeyError, ValueError, pygit2.GitError) as error:
            raise RemoteError(f"object {oid} is missing or damaged: {_describe(error)}") from None
        if kind != pygit2.enums.ObjectType.BLOB:
            raise RemoteError(f"object {oid} is not a blob")
        return int(size)

    def read_blob(self, oid: str) -> bytes:
        found = self._get(oid)
        if not isinstance(found, pygit2.Blob):
            raise RemoteError(f"object {oid} is not a blob")
        return bytes(found.data)

    def _get(self, oid: str) -> pygit2.Object:
        try:
            found = self._repository.get(oid)
        except (ValueError, pygit2.GitError) as error:
            raise RemoteError(f"object {oid} is damaged: {_describe(error)}") from None
        if found is None:
            raise RemoteError(f"object {oid} is missing")
        return found

    def list_heads(self, url: str) -> dict[str, str]:
        """Every ref the remote advertises, name -> object id."""
        callbacks = _Callbacks(url)
        try:
            heads = self._repository.remotes.create_anonymous(url).list_heads(callbacks)
        except (pygit2.GitError, OSError) as error:
            raise RemoteError(f"cannot reach the remote {url}: {_describe(error)}") from None
        return {str(head.name): str(head.oid) for head in heads}

    def fetch(self, url: str, refspecs: list[str], *, depth: int = 0) -> int:
        """Fetch `refspecs` from `url`; return the bytes received."""
        callbacks = _Callbacks(url)
        try:
            progress = self._repository.remotes.create_anonymous(url).fetch(
                refspecs, callbacks=callbacks, depth=depth)
        except (pygit2.GitError, OSError) as error:
            raise RemoteError(f"cannot fetch from {url}: {_describe(error)}") from None
        return int(progress.received_bytes)

    def push(self, url: str, specs: list[str]) -> PushOutcome:
        """Push `specs` ("src:dst", ":dst" deletes) to `url`."""
        callbacks = _Callbacks(url)
        try:
            self._repository.remotes.create_anonymous(url).push(specs, callbacks=callbacks)
        except (pygit2.GitError, OSError) as error:
            raise RemoteError(f"cannot push to {url}: {_describe(error)}") from None
        return PushOutcome(rejected=dict(callbacks.rejected), sent_bytes=callbacks.pushed_bytes)


@contextmanager
def scratch_repository(path: Path, alternate: Path | None = None) -> Iterator[GitRepository]:
    """A throw-away bare repository at `path` (which must not exist) whose object
    database also sees `alternate` (the store's objects); removed afterwards."""
    try:
        with isolated_config():
            pygit2.init_repository(str(path), bare=True)
            if alternate is not None:
                (path / "objects" / "info" / "alternates").write_text(f"{alternate}\n")
            repository = pygit2.Repository(str(path))
        yield GitRepository(repository)
    except pygit2.GitError as error:
        raise RemoteError(f"git: {_describe(error)}") from None
    finally:
        shutil.rmtree(path, ignore_errors=True)


def open_local(path: Path) -> GitRepository | None:
    """The repository at local `path`, to read objects from directly (listing a file://
    remote needs no transfer); None if there is none."""
    try:
        with isolated_config():
            return GitRepository(pygit2.Repository(str(path)))
    except (pygit2.GitError, OSError):
        return None
