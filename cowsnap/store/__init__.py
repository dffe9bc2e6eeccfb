"""The content store: contents, run manifests, locking, retention and checking."""
