"""Sharing runs through git remotes: push, fetch, list (docs/remotes.md)."""
