"""Snapshot backends: preserve a workspace's before-state (btrfs, reflink, copy)."""
