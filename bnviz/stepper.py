"""A run inside a worker (Stepper), its immutable Snapshot, and the worker loop."""

from __future__ import annotations

import dataclasses
import math
import queue
import time
import traceback
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from bnviz.config import RunConfig
from bnviz.store import ENGINE_VERSION, pack, unpack
from bnviz.train import Diverged, Trainer

TERMINAL = ("finished", "diverged", "error", "stopped")
BOUNDARY_EVERY_S = 1.0  # the decision-boundary grid is the costliest part of a snapshot
PACE_WAIT_S = 0.01  # every running run waits for its pace: sleep this long, not spin


@dataclass(frozen=True)
class Snapshot:
    """What a page draws: the state of a run at one moment, plain numpy arrays, read-only."""

    run_id: str
    config: RunConfig
    state: str  # queued, running, paused, finished, diverged, error, stopped
    step: int = 0
    steps: int = 0
    lr: float = math.nan
    steps_per_s: float = 0.0
    diverged_at: int | None = None
    error: str | None = None
    queue_position: int | None = None
    losses: Mapping[str, np.ndarray] = field(default_factory=dict)  # step, loss
    evals: Mapping[str, np.ndarray] = field(default_factory=dict)  # step, train/test loss/acc, dead
    telemetry: Mapping[str, np.ndarray] = field(default_factory=dict)  # step, per-layer stats
    boundary: Mapping[str, np.ndarray] | None = None  # x, y, p (2-D datasets)
    taken_at: float = 0.0
    pace: float | None = None  # steps/s cap (classroom pace), None = as fast as possible
    first_layer: Mapping[str, np.ndarray] = field(default_factory=dict)  # step, w (T, units, D)

    @property
    def done(self) -> bool:
        """True once the run will not change any more."""
        return self.state in TERMINAL

    @property
    def progress(self) -> float:
        """Completed share of the planned steps."""
        return self.step / self.steps if self.steps else 0.0


class Stepper:
    """A Trainer with a state machine: running, paused, or one of TERMINAL."""

    def __init__(self, run_id: str, cfg: RunConfig, steps: int | None = None):
        self.run_id, self.cfg = run_id, cfg
        self.steps = steps if steps is not None else cfg.steps
        self.state = "running"
        self.error: str | None = None
        self.diverged_at: int | None = None
        self.trainer: Trainer | None = None
        self._rate = 0.0
        self._rate_mark = (time.monotonic(), 0)
        self._boundary: Mapping | None = None
        self._boundary_at = -math.inf
        self.pace: float | None = None
        self._pace_mark = (time.monotonic(), 0)
        self._guard(self._build)

    def _build(self) -> None:
        for key, _ in self.cfg.problems():
            raise ValueError(key)  # pages explain these before starting; here as a safety net
        self.trainer = Trainer(self.cfg)

    def _guard(self, fn, *args) -> Any:
        """Run fn; an exception becomes this run's error state, never a dead worker."""
        try:
            return fn(*args)
        except Diverged as div:
            self.state, self.diverged_at = "diverged", int(div.args[0])
        except Exception as exc:  # kept on the run and shown on the page, never kills a worker
            self.state = "error"
            self.error = f"{type(exc).__name__}: {exc}"
            traceback.print_exc()
        return None

    @property
    def step(self) -> int:
        """Completed steps."""
        return self.trainer.step_count if self.trainer else 0

    def set_pace(self, steps_per_s: float | None) -> None:
        """Cap the speed (a demo a class can watch) or lift the cap (None)."""
        self.pace = steps_per_s
        self.resync()

    def resync(self) -> None:
        """Start the pace clock now: time spent paused or queued does not bank steps."""
        self._pace_mark = (time.monotonic(), self.step)

    def _paced(self) -> int | None:
        """Steps the pace allows now (None: no cap)."""
        if not self.pace:
            return None
        t0, s0 = self._pace_mark
        return max(0, int((time.monotonic() - t0) * self.pace) - (self.step - s0))

    def advance(self, budget_s: float = math.inf, max_steps: int | None = None) -> int:
        """Train for up to budget_s seconds (or max_steps, or what the pace allows); steps taken."""
        if self.trainer is None or self.state in TERMINAL:
            return 0
        start, taken = time.perf_counter(), 0
        limit = self.steps - self.step
        for cap in (max_steps, self._paced() if max_steps is None else None):
            limit = limit if cap is None else min(limit, cap)
        while taken < limit and self.state not in TERMINAL:
            self._guard(self.trainer.step)
            taken += 1
            if time.perf_counter() - start >= budget_s:
                break
        if self.step >= self.steps and self.state not in TERMINAL:
            self._guard(self.trainer.record_eval)
            if self.state not in TERMINAL:
                self.state = "finished"
        return taken

    def set_lr(self, lr: float) -> None:
        """Change the learning rate while training."""
        if self.trainer is not None:
            self.trainer.set_lr(lr)

    def checkpoint(self) -> bytes:
        """The run so far as compressed bytes; Stepper.restore() continues it bit-identically."""
        return pack(
            {
                "version": ENGINE_VERSION, "run_id": self.run_id,
                "cfg": dataclasses.asdict(self.cfg), "steps": self.steps,
                "state": self.state, "error": self.error, "diverged_at": self.diverged_at,
                "trainer": self.trainer.state_dict() if self.trainer else None,
            }
        )  # fmt: skip

    @classmethod
    def restore(cls, blob: bytes) -> Stepper:
        """The Stepper that wrote `blob`, ready to continue; ValueError if stale."""
        saved = unpack(blob)
        if not isinstance(saved, dict) or saved.get("version") != ENGINE_VERSION:
            raise ValueError("checkpoint from another engine version")
        try:
            cfg = RunConfig(**saved["cfg"])  # ConfigError (a ValueError) if bounds changed
        except TypeError as exc:  # a setting that no longer exists
            raise ValueError(f"checkpoint settings unusable: {exc}") from exc
        stepper = cls(saved["run_id"], cfg, saved["steps"])
        if stepper.trainer is not None and saved["trainer"] is not None:
            stepper.trainer.load_state_dict(saved["trainer"])
        stepper.state, stepper.error = saved["state"], saved["error"]
        stepper.diverged_at = saved["diverged_at"]
        stepper._rate_mark = (time.monotonic(), stepper.step)
        return stepper

    def snapshot(self) -> Snapshot:
        """An immutable copy of everything a page draws."""
        now = time.monotonic()
        t0, s0 = self._rate_mark
        if now - t0 >= 0.2:
            rate = (self.step - s0) / (now - t0)
            self._rate = rate if self.state == "running" else 0.0
            self._rate_mark = (now, self.step)
        tr = self.trainer
        if tr is None:
            return Snapshot(self.run_id, self.cfg, self.state, steps=self.steps, error=self.error)
        if now - self._boundary_at >= BOUNDARY_EVERY_S or self.state in TERMINAL:
            self._boundary = self._guard(tr.boundary, self._boundary_resolution())
            self._boundary_at = now
        return Snapshot(
            self.run_id, self.cfg, self.state, self.step, self.steps, tr.lr, self._rate,
            self.diverged_at, self.error, None, tr.losses.view(), tr.evals.view(),
            tr.telemetry.view(), self._boundary, time.time(), self.pace, tr.first_layer.view(),
        )  # fmt: skip

    def _boundary_resolution(self) -> int:
        """Fewer grid points for big networks so a snapshot stays cheap."""
        params = sum(p.numel() for p in self.trainer.model.parameters())
        return int(np.clip(math.sqrt(2e8 / max(params, 1)), 24, 60))


def train_sync(cfg: RunConfig, steps: int | None = None) -> Snapshot:
    """Train in the caller's thread until done; the final snapshot (tests, notebooks, benches)."""
    stepper = Stepper(cfg.key(), cfg, steps)
    while stepper.state == "running":
        stepper.advance()
    return stepper.snapshot()


# ---------------------------------------------------------------------------- worker loop


def warm_up() -> None:
    """Pay torch's lazy imports (~2 s on the first optimizer step) before the first run."""
    train_sync(RunConfig(steps=2, depth=1, width=4, n_samples=64, eval_every=1), 2)
    train_sync(RunConfig(steps=2, depth=1, width=4, n_samples=64, optimizer="adam"), 2)


class Worker:
    """Owns some runs; advances the running ones a slice at a time, round-robin."""

    def __init__(self, inbox, outbox, slice_s: float = 0.05, snapshot_s: float = 0.4):
        self.inbox, self.outbox = inbox, outbox
        self.slice_s, self.snapshot_s = slice_s, snapshot_s
        self.runs: dict[str, Stepper] = {}
        self.order: deque[str] = deque()
        self.sent_at: dict[str, float] = {}

    def handle(self, msg: tuple) -> bool:
        """Apply one command; False on shutdown."""
        verb, run_id, *args = msg
        if verb == "shutdown":
            return False
        if verb == "start":
            self.runs[run_id] = Stepper(run_id, *args)
            self.order.append(run_id)
            self.send(run_id)
            return True
        run = self.runs.get(run_id)
        if run is None:
            return True
        if verb == "pause" and run.state == "running":
            run.state = "paused"
        elif verb == "resume" and run.state == "paused":
            run.state = "running"
            run.resync()
        elif verb == "pace":
            run.set_pace(args[0] if args else None)  # None: full speed
        elif verb == "stop":
            run.state = "stopped"
        elif verb == "lr":
            run.set_lr(args[0])
        elif verb == "step" and run.state == "paused":
            run.state = "running"
            run.advance(max_steps=args[0])
            run.state = "paused" if run.state == "running" else run.state
        if verb == "drop":
            self.forget(run_id)
        else:
            self.send(run_id)
        return True

    def forget(self, run_id: str) -> None:
        """Free a run's model and buffers."""
        self.runs.pop(run_id, None)
        self.sent_at.pop(run_id, None)
        if run_id in self.order:
            self.order.remove(run_id)

    def send(self, run_id: str) -> None:
        """Post the run's snapshot; a finished run is then forgotten (its snapshot lives on)."""
        run = self.runs[run_id]
        self.outbox.put(("snap", run_id, run.snapshot()))
        self.sent_at[run_id] = time.monotonic()
        if run.state in TERMINAL:
            self.forget(run_id)

    def tick(self) -> int:
        """Advance the next running run that may step by one slice; send snapshots that are due.

        Returns the steps taken (0 when every running run waits for its pace).
        """
        taken = 0
        for _ in range(len(self.order)):
            run_id = self.order[0]
            self.order.rotate(-1)  # the next run moves to the front: round-robin
            if self.runs[run_id].state == "running":
                taken = self.runs[run_id].advance(self.slice_s)
                if taken:
                    break
        now = time.monotonic()
        for rid in list(self.order):
            run = self.runs[rid]
            due = now - self.sent_at.get(rid, 0.0) >= self.snapshot_s
            if run.state in TERMINAL or (run.state == "running" and due):
                self.send(rid)
        return taken

    def loop(self) -> None:
        """Serve commands and train until told to shut down."""
        idle = True
        while True:
            busy = any(r.state == "running" for r in self.runs.values())
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


def worker_main(inbox, outbox, slice_s: float, snapshot_s: float, warm: bool) -> None:
    """Entry point of a worker thread or process."""
    torch.set_num_threads(1)  # tiny nets: 1 thread is 6x faster than the default (measured)
    if warm:
        warm_up()
    outbox.put(("ready", "", None))
    Worker(inbox, outbox, slice_s, snapshot_s).loop()
