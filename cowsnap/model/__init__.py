"""cowsnap's vocabulary, free of any dependency: the operations a run performs, a path's
state, a manifest entry, the manifest and its JSON form, and what changed between two
states (`compare`) with the status letters it prints as. Every other part of cowsnap
(trace, record, store, restore, diff, the CLI) speaks these types."""

from cowsnap.model.changes import (
    METADATA,
    UNCHANGED,
    Aspect,
    Change,
    compare,
    effect_counts,
    entry_change,
    explain,
    same_content,
    status_code,
    status_letters,
)
from cowsnap.model.encoding import (
    dump_manifest,
    encode_bytes,
    load_manifest,
    manifest_chunks,
    manifest_from_dict,
    manifest_to_dict,
    state_to_json,
    version_to_dict,
)
from cowsnap.model.entry import (
    NOT_IN_REPO,
    SCHEMA,
    FileEntry,
    GitInfo,
    GitRepository,
    Manifest,
    Trigger,
    Version,
)
from cowsnap.model.operations import (
    CHANGES_CONTENT,
    MUTATING_OPERATIONS,
    PROBES,
    PRODUCES_CONTENT,
    Operation,
    sort_operations,
)
from cowsnap.model.state import (
    ABSENT,
    CREATED_AND_DELETED,
    SPECIAL_FILE,
    SYSTEM_FILE,
    TOO_LARGE,
    UNKNOWN_BEFORE,
    UNREADABLE,
    BlobSource,
    FileState,
    FileType,
    Xattrs,
    file_type,
    is_hash_id,
    stored,
)

__all__ = [
    "ABSENT", "CHANGES_CONTENT", "CREATED_AND_DELETED", "METADATA", "MUTATING_OPERATIONS",
    "NOT_IN_REPO", "PROBES", "PRODUCES_CONTENT", "SCHEMA", "SPECIAL_FILE", "SYSTEM_FILE",
    "TOO_LARGE", "UNCHANGED", "UNKNOWN_BEFORE", "UNREADABLE", "Aspect", "BlobSource",
    "Change", "FileEntry", "FileState", "FileType", "GitInfo", "GitRepository", "Manifest",
    "Operation", "Trigger", "Version", "Xattrs", "compare", "dump_manifest",
    "effect_counts", "encode_bytes", "entry_change", "explain", "file_type", "is_hash_id",
    "load_manifest", "manifest_chunks", "manifest_from_dict", "manifest_to_dict",
    "same_content", "sort_operations", "state_to_json", "status_code", "status_letters",
    "stored", "version_to_dict",
]
