"""Policy: quotas, the queue, idle reaping and controls over jobs run by a WorkerPool.

Runs train in worker *processes* by default: tiny-net training holds the GIL, so threads in
one process cannot use a second core (bench/scaling.py measures both backends). Transport is
in pool.py, the records of runs and sessions in runs.py, what a job is in jobs.py.
"""

from __future__ import annotations

import atexit
import functools
import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bnviz.jobs import placeholder, restored
from bnviz.pool import SLICE_S, WorkerPool
from bnviz.runs import Registry, Run, store_key
from bnviz.stepper import Snapshot, train_sync
from bnviz.store import MemoryStore, RunStore

__all__ = ["Busy", "Quotas", "Run", "Scheduler", "Snapshot", "slot_name", "train_sync"]
log = logging.getLogger(__name__)


def slot_name(page: str, run: str) -> str:
    """A tab's place for one of a page's runs ("lab.bn"); `leave_page` finds a page's by it."""
    return f"{page}.{run}"


CUT = b"cut:"  # a cut_marker's head: no packed checkpoint starts so (store.pack: b"z", b"p")


def cut_marker(step: int) -> bytes:
    """What a job with no checkpoint of its own (a sweep) leaves in the store's checkpoint place
    when the server stops: the step it was cut at, so its restart can say why it is at 0."""
    return CUT + str(int(step)).encode()


def cut_at(blob: bytes | None) -> int | None:
    """The step in a cut_marker(); None for a real checkpoint (not unpacked here) or none."""
    if blob is None or bytes(blob[: len(CUT)]) != CUT:
        return None
    return int(bytes(blob[len(CUT) :]))


# An ended run's result every tab with its settings would get: kept, shared, stored. A diverged
# run diverges again at the same step (audit 24: after a restart it trained again, its legend
# without "diverged at step 7" for seconds, Pause enabled beside three finished runs).
KEPT = ("finished", "diverged")


@dataclass(frozen=True)
class Quotas:
    """Limits that keep a classroom server responsive (measured: ≤ 8 running at once)."""

    max_running: int = 8  # more than this queue up (30 uncapped runs: p50 latency 2.5 s)
    max_per_session: int = 5  # open runs one tab may hold (queued, running, paused): the
    # running-statistics page's Regularization view runs five side by side
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


class Scheduler:
    """One per process (held with st.cache_resource): owns the worker pool and every run."""

    def __init__(
        self,
        workers: int | None = None,
        backend: str = "process",
        quotas: Quotas = Quotas(),
        slice_s: float = SLICE_S,
        snapshot_s: float = 0.4,
        warm: bool = True,
        store: RunStore | None = None,
        checkpoint_s: float | None = None,
    ):
        self.quotas = quotas
        # Finished snapshots and checkpoints outlive this process here (the caller closes it).
        self.store = store if store is not None else MemoryStore()
        self.backend = backend
        self.n_workers = workers or os.cpu_count() or 1
        self.book = Registry()
        self.waiting: list[str] = []
        # Called (under the lock) for each open run whose worker process died without a
        # checkpoint to resume from, after it is marked "interrupted".
        self.on_interrupted: Callable[[Run], None] | None = None
        self._lock = threading.RLock()
        self._closed = threading.Event()
        self.pool = WorkerPool(self.n_workers, backend, slice_s, snapshot_s, warm, checkpoint_s)
        self._threads = [
            threading.Thread(target=self._collect, name="bnviz-collector", daemon=True),
            threading.Thread(target=self._reap, name="bnviz-reaper", daemon=True),
        ]
        for th in self._threads:
            th.start()
        atexit.register(self.shutdown)

    @property
    def runs(self) -> dict[str, Run]:
        """Every run the scheduler knows, by id."""
        return self.book.runs

    @property
    def slots(self) -> dict[tuple[str, str], str]:
        """(session, slot) -> the run id it watches."""
        return self.book.slots

    @property
    def workers(self) -> list[Any]:
        """The pool's current worker threads or processes."""
        return self.pool.workers

    # ------------------------------------------------------------------ workers

    def _send(self, run: Run, *msg: object) -> None:
        if run.worker is not None:
            self.pool.send(run.worker, (msg[0], run.run_id, *msg[1:]))

    def _collect(self) -> None:
        """Take snapshots from the workers (the only writer of Run.snapshot after start)."""
        while not self._closed.is_set():
            self._handle(*self.pool.collect())

    def _handle(self, msgs: list[tuple], dead: list[int]) -> None:
        """Apply the workers' messages; then write to the store, outside the lock (disk)."""
        writes: list[Callable[[], None]] = []
        with self._lock:
            for verb, run_id, payload in msgs:
                if verb == "snap":
                    writes += self._take(run_id, payload)
                elif verb == "ckpt":
                    writes += self._saved(run_id, payload)
            for worker in dead:
                self._interrupted(worker)
        for write in writes:
            try:
                write()
            except Exception as exc:  # a full disk or a locked file costs persistence only
                log.warning("run store write failed: %s", exc)

    def _take(self, run_id: str, snap: Any) -> list[Callable[[], None]]:
        run = self.book.runs.get(run_id)
        if run is None or run.worker is None:
            return []
        run.snapshot = snap
        if not snap.done:
            if self.waiting:
                self._dispatch()
            return []
        self._ended(run)
        run.blob = None
        if snap.state == "error":  # its tabs keep it; a new request trains the spec afresh
            self.book.unshare(run)
        if run.steered:  # not the spec's result: the store keeps only what others would get
            return []
        if snap.state in KEPT:
            return [functools.partial(self.store.put_finished, run.store_key, snap)]
        return [functools.partial(self.store.discard, run.store_key)]

    def _saved(self, run_id: str, blob: bytes) -> list[Callable[[], None]]:
        """A running job's checkpoint: kept on its run (dead worker) and in the store (restart)."""
        run = self.book.runs.get(run_id)
        if run is None or run.worker is None or not run.open:
            return []
        run.blob = blob
        if run.steered:
            return []
        return [functools.partial(self.store.checkpoint, run.store_key, blob)]

    def _interrupted(self, worker: int) -> None:
        """Worker died: its runs resume from their checkpoints, or end "interrupted" at step N."""
        for run in [r for r in self.book.runs.values() if r.worker == worker and r.open]:
            if run.blob is not None:
                run.worker = None
                self._place(run)  # on the replacement (or another) worker, as it was
                continue
            if run.run_id in self.waiting:
                self.waiting.remove(run.run_id)
            run.mark(state="interrupted", queue_position=None)
            self.book.unshare(run)  # as an error: not served to whoever asks for the spec next
            self._ended(run)
            if self.on_interrupted is not None:
                self.on_interrupted(run)

    def _ended(self, run: Run) -> None:
        """An ended run frees its place; its snapshot stays in a bounded LRU."""
        self.book.ended_run(run, self.quotas.keep_finished)
        self._dispatch()

    def _forget(self, run_id: str) -> None:
        self.book.forget(run_id)
        if run_id in self.waiting:
            self.waiting.remove(run_id)

    # ------------------------------------------------------------------ placement

    def _dispatch(self) -> None:
        """Start queued runs while there is room, on the least loaded worker."""
        while self.waiting and self.book.count("running") < self.quotas.max_running:
            run = self.book.runs[self.waiting.pop(0)]
            run.mark(state="running", queue_position=None)
            if run.worker is not None:  # a paused run waiting to resume
                self._send(run, "resume")
            else:
                self._place(run)

    def _place(self, run: Run) -> None:
        """Run on the least loaded worker: fresh, or from its checkpoint (resumed if running)."""
        loads = [0] * self.n_workers
        for r in self.book.open_runs():
            if r.worker is not None:
                loads[r.worker] += 1
        run.worker = loads.index(min(loads))
        self._send(run, "start", run.spec, run.steps, run.blob, run.state == "paused")
        if run.pace:
            self._send(run, "pace", run.pace)
        if run.blob is not None and run.state == "running":
            self._send(run, "resume")

    def _enqueue(self, run: Run) -> None:
        run.mark(state="queued")
        self.waiting.append(run.run_id)
        self._dispatch()

    # ------------------------------------------------------------------ public API

    def lookup(self, spec: Any, session: str, slot: str) -> Run | None:
        """The run this session watches in `slot` for spec, or spec's shared run; no side effect."""
        with self._lock:
            return self.book.lookup(spec, session, slot)

    def watch(self, spec: Any, session: str, slot: str) -> Run | None:
        """Like lookup(), and the session then watches that run in `slot` (keeps it alive)."""
        with self._lock:
            run = self.book.lookup(spec, session, slot)
            if run is not None:
                self._attach(run, session, slot)
            return run

    def start(
        self,
        spec: Any,
        session: str,
        slot: str,
        steps: int | None = None,
        fresh: bool = False,
        paused: bool = False,
        pace: float | None = None,
    ) -> Run:
        """Get the shared run of spec (started if new), watched by session in slot; or Busy.

        A new run opens finished from the store, or continues from its stored checkpoint,
        unless `fresh` (Reset: train it again from step 0). A new run `paused` waits, paused,
        for a resume before any worker has it: started and then paused, it trained a slice
        first (CI saw step 22 of a run started beside paused ones). A new run's `pace` (steps/s)
        goes to its worker with its start: set after, the worker could train a first slice at
        full speed (audit 21: one of four runs at step 77, the others at step 5).
        """
        with self._lock:
            run = self.watch(spec, session, slot)
            if run is not None and (run.open or run.snapshot.state in KEPT):
                return run
            total = steps if steps is not None else spec.steps
            key = store_key(spec, total)
            done = None if fresh else self._stored(self.store.get_finished, key)
            if done is not None:
                run = self.book.add(spec, total, lambda rid: done)
                run.mark(run_id=run.run_id)
                self.book.ended_run(run, self.quotas.keep_finished)
                self._attach(run, session, slot)
                return run
            if len(self.book.open_runs(session)) >= self.quotas.max_per_session:
                raise Busy("errors.session_quota", limit=self.quotas.max_per_session)
            if len(self.book.open_runs()) >= self.quotas.max_runs:
                self._drop_orphans()
            if len(self.book.open_runs()) >= self.quotas.max_runs:
                raise Busy("errors.server_busy")
            blob = None if fresh else self._stored(self.store.resume, key)
            cut = cut_at(blob)  # a sweep the last server stopped: nothing to resume from
            blob = None if cut is not None else blob
            saved = restored(spec, blob)  # read once: its step, charts and "held"
            run = self.book.add(spec, total, lambda rid: placeholder(spec, rid, total, saved=saved))
            run.blob, run.restarted_at = blob, cut
            run.pace = pace
            self._attach(run, session, slot)
            if saved is not None and saved.held:
                # paused by hand before a restart: it comes back paused, on a worker, at its
                # step and with its charts (audit 24: it came back training)
                run.mark(state="paused")
                self._place(run)
            elif paused:
                run.mark(state="paused")  # control("resume") enqueues it (no worker yet)
            else:
                self._enqueue(run)
            return run

    def _stored(self, read: Callable[[str], Any], key: str) -> Any:
        """read(key) from the store; None if the store fails (the run then trains afresh)."""
        try:
            return read(key)
        except Exception as exc:
            log.warning("run store read failed: %s", exc)
            return None

    def _attach(self, run: Run, session: str, slot: str) -> None:
        old = self.book.attach(run, session, slot)
        if old is not None:
            self._unwatched(old)

    def _unwatched(self, run: Run) -> None:
        if not run.sessions and run.state == "running":
            self._send(run, "idle")  # nobody watches it any more
            run.auto_paused = True

    def poll(self, run_id: str) -> Any:
        """The latest snapshot (marks the run as watched; resumes it if it was idle-paused)."""
        with self._lock:
            run = self.book.runs.get(run_id)
            if run is None:
                return None
            run.last_poll = time.monotonic()
            if run.auto_paused and run.state == "paused":
                run.auto_paused = False
                self._send(run, "resume")
                # say so now: a page drawn from this snapshot would otherwise show "paused"
                # and start no redraw timer, and the run's next snapshot would never be shown
                run.mark(state="running")
            if run.state == "queued" and run_id in self.waiting:
                run.mark(queue_position=self.waiting.index(run_id) + 1)
            return run.snapshot

    def control(self, run_id: str, action: str, value: float | int | None = None) -> None:
        """pause (value: the step to pause at, training on to it), resume, stop, step (value =
        steps), lr (value = new learning rate)."""
        with self._lock:
            run = self.book.runs.get(run_id)
            if run is None or not run.open:
                return
            if action not in ("pace", "lr"):  # a new pace or rate is no wish to pause or go on:
                run.auto_paused = False  # an idle-paused run still resumes when next polled
            if action == "pace":
                run.pace = value
            if action == "lr":
                self.book.unshare(run)  # a hand-steered run is no longer the spec's run
                run.steered = True
            if run.state == "queued" and action in ("pause", "stop"):
                self.waiting.remove(run_id)
                run.mark(state="paused" if action == "pause" else "stopped")
                return
            if run.worker is None and run.state == "paused" and action in ("step", "lr"):
                self._place(run)  # a run started paused: on a worker, still paused, to act on
            full = self.book.count("running") >= self.quotas.max_running
            if action == "resume" and run.state == "paused" and (run.worker is None or full):
                self._enqueue(run)  # never started, or no room now: wait in line
                return
            self._send(run, action, *(() if value is None else (value,)))

    def reset(self, run_id: str, session: str, slot: str) -> Run | None:
        """Drop the run and start its spec again from step 0. The other tabs watching it watch
        the new one (a class's shared run is reset for the class: audit 15 saw a student's
        Reset freeze the projected page on the dropped run)."""
        with self._lock:
            run = self.book.runs.get(run_id)
            if run is None:
                return None
            others = [key for key, rid in self.book.slots.items() if rid == run_id]
            self._send(run, "drop")
            self._forget(run_id)
            new = self.start(run.spec, session, slot, run.steps, fresh=True, pace=run.pace)
            for other in others:
                if other != (session, slot):
                    self.book.attach(new, *other)
            return new

    def release(self, session: str) -> None:
        """A tab closed: it watches nothing any more (non-blocking; safe on the event loop)."""
        with self._lock:
            for run in self.book.release(session):
                self._unwatched(run)

    def leave(self, session: str, slot: str) -> None:
        """A tab stopped showing a slot (another view): its run no longer counts as the tab's."""
        with self._lock:
            slots = self.book.slots
            run = self.book.runs.get(slots.pop((session, slot), ""))
            still = {rid for (sid, _), rid in slots.items() if sid == session}
            if run is not None and run.run_id not in still:
                run.sessions.discard(session)
                self._unwatched(run)

    def leave_page(self, session: str, page: str) -> None:
        """A tab went to another lesson: the page's shared open runs stop counting as the tab's
        (audit 15: after the lab, running statistics' five-run view hit the tab's quota of 5
        with the lab's pair). Coming back finds them again by their settings; a run found by
        no settings (steered by hand, failed) stays the tab's."""
        with self._lock:
            mine = [(slot, rid) for (sid, slot), rid in self.book.slots.items() if sid == session]
            for slot, rid in mine:
                run = self.book.runs.get(rid)
                shared = run is not None and self.book.shared.get(run.spec.key()) == rid
                if slot.startswith(slot_name(page, "")) and shared and run.open:
                    self.leave(session, slot)

    def _drop_after(self, run: Run) -> float:
        """Seconds without a poll before an open run is dropped (sooner when no tab has it)."""
        q = self.quotas
        return min(q.orphan_drop_s, q.idle_drop_s) if not run.sessions else q.idle_drop_s

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
                for run in list(self.book.runs.values()):
                    idle = now - run.last_poll
                    if run.state == "running" and idle > self.quotas.idle_pause_s:
                        self._send(run, "idle")
                        run.auto_paused = True
                    elif run.open and idle > self._drop_after(run):
                        self._drop(run)

    def stats(self) -> dict[str, int]:
        """Counts of runs by state (for the home page and tests)."""
        with self._lock:
            out: dict[str, int] = {}
            for run in self.book.runs.values():
                out[run.state] = out.get(run.state, 0) + 1
            return out

    def stored_count(self) -> int | None:
        """Finished runs in the run store (they outlive a restart, unlike stats()'s); None if the
        store keeps none (BNVIZ_STORE=off) or cannot be read."""
        try:
            return self.store.finished_count()
        except Exception as exc:
            log.warning("run store read failed: %s", exc)
            return None

    def shutdown(self, timeout: float = 3.0) -> None:
        """Stop every worker promptly (no hang on SIGTERM)."""
        if self._closed.is_set():
            return
        self._closed.set()
        last = self.pool.shutdown(timeout)  # the workers' last checkpoints, read as they stop
        for th in self._threads:
            th.join(1.0)
        msgs, dead = self.pool.collect(timeout=0)  # what the pipes still hold
        self._handle(last + msgs, dead)
        with self._lock:  # jobs without checkpoints (sweeps): the step they were cut at
            cut = [
                (run.store_key, run.snapshot.step)
                for run in self.book.runs.values()
                if run.open and run.blob is None and not run.steered and run.snapshot.step > 0
            ]
        for key, step in cut:
            try:
                self.store.checkpoint(key, cut_marker(step))
            except Exception as exc:
                log.warning("run store write failed: %s", exc)
