"""The background scheduler: workers, runs shared by config, quotas, controls, snapshots.

Runs train in worker *processes* by default: tiny-net training holds the GIL, so threads in
one process cannot use a second core (bench/scaling.py measures both backends).
"""

from __future__ import annotations

import atexit
import contextlib
import dataclasses
import itertools
import multiprocessing as mp
import os
import queue
import sys
import threading
import time
import types
from collections import OrderedDict
from dataclasses import dataclass, field

from bnviz.config import RunConfig
from bnviz.stepper import TERMINAL, Snapshot, train_sync, worker_main

__all__ = ["Busy", "Quotas", "Run", "Scheduler", "Snapshot", "train_sync"]


@dataclass(frozen=True)
class Quotas:
    """Limits that keep a classroom server responsive (measured: ≤ 8 running at once)."""

    max_running: int = 8  # more than this queue up (30 uncapped runs: p50 latency 2.5 s)
    max_per_session: int = 4  # open runs (queued, running, paused) one browser tab may hold
    max_runs: int = 64  # open runs on the server; past it new runs are refused
    keep_finished: int = 64  # snapshots of ended runs kept for late-comers (LRU)
    idle_pause_s: float = 20.0  # a running run nobody polled for this long is paused
    idle_drop_s: float = 600.0  # an open run nobody polled for this long is dropped
    orphan_drop_s: float = 120.0  # sooner for a run no tab watches (settings changed, tab closed)


class Busy(RuntimeError):
    """A refused request: `reason` is an i18n key, `args` its format values."""

    def __init__(self, reason: str, **values: object):
        super().__init__(reason)
        self.reason, self.values = reason, values


@dataclass
class Run:
    """The scheduler's record of one run (the training itself lives in a worker)."""

    run_id: str
    cfg: RunConfig
    steps: int
    snapshot: Snapshot
    worker: int | None = None
    sessions: set[str] = field(default_factory=set)
    last_poll: float = field(default_factory=time.monotonic)
    shared: bool = True  # False once someone changed its learning rate by hand
    auto_paused: bool = False
    pace: float | None = None  # steps/s cap sent to the worker with the start

    @property
    def state(self) -> str:
        """queued, running, paused, or a TERMINAL state."""
        return self.snapshot.state

    @property
    def open(self) -> bool:
        """Still holds a place (not ended)."""
        return self.state not in TERMINAL


@contextlib.contextmanager
def _plain_main():
    """Hide the __main__ module while spawning, so workers never re-run it.

    Streamlit runs app.py as __main__; a spawned child would import it again (and start a
    scheduler of its own). Workers only need bnviz, which they import by name.
    """
    main = sys.modules.get("__main__")
    sys.modules["__main__"] = types.ModuleType("__main__")
    try:
        yield
    finally:
        if main is not None:
            sys.modules["__main__"] = main


class Scheduler:
    """One per process (held with st.cache_resource): owns the workers and every run."""

    def __init__(
        self,
        workers: int | None = None,
        backend: str = "process",
        quotas: Quotas = Quotas(),
        slice_s: float = 0.05,
        snapshot_s: float = 0.4,
        warm: bool = True,
    ):
        self.quotas = quotas
        self.backend = backend
        self.n_workers = workers or os.cpu_count() or 1
        self.runs: dict[str, Run] = {}
        self.shared: dict[str, str] = {}  # config key -> run_id of the shareable run
        self.slots: dict[tuple[str, str], str] = {}  # (session, slot) -> run_id
        self.ended: OrderedDict[str, None] = OrderedDict()  # LRU of ended run ids
        self.waiting: list[str] = []
        self._ids = itertools.count()
        self._lock = threading.RLock()
        self._closed = threading.Event()
        self._start_workers(slice_s, snapshot_s, warm)
        self._threads = [
            threading.Thread(target=self._collect, name="bnviz-collector", daemon=True),
            threading.Thread(target=self._reap, name="bnviz-reaper", daemon=True),
        ]
        for th in self._threads:
            th.start()
        atexit.register(self.shutdown)

    # ------------------------------------------------------------------ workers

    def _start_workers(self, slice_s: float, snapshot_s: float, warm: bool) -> None:
        if self.backend == "process":
            ctx = mp.get_context("spawn")  # fork is unsafe with the server's threads
            self.outbox = ctx.Queue()
            self.inboxes = [ctx.Queue() for _ in range(self.n_workers)]
            make = ctx.Process
        else:
            self.outbox = queue.Queue()
            self.inboxes = [queue.Queue() for _ in range(self.n_workers)]
            make = threading.Thread
        self.workers = [
            make(
                target=worker_main,
                args=(box, self.outbox, slice_s, snapshot_s, warm),
                name=f"bnviz-worker-{i}",
                daemon=True,
            )
            for i, box in enumerate(self.inboxes)
        ]
        with _plain_main() if self.backend == "process" else contextlib.nullcontext():
            for w in self.workers:
                w.start()

    def _send(self, run: Run, *msg: object) -> None:
        if run.worker is not None:
            self.inboxes[run.worker].put((msg[0], run.run_id, *msg[1:]))

    def _collect(self) -> None:
        """Take snapshots from the workers (the only writer of Run.snapshot after start)."""
        while not self._closed.is_set():
            try:
                verb, run_id, snap = self.outbox.get(timeout=0.25)
            except (queue.Empty, OSError, EOFError, ValueError):
                continue
            if verb != "snap":
                continue
            with self._lock:
                run = self.runs.get(run_id)
                if run is None or run.worker is None:
                    continue
                run.snapshot = snap
                if snap.done:
                    self._ended(run)
                elif self.waiting:
                    self._dispatch()

    def _ended(self, run: Run) -> None:
        """An ended run frees its place; its snapshot stays in a bounded LRU."""
        run.worker = None
        self.ended[run.run_id] = None
        while len(self.ended) > self.quotas.keep_finished:
            old, _ = self.ended.popitem(last=False)
            self._forget(old)
        self._dispatch()

    def _forget(self, run_id: str) -> None:
        run = self.runs.pop(run_id, None)
        if run is not None and self.shared.get(run.cfg.key()) == run_id:
            del self.shared[run.cfg.key()]
        self.ended.pop(run_id, None)
        if run_id in self.waiting:
            self.waiting.remove(run_id)

    # ------------------------------------------------------------------ placement

    def _running(self) -> int:
        return sum(1 for r in self.runs.values() if r.state == "running")

    def _dispatch(self) -> None:
        """Start queued runs while there is room, on the least loaded worker."""
        while self.waiting and self._running() < self.quotas.max_running:
            run = self.runs[self.waiting.pop(0)]
            if run.worker is not None:  # a paused run waiting to resume
                self._send(run, "resume")
            else:
                loads = [0] * self.n_workers
                for r in self.runs.values():
                    if r.worker is not None and r.open:
                        loads[r.worker] += 1
                run.worker = loads.index(min(loads))
                self._send(run, "start", run.cfg, run.steps)
                if run.pace:
                    self._send(run, "pace", run.pace)
            run.snapshot = dataclasses.replace(run.snapshot, state="running", queue_position=None)

    def _enqueue(self, run: Run) -> None:
        run.snapshot = dataclasses.replace(run.snapshot, state="queued")
        self.waiting.append(run.run_id)
        self._dispatch()

    # ------------------------------------------------------------------ public API

    def find(self, cfg: RunConfig, session: str, slot: str) -> Run | None:
        """The run this session watches in `slot` for cfg, or the shared run of cfg."""
        with self._lock:
            run = self.runs.get(self.slots.get((session, slot), ""))
            if run is None or run.cfg.key() != cfg.key():
                run = self.runs.get(self.shared.get(cfg.key(), ""))
            if run is not None:
                self._attach(run, session, slot)
            return run

    def start(self, cfg: RunConfig, session: str, slot: str, steps: int | None = None) -> Run:
        """Get the shared run of cfg (started if new), watched by session in slot; or Busy."""
        with self._lock:
            run = self.find(cfg, session, slot)
            if run is not None and (run.open or run.snapshot.state == "finished"):
                return run
            mine = [r for r in self.runs.values() if session in r.sessions and r.open]
            if len(mine) >= self.quotas.max_per_session:
                raise Busy("errors.session_quota", limit=self.quotas.max_per_session)
            if sum(1 for r in self.runs.values() if r.open) >= self.quotas.max_runs:
                self._drop_orphans()
            if sum(1 for r in self.runs.values() if r.open) >= self.quotas.max_runs:
                raise Busy("errors.server_busy")
            run_id = f"{cfg.key()}-{next(self._ids)}"
            total = steps if steps is not None else cfg.steps
            run = Run(run_id, cfg, total, Snapshot(run_id, cfg, "queued", steps=total))
            self.runs[run_id] = run
            self.shared[cfg.key()] = run_id
            self._attach(run, session, slot)
            self._enqueue(run)
            return run

    def _attach(self, run: Run, session: str, slot: str) -> None:
        old = self.runs.get(self.slots.get((session, slot), ""))
        if old is not None and old is not run:
            self._detach(old, session)
        self.slots[(session, slot)] = run.run_id
        run.sessions.add(session)
        run.last_poll = time.monotonic()

    def _detach(self, run: Run, session: str) -> None:
        run.sessions.discard(session)
        if not run.sessions and run.state == "running":
            self._send(run, "pause")  # nobody watches it any more
            run.auto_paused = True

    def poll(self, run_id: str) -> Snapshot | None:
        """The latest snapshot (marks the run as watched; resumes it if it was idle-paused)."""
        with self._lock:
            run = self.runs.get(run_id)
            if run is None:
                return None
            run.last_poll = time.monotonic()
            if run.auto_paused and run.state == "paused":
                run.auto_paused = False
                self._send(run, "resume")
            snap = run.snapshot
            if snap.state == "queued" and run_id in self.waiting:
                return dataclasses.replace(snap, queue_position=self.waiting.index(run_id) + 1)
            return snap

    def control(self, run_id: str, action: str, value: float | int | None = None) -> None:
        """pause, resume, stop, step (value = steps), lr (value = new learning rate)."""
        with self._lock:
            run = self.runs.get(run_id)
            if run is None or not run.open:
                return
            run.auto_paused = False
            if action == "pace":
                run.pace = value
            if action == "lr":
                run.shared = False  # a hand-steered run is no longer the config's run
                if self.shared.get(run.cfg.key()) == run_id:
                    del self.shared[run.cfg.key()]
            if run.state == "queued" and action in ("pause", "stop"):
                self.waiting.remove(run_id)
                state = "paused" if action == "pause" else "stopped"
                run.snapshot = dataclasses.replace(run.snapshot, state=state)
                return
            full = self._running() >= self.quotas.max_running
            if action == "resume" and run.state == "paused" and (run.worker is None or full):
                self._enqueue(run)  # never started, or no room now: wait in line
                return
            self._send(run, action, *(() if value is None else (value,)))

    def reset(self, run_id: str, session: str, slot: str) -> Run | None:
        """Drop the run and start its config again from step 0."""
        with self._lock:
            run = self.runs.get(run_id)
            if run is None:
                return None
            self._send(run, "drop")
            self._forget(run_id)
            return self.start(run.cfg, session, slot, run.steps)

    def release(self, session: str) -> None:
        """A tab closed: it watches nothing any more (non-blocking; safe on the event loop)."""
        with self._lock:
            for key in [k for k in self.slots if k[0] == session]:
                run = self.runs.get(self.slots.pop(key))
                if run is not None:
                    self._detach(run, session)

    def leave(self, session: str, slot: str) -> None:
        """A tab stopped showing a slot (another view): its run no longer counts as the tab's."""
        with self._lock:
            run = self.runs.get(self.slots.pop((session, slot), ""))
            if run is not None and run.run_id not in {
                r for (s, _), r in self.slots.items() if s == session
            }:
                self._detach(run, session)

    def _drop_after(self, run: Run) -> float:
        """Seconds without a poll before an open run is dropped (sooner when no tab has it)."""
        return self.quotas.orphan_drop_s if not run.sessions else self.quotas.idle_drop_s

    def _drop(self, run: Run) -> None:
        self._send(run, "drop")
        self._forget(run.run_id)

    def _drop_orphans(self) -> None:
        """Make room: drop the open runs no tab watches any more (settings changed, tab closed)."""
        for run in sorted(self.runs.values(), key=lambda r: r.last_poll):
            if run.open and not run.sessions:
                self._drop(run)

    def _reap(self) -> None:
        """Pause runs nobody polls; drop open runs left alone for long."""
        while not self._closed.wait(1.0):
            now = time.monotonic()
            with self._lock:
                for run in list(self.runs.values()):
                    idle = now - run.last_poll
                    if run.state == "running" and idle > self.quotas.idle_pause_s:
                        self._send(run, "pause")
                        run.auto_paused = True
                    elif run.open and idle > self._drop_after(run):
                        self._drop(run)

    def stats(self) -> dict[str, int]:
        """Counts of runs by state (for the home page and tests)."""
        with self._lock:
            out: dict[str, int] = {}
            for run in self.runs.values():
                out[run.state] = out.get(run.state, 0) + 1
            return out

    def shutdown(self, timeout: float = 3.0) -> None:
        """Stop every worker promptly (no hang on SIGTERM)."""
        if self._closed.is_set():
            return
        self._closed.set()
        for box in self.inboxes:
            box.put(("shutdown", ""))
        deadline = time.monotonic() + timeout
        for w in self.workers:
            w.join(max(0.0, deadline - time.monotonic()))
            if isinstance(w, mp.process.BaseProcess) and w.is_alive():
                w.terminate()
                w.join(1.0)
        for th in self._threads:
            th.join(1.0)
