"""Transport: worker threads or processes that run jobs, and the loop inside each worker.

The pool spawns workers, sends them commands, collects what they post, notices a dead worker
process within a fraction of a second (its sentinel) and starts a replacement. It knows
nothing about sessions, sharing or quotas (runner.Scheduler does).
"""

from __future__ import annotations

import contextlib
import multiprocessing as mp
import os
import queue
import threading
import time
import traceback
from collections import deque
from dataclasses import replace
from multiprocessing.connection import wait
from typing import Any

import torch

from bnviz.config import RunConfig
from bnviz.jobs import TERMINAL, Job, build_job, placeholder
from bnviz.procs import keep_freed_memory, plain_main
from bnviz.stepper import Stepper, train_sync
from bnviz.sweep import CORES_ENV

SLICE_S = 0.05  # a worker advances each running job this long before the next (round-robin)
POLL_S = 0.25  # longest wait for a message; also bounds how late a dead worker is noticed
CHECKPOINT_S = 5.0  # a running job's checkpoint is sent this often (~25 ms, ~90 KB for the lab)
# Cores a sweep uses in a worker process: models past the first PER_CORE train in a helper
# process on the next core (bnviz.sweep). While the pool's other worker trains too, they share it.
SWEEP_CORES = min(2, os.cpu_count() or 1)
PACE_WAIT_S = 0.01  # every running job waits for its pace: sleep this long, not spin
# ("pause", step): a job trains on to the step, but pauses where it is after this long, so a
# page's guess of a step its runs reach together (from rates a load may have slowed) never
# leaves Pause without effect (1 s split the lab's pair at 585 and 423 in CI, at full speed
# beside three test processes: the slower run needed longer than that for ~400 steps)
PAUSE_WAIT_S = 3.0
WARM_UP = (  # pays torch's lazy imports (~2 s on the first optimizer step) before a real run
    RunConfig(steps=2, depth=1, width=4, n_samples=64, eval_every=1),
    RunConfig(steps=2, depth=1, width=4, n_samples=64, optimizer="adam"),
)


def warm_up() -> None:
    """Train two tiny runs so the first real run does not pay for torch's lazy imports."""
    for cfg in WARM_UP:
        train_sync(cfg, 2)


class Worker:
    """Owns some jobs; advances the running ones a slice at a time, round-robin."""

    def __init__(self, inbox, outbox, slice_s=SLICE_S, snapshot_s=0.4, checkpoint_s=CHECKPOINT_S):
        self.inbox, self.outbox = inbox, outbox
        self.slice_s, self.snapshot_s, self.checkpoint_s = slice_s, snapshot_s, checkpoint_s
        self.jobs: dict[str, Job] = {}
        self.order: deque[str] = deque()
        self.sent_at: dict[str, float] = {}
        self.saved_at: dict[str, float] = {}  # job -> when its last checkpoint was sent
        # job -> (the step it pauses at, when it pauses wherever it is): ("pause", step)
        self.pause_at: dict[str, tuple[int, float]] = {}

    def handle(self, msg: tuple) -> bool:
        """Apply one command; False on shutdown."""
        verb, job_id, *args = msg
        if verb == "shutdown":
            for jid in list(self.order):  # the next server resumes them from here
                self.save(jid)
            return False
        if verb == "start":
            try:
                self.jobs[job_id] = self.build(job_id, *args)
            except Exception as exc:  # a spec that cannot build is its job's error, not ours
                traceback.print_exc()
                error = f"{type(exc).__name__}: {exc}"
                status = placeholder(args[0], job_id, args[1], "error")
                self.outbox.put(("snap", job_id, replace(status, error=error)))
                return True
            self.order.append(job_id)
            self.send(job_id)
            return True
        job = self.jobs.get(job_id)
        if job is None:
            return True
        if verb not in ("pace", "lr"):  # a later command replaces a pause still to come
            self.pause_at.pop(job_id, None)
        if verb in ("pause", "idle", "resume") and hasattr(job, "held"):
            job.held = verb == "pause"  # by hand: its checkpoint comes back paused (restart)
        if verb == "idle":  # nobody watches it: paused, and resumed by the next tab to look
            verb = "pause"
        if verb == "pause" and job.state == "running" and args and job.step < args[0]:
            # trains on to that step, then pauses (tick); at most PAUSE_WAIT_S
            self.pause_at[job_id] = (args[0], time.monotonic() + PAUSE_WAIT_S)
        elif verb == "pause" and job.state == "running":
            job.state = "paused"
            self.save(job_id)
        elif verb == "resume" and job.state == "paused":
            job.state = "running"
            if hasattr(job, "resync"):
                job.resync()  # time spent paused does not bank paced steps
        elif verb == "pace" and hasattr(job, "set_pace"):
            job.set_pace(args[0] if args else None)  # None: full speed
        elif verb == "stop":
            job.state = "stopped"
        elif verb == "lr" and hasattr(job, "set_lr"):
            job.set_lr(args[0])
        elif verb == "step" and job.state == "paused":
            job.state = "running"
            job.advance(max_steps=args[0])
            job.state = "paused" if job.state == "running" else job.state
        if verb == "drop":
            self.forget(job_id)
        else:
            self.send(job_id)
        return True

    def build(
        self, job_id: str, spec: Any, steps: int, blob: bytes | None = None, paused: bool = False
    ) -> Job:
        """A new job (`paused`: until resumed), or (blob: a checkpoint) the job that wrote it,
        paused until resumed."""
        if blob is None:
            job = build_job(spec, job_id, steps)
            if paused:
                job.state = "paused"
            return job
        job = Stepper.restore(blob)
        job.run_id, job.state = job_id, "paused"  # the scheduler resumes it if it ran
        self.saved_at[job_id] = time.monotonic()
        return job

    def save(self, job_id: str) -> None:
        """Post the job's checkpoint, if it can make one and has not ended."""
        job = self.jobs.get(job_id)
        if job is None or job.state in TERMINAL or not hasattr(job, "checkpoint"):
            return
        self.outbox.put(("ckpt", job_id, job.checkpoint()))
        self.saved_at[job_id] = time.monotonic()

    def forget(self, job_id: str) -> None:
        """Free a job's model and buffers (and its helper processes: a sweep's close())."""
        job = self.jobs.pop(job_id, None)
        if hasattr(job, "close"):
            job.close()
        self.sent_at.pop(job_id, None)
        self.saved_at.pop(job_id, None)
        self.pause_at.pop(job_id, None)
        if job_id in self.order:
            self.order.remove(job_id)

    def send(self, job_id: str) -> None:
        """Post the job's snapshot; an ended job is then forgotten (its snapshot lives on)."""
        job = self.jobs[job_id]
        self.outbox.put(("snap", job_id, job.snapshot()))
        self.sent_at[job_id] = time.monotonic()
        if job.state in TERMINAL:
            self.forget(job_id)

    def tick(self) -> int:
        """Advance the next running job that may step by one slice; send snapshots that are due.

        Returns the steps taken (0 when every running job waits for its classroom pace).
        """
        taken = 0
        for _ in range(len(self.order)):
            job_id = self.order[0]
            self.order.rotate(-1)  # the next job moves to the front: round-robin
            job = self.jobs[job_id]
            if job.state == "running":
                until, deadline = self.pause_at.get(job_id, (None, 0.0))
                if until is None:
                    taken = job.advance(self.slice_s)
                else:  # on to the step all of a page's runs pause at, then paused there
                    taken = job.advance(self.slice_s, max_steps=until - job.step)
                    late = time.monotonic() >= deadline
                    if (job.step >= until or late) and job.state == "running":
                        del self.pause_at[job_id]
                        job.state = "paused"
                        self.save(job_id)
                        self.send(job_id)
                if taken:
                    break
        now = time.monotonic()
        for jid in list(self.order):
            job = self.jobs[jid]
            due = now - self.sent_at.get(jid, 0.0) >= self.snapshot_s
            if job.state in TERMINAL or (job.state == "running" and due):
                self.send(jid)
            elif job.state == "running":
                saved = self.saved_at.setdefault(jid, now)  # the first after checkpoint_s
                if now - saved >= self.checkpoint_s:
                    self.save(jid)
        return taken

    def loop(self) -> None:
        """Serve commands and work until told to shut down."""
        idle = True
        while True:
            busy = any(j.state == "running" for j in self.jobs.values())
            wait = 0.5 if not busy else PACE_WAIT_S if idle else None
            try:
                msg = self.inbox.get(timeout=wait) if wait else self.inbox.get_nowait()
            except queue.Empty:
                msg = None
            while msg is not None:
                if not self.handle(msg):
                    return
                try:
                    msg = self.inbox.get_nowait()
                except queue.Empty:
                    msg = None
            idle = self.tick() == 0


class _Pipe:
    """The sending end of a worker process's own pipe, with a queue's put()."""

    def __init__(self, conn):
        self.conn = conn

    def put(self, msg: object) -> None:
        """Send one message (blocks only while the collector is behind by a pipe's buffer)."""
        self.conn.send(msg)


def worker_main(inbox, outbox, slice_s, snapshot_s, checkpoint_s, warm: bool, index=0) -> None:
    """Entry point of a worker thread or process (`index`: its place in the pool)."""
    torch.set_num_threads(1)  # tiny nets: 1 thread is 6x faster than the default (measured)
    if mp.parent_process() is not None:  # a worker process, not a thread
        os.environ["BNVIZ_FAST_MATMUL"] = "1"  # sweeps may use oneDNN (stacked.FAST_MATMUL_ENV)
        os.environ.setdefault(CORES_ENV, str(SWEEP_CORES))  # unless set by hand
        keep_freed_memory()
    if warm:
        warm_up()
    outbox.put(("ready", "", index))
    Worker(inbox, outbox, slice_s, snapshot_s, checkpoint_s).loop()


class WorkerPool:
    """n workers (threads or spawned processes): spawn, send, collect, respawn."""

    def __init__(
        self, n, backend="process", slice_s=SLICE_S, snapshot_s=0.4, warm=True, checkpoint_s=None
    ):
        self.n, self.backend = n, backend
        self.args = (slice_s, snapshot_s, checkpoint_s or CHECKPOINT_S, warm)
        self.ready: set[int] = set()  # workers that finished warming up
        self.closed = False
        # one reader of the pipes at a time: the collector thread's last round and shutdown's
        # reads could otherwise interleave the bytes of one message
        self._reading = threading.Lock()
        if backend == "process":
            self.ctx = mp.get_context("spawn")  # fork is unsafe with the server's threads
        else:
            self.outbox: queue.Queue = queue.Queue()
        self.workers: list[Any] = [None] * n
        self.inboxes: list[Any] = [None] * n
        self.readers: list[Any] = [None] * n  # process backend: each worker's own pipe
        for i in range(n):
            self._spawn(i)

    def _spawn(self, i: int) -> None:
        self.ready.discard(i)
        if self.backend == "process":
            self.inboxes[i] = self.ctx.Queue()
            self.readers[i], send = self.ctx.Pipe(duplex=False)
            outbox, make = _Pipe(send), self.ctx.Process
        else:
            self.inboxes[i] = queue.Queue()
            outbox, make = self.outbox, threading.Thread
        w = make(
            target=worker_main,
            args=(self.inboxes[i], outbox, *self.args, i),
            name=f"bnviz-worker-{i}",
            daemon=True,
        )
        with plain_main() if self.backend == "process" else contextlib.nullcontext():
            w.start()
        if self.backend == "process":
            send.close()  # only the child writes: the reader then sees EOF when it dies
        self.workers[i] = w

    def send(self, i: int, msg: tuple) -> None:
        """Put one command in worker i's inbox (dropped once the pool is shutting down)."""
        box = self.inboxes[i]
        if box is not None and not self.closed:
            with contextlib.suppress(ValueError):  # closed meanwhile by shutdown()
                box.put(msg)

    def collect(self, timeout: float = POLL_S) -> tuple[list[tuple], list[int]]:
        """Messages posted since the last call, and the workers found dead (then respawned)."""
        msgs: list[tuple] = []
        if self.backend == "process":
            sentinels = {w.sentinel: i for i, w in enumerate(self.workers)}
            ready = wait([*self.readers, *sentinels], timeout)
            msgs += self._read([c for c in ready if c in self.readers])
        else:
            with contextlib.suppress(queue.Empty):
                msgs.append(self.outbox.get(timeout=timeout))
                while True:
                    msgs.append(self.outbox.get_nowait())
        self._note_ready(msgs)
        dead = [] if self.closed else [i for i, w in enumerate(self.workers) if not w.is_alive()]
        for i in dead:
            if self.readers[i] is not None:
                self.readers[i].close()
            self._spawn(i)
        return msgs, dead

    def _read(self, conns: list) -> list[tuple]:
        """Every whole message waiting in these pipes."""
        msgs: list[tuple] = []
        with self._reading:
            for conn in conns:
                with contextlib.suppress(EOFError, OSError):
                    while conn.poll():
                        msgs.append(conn.recv())
        return msgs

    def _note_ready(self, msgs: list[tuple]) -> None:
        for verb, _, worker in msgs:
            if verb == "ready" and worker is not None:
                self.ready.add(worker)

    def shutdown(self, timeout: float = 3.0) -> list[tuple]:
        """Ask every worker to stop; terminate processes that do not within timeout. Returns
        what they sent while stopping (their last checkpoints), read as they stop: a lab
        checkpoint (~90 KB) is more than a pipe holds, and unread, a worker waited on it until
        terminated at the timeout, and the run's store kept a checkpoint ~5 s older (measured:
        6000 steps behind its status line; audit 24's "checkpoint lags at SIGTERM")."""
        self.closed = True
        for box in self.inboxes:
            box.put(("shutdown", ""))
        deadline = time.monotonic() + timeout
        msgs: list[tuple] = []
        while self.backend == "process" and time.monotonic() < deadline:
            alive = [i for i, w in enumerate(self.workers) if w.is_alive()]
            if not alive:
                break
            pipes = [self.readers[i] for i in alive]
            left = max(0.0, deadline - time.monotonic())  # never negative: poll() would block
            ready = wait(pipes + [self.workers[i].sentinel for i in alive], left)
            msgs += self._read([c for c in ready if c in pipes])
        for w in self.workers:
            w.join(max(0.0, deadline - time.monotonic()))
            if isinstance(w, mp.process.BaseProcess) and w.is_alive():
                w.terminate()
                w.join(1.0)
        self._drop_inboxes()
        return msgs

    def _drop_inboxes(self, wait_s: float = 1.0) -> None:
        """Close the workers' inboxes and let go of them. A process inbox holds three named
        semaphores, unlinked when it is collected or at a normal exit; a server stopped by
        SIGTERM dies by the signal (uvicorn raises it again after its shutdown), which runs no
        exit handler, and Python's resource tracker then warned of "6 leaked semaphore objects".
        An inbox's feeder thread holds two of them until it has flushed: waited for up to
        wait_s (it can block for ever on a large message to a worker that was terminated)."""
        boxes = [box for box in self.inboxes if box is not None]
        self.inboxes = [None] * self.n
        if self.backend != "process":
            return
        for box in boxes:
            box.close()

        def flushed() -> None:
            for box in boxes:
                box.join_thread()

        joiner = threading.Thread(target=flushed, name="bnviz-inboxes", daemon=True)
        joiner.start()
        joiner.join(wait_s)
