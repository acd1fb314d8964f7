"""Where runs outlive a server: finished snapshots, checkpoints and claims behind one interface.

Nothing above RunStore may know what is underneath: SQLiteStore (bnviz/store_sqlite.py, chosen
in bnviz/store_open.py) today, a shared Redis when several replicas serve one class. Values
cross the interface as Python objects (snapshots) or opaque bytes (checkpoints);
pack()/unpack() is the one encoding.
"""

from __future__ import annotations

import abc
import logging
import os
import pickle
import threading
import time
import zlib
from collections import OrderedDict
from pathlib import Path
from typing import Any

# Bump when a run's results or the checkpoint layout change: older entries are then never found.
# A stored snapshot of an older layout unpickles with the new fields at their defaults: the
# caviar caption read "trained in 0.0 s" from a sweep stored before busy_s existed
# (tests/test_store.py pins each version's layout).
ENGINE_VERSION = "3"  # 3: sweep snapshots carry busy_s; 2: telemetry rows on one grid
DEFAULT_MAX_MB = 256
COMPRESS_BELOW = 4 << 20  # weights barely compress (-12 % for 3 s at 29 MB, measured): skip big

OFF = ("off", "none", "0", "false", "no", "")
log = logging.getLogger(__name__)


def pack(obj: Any) -> bytes:
    """obj -> pickle, zlib-compressed when small (b"z" + data) or left as is (b"p" + data)."""
    raw = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    if len(raw) < COMPRESS_BELOW:  # snapshots, small-network checkpoints: NaN-padded histories
        return b"z" + zlib.compress(raw, 3)
    return b"p" + raw


def unpack(blob: bytes) -> Any:
    """The object pack() was given (the store is the user's own file: trusted like their code)."""
    head, body = bytes(blob[:1]), memoryview(blob)[1:]
    if head not in (b"z", b"p"):
        raise ValueError("not a packed object")
    return pickle.loads(zlib.decompress(body) if head == b"z" else body)


def versioned(key: str) -> str:
    """A run key as stored: entries of another engine version are invisible."""
    return f"v{ENGINE_VERSION}/{key}"


class RunStore(abc.ABC):
    """Finished snapshots, running checkpoints and who is training what (claims with a TTL)."""

    @abc.abstractmethod
    def get_finished(self, key: str) -> Any | None:
        """The final snapshot of run `key`, or None (counts as a use for LRU)."""

    @abc.abstractmethod
    def put_finished(self, key: str, snapshot: Any) -> None:
        """Keep the final snapshot of run `key` (its checkpoint is no longer needed: dropped)."""

    @abc.abstractmethod
    def checkpoint(self, key: str, blob: bytes) -> None:
        """Keep the latest checkpoint of running run `key` (replaces the previous one)."""

    @abc.abstractmethod
    def resume(self, key: str) -> bytes | None:
        """The latest checkpoint of run `key`, or None."""

    @abc.abstractmethod
    def discard(self, key: str) -> None:
        """Forget run `key`'s checkpoint (stopped, diverged or failed runs)."""

    @abc.abstractmethod
    def claim(self, key: str, owner: str, ttl: float) -> bool:
        """Own run `key` for ttl seconds; True if free, expired or already ours (renews it)."""

    @abc.abstractmethod
    def release(self, key: str, owner: str) -> None:
        """Give up the claim on `key` if `owner` holds it."""

    def finished_count(self) -> int | None:
        """How many finished runs this engine version would find; None if it keeps none."""
        return None

    def close(self) -> None:  # noqa: B027  (optional: most stores hold nothing to close)
        """Let go of files and connections."""


class NullStore(RunStore):
    """The store turned off (BNVIZ_STORE=off): remembers nothing, every claim succeeds."""

    def get_finished(self, key):
        return None

    def put_finished(self, key, snapshot):
        pass

    def checkpoint(self, key, blob):
        pass

    def resume(self, key):
        return None

    def discard(self, key):
        pass

    def claim(self, key, owner, ttl):
        return True

    def release(self, key, owner):
        pass


class MemoryStore(RunStore):
    """One process's store in a dict, bounded in bytes with LRU eviction (tests, one-off tools)."""

    def __init__(self, max_bytes: int = DEFAULT_MAX_MB << 20):
        self.max_bytes = max_bytes
        self._blobs: OrderedDict[tuple[str, str], bytes] = OrderedDict()  # oldest use first
        self._claims: dict[str, tuple[str, float]] = {}
        self._lock = threading.Lock()

    @property
    def nbytes(self) -> int:
        """Bytes held by finished snapshots and checkpoints."""
        return sum(len(b) for b in self._blobs.values())

    def _put(self, kind: str, key: str, blob: bytes) -> None:
        if len(blob) > self.max_bytes:
            return
        with self._lock:
            self._blobs[(kind, versioned(key))] = blob
            self._blobs.move_to_end((kind, versioned(key)))
            while self.nbytes > self.max_bytes:
                self._blobs.popitem(last=False)

    def _get(self, kind: str, key: str) -> bytes | None:
        with self._lock:
            blob = self._blobs.get((kind, versioned(key)))
            if blob is not None:
                self._blobs.move_to_end((kind, versioned(key)))
            return blob

    def get_finished(self, key):
        blob = self._get("finished", key)
        return None if blob is None else unpack(blob)

    def put_finished(self, key, snapshot):
        self._put("finished", key, pack(snapshot))
        self.discard(key)

    def finished_count(self):
        with self._lock:
            mine = versioned("")
            return sum(k == "finished" and key.startswith(mine) for k, key in self._blobs)

    def checkpoint(self, key, blob):
        self._put("checkpoint", key, bytes(blob))

    def resume(self, key):
        return self._get("checkpoint", key)

    def discard(self, key):
        with self._lock:
            self._blobs.pop(("checkpoint", versioned(key)), None)

    def claim(self, key, owner, ttl):
        with self._lock:
            held, until = self._claims.get(key, (owner, 0.0))
            if held != owner and until > time.time():
                return False
            self._claims[key] = (owner, time.time() + ttl)
            return True

    def release(self, key, owner):
        with self._lock:
            if self._claims.get(key, ("",))[0] == owner:
                del self._claims[key]


# ---------------------------------------------------------------------------- settings


def store_path() -> Path | None:
    """BNVIZ_STORE (a file, or 'off'), else $XDG_CACHE_HOME/bnviz/runs.sqlite (~/.cache/...)."""
    value = os.environ.get("BNVIZ_STORE")
    if value is not None:
        return None if value.strip().lower() in OFF else Path(value).expanduser()
    cache = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(cache) / "bnviz" / "runs.sqlite"


def store_max_bytes() -> int:
    """BNVIZ_STORE_MB megabytes (default 256)."""
    try:
        return max(1, int(float(os.environ.get("BNVIZ_STORE_MB", DEFAULT_MAX_MB)))) << 20
    except (ValueError, OverflowError):
        return DEFAULT_MAX_MB << 20
