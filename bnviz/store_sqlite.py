"""RunStore on one SQLite file (WAL): several processes may share it; a bad file is moved aside."""

from __future__ import annotations

import getpass
import random
import sqlite3
import threading
import time
from pathlib import Path

from bnviz.store import RunStore, log, pack, unpack, versioned

SCHEMA = """
CREATE TABLE IF NOT EXISTS blobs (
    kind TEXT NOT NULL, key TEXT NOT NULL, data BLOB NOT NULL,
    size INTEGER NOT NULL, used REAL NOT NULL, PRIMARY KEY (kind, key));
CREATE INDEX IF NOT EXISTS blobs_used ON blobs (used);
CREATE TABLE IF NOT EXISTS claims (key TEXT PRIMARY KEY, owner TEXT NOT NULL, until REAL NOT NULL);
"""


class SQLiteStore(RunStore):
    """Blobs (finished snapshots, checkpoints) bounded in bytes by LRU; claims with expiry."""

    def __init__(self, path: str | Path, max_bytes: int, timeout: float = 10.0):
        self.path, self.max_bytes, self.timeout = Path(path), max_bytes, timeout
        self._lock = threading.Lock()  # one connection, shared by the threads of a process
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        try:
            self._db = self._connect()
        except sqlite3.DatabaseError as exc:
            # locked, no permission, a directory in the way: not the file's fault, keep it
            if isinstance(exc, sqlite3.OperationalError) or not self.path.is_file():
                raise
            self._move_aside(exc)
            self._db = self._connect()
        if self.path.stat().st_mode & 0o077 and self.path.owner() == getpass.getuser():
            self.path.chmod(0o600)  # pickles are loaded from it: no one else may write them

    def _connect(self) -> sqlite3.Connection:
        """Open and set up, retrying while another process holds the file.

        SQLite does not wait (its busy timeout is skipped) when switching to WAL needs a lock
        another connection's write transaction holds: two servers starting at once on a new
        file then fail with "database is locked". Retry until the timeout instead.
        """
        deadline = time.monotonic() + self.timeout
        while True:
            try:
                return self._connect_once()
            except sqlite3.OperationalError as exc:
                busy = "locked" in str(exc) or "busy" in str(exc)
                if not busy or time.monotonic() > deadline:
                    raise
                time.sleep(0.02 + 0.05 * random.random())

    def _connect_once(self) -> sqlite3.Connection:
        db = sqlite3.connect(
            self.path, timeout=self.timeout, isolation_level=None, check_same_thread=False
        )
        try:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")  # WAL: durable at checkpoints, never corrupt
            if db.execute("PRAGMA quick_check").fetchone()[0] != "ok":
                raise sqlite3.DatabaseError("quick_check failed")
            db.executescript(SCHEMA)
        except BaseException:
            db.close()
            raise
        return db

    def _move_aside(self, exc: Exception) -> None:
        """Rename the unreadable file (and its -wal/-shm) so the app starts with a clean store."""
        stamp = time.strftime("%Y%m%d-%H%M%S")
        for suffix in ("", "-wal", "-shm"):
            part = Path(f"{self.path}{suffix}")
            if part.exists():
                part.rename(f"{self.path}.corrupt-{stamp}{suffix}")
        log.warning("run store %s unreadable (%s): moved aside, starting clean", self.path, exc)

    def _write(self, fn, *args):
        """Run fn(db, *args) in one write transaction (BEGIN IMMEDIATE: waits, never deadlocks)."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                out = fn(self._db, *args)
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")
            return out

    def _put(self, db: sqlite3.Connection, kind: str, key: str, blob: bytes) -> None:
        db.execute(
            "INSERT OR REPLACE INTO blobs VALUES (?, ?, ?, ?, ?)",
            (kind, key, blob, len(blob), time.time()),
        )
        total = db.execute("SELECT COALESCE(SUM(size), 0) FROM blobs").fetchone()[0]
        if total <= self.max_bytes:
            return
        rows = db.execute("SELECT kind, key, size FROM blobs ORDER BY used, rowid").fetchall()
        for old_kind, old_key, size in rows:  # least recently used first
            if total <= self.max_bytes:
                break
            if (old_kind, old_key) != (kind, key):
                db.execute("DELETE FROM blobs WHERE kind = ? AND key = ?", (old_kind, old_key))
                total -= size

    def _get(self, kind: str, key: str) -> bytes | None:
        where = (kind, versioned(key))

        def read(db):
            row = db.execute("SELECT data FROM blobs WHERE kind = ? AND key = ?", where).fetchone()
            if row is not None:
                db.execute(
                    "UPDATE blobs SET used = ? WHERE kind = ? AND key = ?", (time.time(), *where)
                )
            return None if row is None else bytes(row[0])

        return self._write(read)

    @property
    def nbytes(self) -> int:
        """Bytes held by finished snapshots and checkpoints (all engine versions)."""
        with self._lock:
            return self._db.execute("SELECT COALESCE(SUM(size), 0) FROM blobs").fetchone()[0]

    def get_finished(self, key):
        blob = self._get("finished", key)
        if blob is None:
            return None
        try:
            return unpack(blob)
        except Exception as exc:  # a row from a broken writer: forget it, train again
            log.warning("finished run %s unreadable (%s): dropped", key, exc)
            drop = "DELETE FROM blobs WHERE kind = 'finished' AND key = ?"
            self._write(lambda db: db.execute(drop, (versioned(key),)))
            return None

    def put_finished(self, key, snapshot):
        blob = pack(snapshot)
        if len(blob) > self.max_bytes:
            return

        def put(db):
            self._put(db, "finished", versioned(key), blob)
            db.execute("DELETE FROM blobs WHERE kind = 'checkpoint' AND key = ?", (versioned(key),))

        self._write(put)

    def finished_count(self):
        prefix = versioned("")
        query = "SELECT COUNT(*) FROM blobs WHERE kind = 'finished' AND substr(key, 1, ?) = ?"
        with self._lock:
            return self._db.execute(query, (len(prefix), prefix)).fetchone()[0]

    def checkpoint(self, key, blob):
        if len(blob) <= self.max_bytes:
            self._write(self._put, "checkpoint", versioned(key), bytes(blob))

    def resume(self, key):
        return self._get("checkpoint", key)

    def discard(self, key):
        self._write(
            lambda db: db.execute(
                "DELETE FROM blobs WHERE kind = 'checkpoint' AND key = ?", (versioned(key),)
            )
        )

    def claim(self, key, owner, ttl):
        def take(db):
            row = db.execute("SELECT owner, until FROM claims WHERE key = ?", (key,)).fetchone()
            now = time.time()
            if row is not None and row[0] != owner and row[1] > now:
                return False
            db.execute("INSERT OR REPLACE INTO claims VALUES (?, ?, ?)", (key, owner, now + ttl))
            return True

        return self._write(take)

    def release(self, key, owner):
        self._write(
            lambda db: db.execute("DELETE FROM claims WHERE key = ? AND owner = ?", (key, owner))
        )

    def close(self):
        with self._lock:
            self._db.close()
