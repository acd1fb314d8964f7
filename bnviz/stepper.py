"""A run inside a worker (Stepper), its immutable Snapshot, and the worker loop."""

from __future__ import annotations

import dataclasses
import math
import time
import traceback
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from bnviz.config import RunConfig
from bnviz.store import ENGINE_VERSION, pack, unpack
from bnviz.train import Diverged, Trainer

# "interrupted": its worker process died; the scheduler marks it at its last reported step
TERMINAL = ("finished", "diverged", "error", "stopped", "interrupted")
RATE_WINDOW_S = 2.0  # a run's steps/s (and time left) is averaged over about this long
BOUNDARY_EVERY_S = 1.0  # the decision-boundary grid is the costliest part of a snapshot
BOUNDARY_BUDGET = 2e8  # grid points x parameters a boundary may cost (~10 ms on one core)
BOUNDARY_MIN, BOUNDARY_MAX = 24, 60  # grid side: still readable / no finer than the eye sees


class Progress:
    """done and progress of anything with state, step and steps (runs, jobs, snapshots)."""

    state: str
    step: int
    steps: int

    @property
    def done(self) -> bool:
        """True once it will not change any more."""
        return self.state in TERMINAL

    @property
    def progress(self) -> float:
        """Completed share of the planned steps."""
        return self.step / self.steps if self.steps else 0.0


@dataclass(frozen=True)
class Snapshot(Progress):
    """What a page draws: the state of a run at one moment, plain numpy arrays, read-only."""

    run_id: str
    config: RunConfig
    state: str  # queued, running, paused, or one of TERMINAL
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


class Paced:
    """Classroom pace for a job with a `step` count: at most `pace` steps a second (None: no
    cap). Shared by a single run (Stepper) and a batched sweep (bnviz.sweep.SweepJob)."""

    pace: float | None = None
    _pace_mark: tuple[float, int] = (0.0, 0)

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


class Stepper(Paced, Progress):
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
        self._boundary_step = -1  # the step the boundary was drawn at
        self.pace: float | None = None
        self.held = False  # paused by hand (not for want of a watcher): kept by a checkpoint
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

    def advance(self, budget_s: float = math.inf, max_steps: int | None = None) -> int:
        """Train for up to budget_s seconds (or max_steps, or what the pace allows); steps taken."""
        if self.trainer is None or self.state in TERMINAL:
            return 0
        deadline = time.perf_counter() + budget_s
        limit = self.steps - self.step
        for cap in (max_steps, self._paced() if max_steps is None else None):
            limit = limit if cap is None else min(limit, cap)
        before = self.step
        self._guard(self.trainer.run, limit, deadline)  # a step that raises ends the slice
        taken = self.step - before
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
        if self.trainer is not None:
            self._guard(self.trainer.run_evals)
        return pack(
            {
                "version": ENGINE_VERSION, "run_id": self.run_id,
                "cfg": dataclasses.asdict(self.cfg), "steps": self.steps,
                "state": self.state, "error": self.error, "diverged_at": self.diverged_at,
                "held": self.held and self.state == "paused",
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
        stepper.held = bool(saved.get("held"))
        stepper._rate_mark = (time.monotonic(), stepper.step)
        return stepper

    def snapshot(self) -> Snapshot:
        """An immutable copy of everything a page draws."""
        now = time.monotonic()
        t0, s0 = self._rate_mark
        if now - t0 >= 0.2:
            rate = (self.step - s0) / (now - t0)
            # averaged over about RATE_WINDOW_S: over one 0.2 s window a stall read "about 4
            # min left" on a run with 20 s to go, and the catch-up after it 300 steps/s on a
            # run paced at 50 (audit 15)
            weight = min(1.0, (now - t0) / RATE_WINDOW_S) if self._rate > 0 else 1.0
            rate = self._rate + weight * (rate - self._rate)
            self._rate = rate if self.state == "running" else 0.0
            self._rate_mark = (now, self.step)
        tr = self.trainer
        if tr is None:
            return Snapshot(self.run_id, self.cfg, self.state, steps=self.steps, error=self.error)
        self._guard(tr.run_evals)  # the evaluations due (deferred: Trainer.record_eval)
        due = now - self._boundary_at >= BOUNDARY_EVERY_S or self.state in TERMINAL
        if due and self.step != self._boundary_step:  # a paused or ended run's is still current
            self._boundary = self._guard(tr.boundary, self._boundary_resolution())
            self._boundary_at, self._boundary_step = now, self.step
        return Snapshot(
            self.run_id, self.cfg, self.state, self.step, self.steps, tr.lr, self._rate,
            self.diverged_at, self.error, None, tr.losses.view(), tr.evals.view(),
            tr.telemetry.view(), self._boundary, time.time(), self.pace, tr.first_layer.view(),
        )  # fmt: skip

    def _boundary_resolution(self) -> int:
        """Fewer grid points for big networks so a snapshot stays cheap."""
        params = sum(p.numel() for p in self.trainer.model.parameters())
        return int(np.clip(math.sqrt(BOUNDARY_BUDGET / max(params, 1)), BOUNDARY_MIN, BOUNDARY_MAX))


def train_sync(cfg: RunConfig, steps: int | None = None) -> Snapshot:
    """Train in the caller's thread until done; the final snapshot (tests, notebooks, benches)."""
    stepper = Stepper(cfg.key(), cfg, steps)
    while stepper.state == "running":
        stepper.advance()
    return stepper.snapshot()
