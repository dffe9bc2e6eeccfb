"""`--output DIR`: one run as a self-contained bundle.

A bundle is itself a store (same layout and version) holding exactly one run
and every content its manifest references, including clean tracked files that
the original store only references by git blob id. Any cowsnap can read it
with `--store DIR`, on any machine. Its run carries this user's origin tag only if
the run it copies did (cowsnap/origin.py): exporting never makes a run trusted.
Every content is verified as it is copied, and each large `large-...` content
carries its seal (the git blob id of its bytes), so a reader can verify every
content of a bundle.
"""

from __future__ import annotations

from pathlib import Path

from cowsnap.errors import StoreError
from cowsnap.store.store import Store


def referenced_contents(store: Store, run_id: str) -> dict[str, str | None]:
    """Each content id the run's manifest references (intermediate versions included),
    with the repository root to fall back to for ids that point into a git repository."""
    found: dict[str, str | None] = {}
    for reference in store.runs.load(run_id).content_references():
        found.setdefault(reference.blob, reference.repository)
    return found


def export_bundle(store: Store, run_id: str, out_dir: Path) -> Store:
    """Write run `run_id` of `store` and its contents as a new store at `out_dir`."""
    if out_dir.exists() and any(out_dir.iterdir()):
        raise StoreError(f"cannot write the bundle: {out_dir} exists and is not empty")
    bundle = Store.open(out_dir, create=True)
    for blob, repository_root in referenced_contents(store, run_id).items():
        if bundle.contents.has(blob):
            continue
        with store.contents.open_large(blob) as large:
            if large is not None:
                bundle.contents.adopt_large(blob, *large)
                continue
        if bundle.contents.put_bytes(store.read(blob, repository_root)) != blob:
            raise StoreError(f"content {blob} is damaged in the store {store.root}")
    manifest, recorded_here = store.runs.load_with_origin(run_id)
    bundle.runs.begin(run_id).publish(manifest, recorded_here=recorded_here)
    return bundle
