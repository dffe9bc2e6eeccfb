"""Everything cowsnap does through libgit2 (pygit2), and nothing else does.

Modules: `config` (isolation from the user's git configuration), `context` (which
repository holds a path, its status), `objects` (object databases: the store's
and a repository's blobs), `patch` (line diffs), `remote` (git objects and
transport for pushing and fetching runs).
"""
