"""Every failure a user can cause or meet, each with its own message and exit code.

The CLI turns any CowsnapError into one line on stderr and its exit code; nothing
else in the package prints or exits (borg's model).
"""

from __future__ import annotations

EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_CANNOT_EXECUTE = 127


class CowsnapError(Exception):
    """Base of every error cowsnap reports to its user."""

    exit_code: int = EXIT_ERROR

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class UsageError(CowsnapError):
    """The user asked for something that cannot make sense (click's convention: 2)."""

    exit_code = EXIT_USAGE


class WorkspaceError(CowsnapError):
    """The workspace is missing, not a directory, or unusable."""


class StoreError(CowsnapError):
    """The content store cannot be read or written."""


class DiskFullError(StoreError):
    """No space left while writing to the store."""


class RunNotFoundError(CowsnapError):
    """No run matches the given id or prefix."""


class AmbiguousRunError(CowsnapError):
    """A run id prefix matches more than one run."""


class StoreDamagedError(StoreError):
    """`cowsnap check` found damage, prune met a manifest it cannot read (and so
    cannot tell which contents are still referenced), or a store file is damaged or
    was tampered with (a content that does not match its id, a symlink in a store)."""


class CorruptManifestError(StoreError):
    """A manifest does not parse or does not follow its schema."""


class BackendUnavailableError(CowsnapError):
    """The requested snapshot backend cannot work for this workspace."""


class SnapshotError(CowsnapError):
    """Taking, reading or releasing a snapshot failed."""


class TraceError(CowsnapError):
    """The tracer could not start or follow the command."""


class CommandNotFoundError(CowsnapError):
    """The command to run does not exist or cannot be executed."""

    exit_code = EXIT_CANNOT_EXECUTE


class IgnoreConfigError(CowsnapError):
    """The ignore configuration (ignore.json) is malformed or unreadable."""


class ConfigError(CowsnapError):
    """The configuration file (config.toml) is malformed or unreadable."""


class ContentNotFoundError(StoreError):
    """A content a manifest refers to is in neither the store nor its git repository."""


class UnreadableFileError(StoreError):
    """A file whose content should be stored cannot be opened (recorded as not captured)."""


class PathNotInRunError(CowsnapError):
    """The run did not touch the given path."""


class VersionNotFoundError(CowsnapError):
    """The run kept no such intermediate version of the path (or none at all)."""


class RestoreConflictError(CowsnapError):
    """Paths a restore would overwrite changed since the run; nothing was restored.

    `conflicts` lists them as (path, why) so the CLI can show each one, relative to
    `workspace` when it is known.
    """

    def __init__(self, message: str, conflicts: list[tuple[bytes, str]],
                 workspace: str = "") -> None:
        super().__init__(message)
        self.conflicts = conflicts
        self.workspace = workspace


class UntrustedRunError(CowsnapError):
    """A run's manifest or contents fail the checks made before restoring anything
    (a damaged or tampered bundle or store)."""


class RestoreError(CowsnapError):
    """A restore cannot start (for example its workspace cannot be opened safely)."""


class RemoteError(CowsnapError):
    """A remote cannot be reached, refuses a push, or holds something other than a
    sound run (docs/remotes.md)."""


class RestoreInterruptedError(CowsnapError):
    """SIGINT, SIGTERM or SIGHUP stopped a restore; its temporaries were removed. Exit
    status 128+N, as a shell reports a process killed by signal N."""

    def __init__(self, message: str, signal_number: int) -> None:
        super().__init__(message)
        self.signal_number = signal_number
        self.exit_code = 128 + signal_number
