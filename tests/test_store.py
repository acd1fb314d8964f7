"""The run store: one contract for every backend, LRU bound, bad files, two writing processes."""

import ast
import logging
import sqlite3
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from bnviz import store as store_mod
from bnviz.store import MemoryStore, NullStore, RunStore, store_path
from bnviz.store_open import open_store
from bnviz.store_sqlite import SQLiteStore

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(params=["memory", "sqlite"])
def make(request, tmp_path):
    """A factory of empty stores of one backend, bounded to max_bytes."""
    opened = []

    def build(max_bytes=1 << 20):
        if request.param == "memory":
            s = MemoryStore(max_bytes)
        else:
            s = SQLiteStore(tmp_path / f"{len(opened)}.sqlite", max_bytes)
        opened.append(s)
        return s

    yield build
    for s in opened:
        s.close()


def test_finished_and_checkpoints_round_trip(make):
    s = make()
    value = {"a": np.arange(5.0), "b": "text"}
    assert s.get_finished("k") is None and s.resume("k") is None
    s.checkpoint("k", b"one")
    s.checkpoint("k", b"two")  # the latest replaces the previous
    assert s.resume("k") == b"two"
    s.discard("k")
    assert s.resume("k") is None
    s.checkpoint("k", b"three")
    s.put_finished("k", value)
    back = s.get_finished("k")
    assert back["b"] == "text" and np.array_equal(back["a"], value["a"])
    assert s.resume("k") is None  # a finished run needs no checkpoint


def test_another_engine_version_sees_nothing(make, monkeypatch):
    s = make()
    s.put_finished("k", 1)
    s.checkpoint("k", b"c")
    monkeypatch.setattr(store_mod, "ENGINE_VERSION", "next")
    assert s.get_finished("k") is None and s.resume("k") is None


def test_finished_count_is_of_this_engine_version_s_finished_runs(make, monkeypatch):
    """The home page says how many finished runs the store keeps: a restart does not forget them
    (audit 24: it counted the runs in memory, 0 after a restart)."""
    s = make()
    assert s.finished_count() == 0
    s.put_finished("a", 1)
    s.put_finished("b", 2)
    s.put_finished("b", 3)  # the same run again
    s.checkpoint("c", b"still training")
    assert s.finished_count() == 2
    monkeypatch.setattr(store_mod, "ENGINE_VERSION", "next")
    assert s.finished_count() == 0  # as get_finished, which would find none of them
    assert NullStore().finished_count() is None


def test_bounded_in_bytes_least_recently_used_goes_first(make):
    s = make(max_bytes=3000)
    for i in range(3):
        s.checkpoint(f"k{i}", bytes(900))
    assert s.resume("k0") is not None  # k0 is now the most recently used, k1 the least
    s.checkpoint("k3", bytes(900))
    assert s.nbytes <= 3000
    assert s.resume("k1") is None
    assert all(s.resume(k) is not None for k in ("k0", "k2", "k3"))
    s.checkpoint("huge", bytes(4000))  # larger than the whole store: not kept, nothing evicted
    assert s.resume("huge") is None and s.resume("k0") is not None


def test_claims_exclusive_until_released_or_expired(make):
    s = make()
    assert s.claim("k", "w1", ttl=60)
    assert not s.claim("k", "w2", ttl=60)
    assert s.claim("k", "w1", ttl=60)  # renewing our own claim
    s.release("k", "w2")  # not w2's to release
    assert not s.claim("k", "w2", ttl=60)
    s.release("k", "w1")
    assert s.claim("k", "w2", ttl=0.05)
    time.sleep(0.1)
    assert s.claim("k", "w3", ttl=60)  # w2 stopped renewing (a dead worker): taken over


def test_null_store_remembers_nothing():
    s = NullStore()
    s.put_finished("k", 1)
    s.checkpoint("k", b"c")
    assert s.get_finished("k") is None and s.resume("k") is None and s.claim("k", "a", 1)


def test_path_setting(monkeypatch, tmp_path):
    monkeypatch.delenv("BNVIZ_STORE", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert store_path() == tmp_path / "bnviz" / "runs.sqlite"
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert store_path() == Path.home() / ".cache" / "bnviz" / "runs.sqlite"
    monkeypatch.setenv("BNVIZ_STORE", str(tmp_path / "x.db"))
    s = open_store()
    assert isinstance(s, SQLiteStore) and s.path == tmp_path / "x.db"
    s.close()
    for off in ("off", "OFF", "none", ""):
        monkeypatch.setenv("BNVIZ_STORE", off)
        assert isinstance(open_store(), NullStore)
    monkeypatch.setenv("BNVIZ_STORE", str(tmp_path))  # a directory: unusable, run without
    assert isinstance(open_store(), NullStore)


def test_corrupt_file_is_moved_aside_and_the_store_starts_clean(tmp_path, caplog):
    path = tmp_path / "runs.sqlite"
    path.write_bytes(b"this is not a database" * 500)
    with caplog.at_level(logging.WARNING, logger="bnviz.store"):
        s = SQLiteStore(path, 1 << 20)
    assert "moved aside" in caplog.text
    aside = list(tmp_path.glob("runs.sqlite.corrupt-*"))
    assert len(aside) == 1 and aside[0].read_bytes().startswith(b"this is not")
    s.put_finished("k", 7)
    assert s.get_finished("k") == 7
    s.close()


def test_a_broken_row_is_dropped_not_raised(tmp_path, caplog):
    s = SQLiteStore(tmp_path / "r.sqlite", 1 << 20)
    s.put_finished("k", 1)
    db = sqlite3.connect(tmp_path / "r.sqlite")
    db.execute("UPDATE blobs SET data = x'00ff'")
    db.commit()
    db.close()
    with caplog.at_level(logging.WARNING, logger="bnviz.store"):
        assert s.get_finished("k") is None
    assert "unreadable" in caplog.text and s.nbytes == 0
    s.close()


WRITER = textwrap.dedent(
    """
    import sys
    sys.path.insert(0, {root!r})
    from bnviz.store_sqlite import SQLiteStore
    me, path = sys.argv[1], sys.argv[2]
    s = SQLiteStore(path, 1 << 30)
    won = []
    for i in range(150):
        s.checkpoint(f"shared{{i % 10}}", me.encode() * 2000)
        s.put_finished(f"{{me}}-{{i}}", {{"i": i, "who": me, "pad": bytes(3000)}})
        if s.claim(f"claim{{i}}", me, ttl=600):
            won.append(i)
        assert s.get_finished(f"{{me}}-{{i}}")["i"] == i
    print(",".join(map(str, won)))
    """
)


def test_opens_while_another_process_holds_a_write_lock(tmp_path):
    """Switching a new file to WAL while another connection writes fails at once in SQLite
    (its busy timeout is skipped); the store waits for the lock instead (CI saw this race)."""
    path = tmp_path / "busy.sqlite"
    holder = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    holder.execute("CREATE TABLE other (x)")
    holder.execute("BEGIN IMMEDIATE")
    holder.execute("INSERT INTO other VALUES (1)")
    with pytest.raises(sqlite3.OperationalError, match="locked"):  # SQLite alone: no waiting
        sqlite3.connect(path, timeout=5).execute("PRAGMA journal_mode=WAL")
    release = threading.Timer(0.4, lambda: holder.execute("COMMIT"))
    release.start()
    started = time.monotonic()
    s = SQLiteStore(path, 1 << 20, timeout=5)
    assert time.monotonic() - started >= 0.3  # it waited for the other writer
    s.put_finished("k", 1)
    assert s.get_finished("k") == 1
    s.close()
    release.join()
    holder.close()


def test_two_processes_writing_at_once_do_not_corrupt_it(tmp_path):
    path = tmp_path / "shared.sqlite"
    script = WRITER.format(root=str(ROOT))
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", script, name, str(path)], stdout=subprocess.PIPE, text=True
        )
        for name in ("a", "b")
    ]
    outs = [p.communicate(timeout=120)[0] for p in procs]
    assert [p.returncode for p in procs] == [0, 0]
    won = [set(map(int, filter(None, out.strip().split(",")))) for out in outs]
    assert won[0].isdisjoint(won[1]) and won[0] | won[1] == set(range(150))  # each claim once
    db = sqlite3.connect(path)
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    db.close()
    s = SQLiteStore(path, 1 << 30)
    for me in ("a", "b"):
        assert all(s.get_finished(f"{me}-{i}")["who"] == me for i in range(150))
    assert all(s.resume(f"shared{i}") in (b"a" * 2000, b"b" * 2000) for i in range(10))
    s.close()


def test_nothing_outside_the_sqlite_backend_knows_sqlite():
    """A Redis store must drop in: only store_sqlite.py (and store_open.py) name it."""
    for path in [*ROOT.glob("bnviz/**/*.py"), *ROOT.glob("pages/*.py"), ROOT / "app.py"]:
        if path.name == "store_sqlite.py":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import | ast.ImportFrom):
                names = [a.name for a in node.names] + [getattr(node, "module", None) or ""]
                assert "sqlite3" not in names, path
                if path.name != "store_open.py":
                    assert "bnviz.store_sqlite" not in names, path
    assert issubclass(SQLiteStore, RunStore) and issubclass(MemoryStore, RunStore)


def test_damaged_pages_are_found_at_open(tmp_path, caplog):
    path = tmp_path / "runs.sqlite"
    s = SQLiteStore(path, 1 << 24)
    for i in range(40):
        s.put_finished(f"k{i}", np.random.default_rng(i).bytes(5000))
    s._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    s.close()
    raw = bytearray(path.read_bytes())
    for at in range(4096, len(raw), 4096):  # every page but the header's
        raw[at : at + 200] = bytes(range(200))
    path.write_bytes(raw)
    with caplog.at_level(logging.WARNING, logger="bnviz.store"):
        s = SQLiteStore(path, 1 << 24)
    assert "moved aside" in caplog.text and s.get_finished("k1") is None
    s.close()


def test_pack_compresses_small_objects_and_leaves_big_ones():
    small = {"h": np.full(10_000, np.nan, np.float32)}
    big = {"w": np.random.default_rng(0).standard_normal(2_000_000).astype(np.float32)}
    assert len(store_mod.pack(small)) < small["h"].nbytes / 10
    for obj in (small, big):
        back = store_mod.unpack(store_mod.pack(obj))
        assert back.keys() == obj.keys()
        assert all(np.array_equal(back[k], obj[k], equal_nan=True) for k in obj)
    with pytest.raises(ValueError):
        store_mod.unpack(b"xjunk")


# ENGINE_VERSION -> the fields of the snapshots a store keeps (Snapshot, then SweepSnapshot)
LAYOUTS = {
    "3": (
        ("run_id", "config", "state", "step", "steps", "lr", "steps_per_s", "diverged_at",
         "error", "queue_position", "losses", "evals", "telemetry", "boundary", "taken_at",
         "pace", "first_layer"),
        ("run_id", "state", "step", "steps", "steps_per_s", "taken_at", "error", "configs",
         "eval_step", "train_loss", "test_acc", "final_loss", "final_acc", "model_state",
         "model_step", "diverged_at", "queue_position", "wall_s", "busy_s", "pace", "cores",
         "moves"),
    ),
}  # fmt: skip


def test_a_new_snapshot_field_comes_with_a_new_engine_version():
    """A finished snapshot stored by an older layout unpickles with a new field at its default:
    a caviar sweep stored before busy_s existed said it trained "in 0.0 s". Changing a stored
    snapshot's fields needs a new ENGINE_VERSION (older entries are then never found), and its
    layout recorded here."""
    import dataclasses

    from bnviz.stepper import Snapshot
    from bnviz.sweep import SweepSnapshot

    fields = tuple(tuple(f.name for f in dataclasses.fields(c)) for c in (Snapshot, SweepSnapshot))
    assert LAYOUTS.get(store_mod.ENGINE_VERSION) == fields, "bump ENGINE_VERSION, record the layout"
