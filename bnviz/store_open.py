"""Which run store this server uses (settings: BNVIZ_STORE, BNVIZ_STORE_MB).

The one module that names a backend: above it nothing knows SQLite is underneath.
"""

from __future__ import annotations

from bnviz.store import NullStore, RunStore, log, store_max_bytes, store_path
from bnviz.store_sqlite import SQLiteStore


def open_store() -> RunStore:
    """The configured store; a NullStore when turned off or when its file cannot be opened."""
    path = store_path()
    if path is None:
        return NullStore()
    try:
        return SQLiteStore(path, store_max_bytes())
    except Exception as exc:  # a read-only disk, a directory in the way: run without a store
        log.warning("run store %s unusable (%s); runs will not outlive the server", path, exc)
        return NullStore()
