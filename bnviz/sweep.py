"""A sweep: many models of one shape trained at once, as a scheduler job or in the caller's thread.

    result = train_sweep(RunConfig(), [{"lr": lr} for lr in (0.01, 0.1, 1.0)])

Model i of a sweep is the run `train_sync(result.configs[i])`: same weights, batches, updates.
"""

from __future__ import annotations

import hashlib
import json
import math
import time
import traceback
from dataclasses import asdict, dataclass

import numpy as np
import torch
from torch.nn import functional as F

from bnviz.batched import StackedData, check_shared
from bnviz.config import RunConfig
from bnviz.stacked import StackedMLP, StackedOptimizer, Step, fast_matmul
from bnviz.stepper import Progress
from bnviz.telemetry import History

MAX_MODELS = 256  # models per sweep
MAX_MODEL_STEPS = 1_000_000  # models × steps per sweep (256 × 2000 = 512k; ~1 min on a core)
MAX_PARAMS = 20_000_000  # models × parameters per model (memory: ~5 copies of 4 bytes each)
EVAL_CAPACITY = 128  # evaluations kept per model (thinned like telemetry.History)
TERMINAL = ("finished", "error", "stopped")


@dataclass(frozen=True)
class SweepSnapshot(Progress):
    """What a page draws of a sweep at one moment: plain numpy arrays, picklable, read-only."""

    run_id: str
    state: str  # running, paused, finished, error, stopped (queued: set by the scheduler)
    step: int
    steps: int
    steps_per_s: float
    taken_at: float
    error: str | None
    configs: tuple[RunConfig, ...]
    eval_step: np.ndarray  # (E,) steps at which every model was evaluated
    train_loss: np.ndarray  # (N, E) full training set, eval mode; NaN after divergence
    test_acc: np.ndarray  # (N, E)
    final_loss: np.ndarray  # (N,) at the end of training; NaN if diverged or not finished
    final_acc: np.ndarray  # (N,)
    model_state: np.ndarray  # (N,) "running" / "finished" / "diverged"
    model_step: np.ndarray  # (N,) steps each model completed
    diverged_at: np.ndarray  # (N,) the step whose loss was not finite; -1 if none
    queue_position: int | None = None
    wall_s: float = 0.0  # seconds from the first step to now (or to the end): this server's time


@dataclass(frozen=True)
class SweepResult:
    """A finished sweep (train_sweep): per-model tables."""

    configs: tuple[RunConfig, ...]
    step: np.ndarray  # (E,) evaluated steps
    train_loss: np.ndarray  # (N, E)
    test_acc: np.ndarray  # (N, E)
    final_loss: np.ndarray  # (N,)
    final_acc: np.ndarray  # (N,)
    state: np.ndarray  # (N,) "finished" / "diverged"
    diverged_at: np.ndarray  # (N,) -1 if none


@dataclass(frozen=True)
class SweepSpec:
    """What a sweep trains: base.replace(**change) per model; validated and capped when made."""

    base: RunConfig
    changes: tuple
    steps: int | None = None  # None: base.steps; resolved when made (the scheduler needs an int)

    def __post_init__(self) -> None:
        frozen = tuple(tuple(sorted(dict(c).items())) for c in self.changes)
        object.__setattr__(self, "changes", frozen)  # hashable, order of keys irrelevant
        if self.steps is None:
            object.__setattr__(self, "steps", self.base.steps)
        configs = self.configs()
        if not configs:
            raise ValueError("a sweep needs at least one model")
        if len(configs) > MAX_MODELS:
            raise ValueError(
                f"a sweep holds at most {MAX_MODELS} models (MAX_MODELS), got {len(configs)}"
            )
        total = len(configs) * configs[0].steps
        if total > MAX_MODEL_STEPS:
            raise ValueError(
                f"a sweep trains at most {MAX_MODEL_STEPS:,} model-steps (MAX_MODEL_STEPS), "
                f"got {len(configs)} models × {configs[0].steps} steps = {total:,}"
            )
        check_shared(configs)
        c = configs[0]
        per_model = (
            c.depth * c.width * (c.width + 4) * (c.maxout_k if c.activation == "maxout" else 1)
        )
        if per_model * len(configs) > MAX_PARAMS:
            raise ValueError(f"a sweep holds at most {MAX_PARAMS:,} parameters (MAX_PARAMS)")

    def configs(self) -> tuple[RunConfig, ...]:
        """The RunConfig of every model (steps set to the sweep's)."""
        return tuple(self.base.replace(**dict(c), steps=self.steps) for c in self.changes)

    def key(self) -> str:
        """A stable id of everything that changes the result (canonical configs and steps)."""
        blob = json.dumps([asdict(c.canonical()) for c in self.configs()], sort_keys=True)
        return "sweep-" + hashlib.sha1(blob.encode()).hexdigest()[:16]

    def build(self, job_id: str, steps: int | None = None) -> SweepJob:
        """The job that trains this sweep (steps: override of the planned steps)."""
        return SweepJob(job_id, self.configs(), steps)


class SweepJob:
    """All models of a sweep, advanced together in slices: the scheduler's unit of work."""

    def __init__(self, job_id: str, configs: tuple[RunConfig, ...], steps: int | None = None):
        self.run_id, self.configs = job_id, tuple(configs)
        self.steps = steps if steps is not None else configs[0].steps
        self.state, self.error, self.step = "running", None, 0
        n = len(configs)
        self.alive = torch.ones(n, dtype=torch.bool)
        self.model_step = np.zeros(n, np.int64)
        self.diverged_at = np.full(n, -1, np.int64)
        self.final = np.full((2, n), np.nan, np.float32)
        self.evals = History(EVAL_CAPACITY, {"train_loss": (n,), "test_acc": (n,)})
        self._rate, self._mark = 0.0, (time.monotonic(), 0)
        self._began: float | None = None  # monotonic time of the first step
        self._ended: float | None = None
        self._guard(self._build)

    def _build(self) -> None:
        self.data = StackedData(list(self.configs))
        self.net = StackedMLP(list(self.configs), self.data.n_in, self.data.n_out)
        self.opt = StackedOptimizer(self.net, list(self.configs))

    def _guard(self, fn, *args) -> None:
        """Run fn; an exception becomes the job's error state, never a dead worker."""
        try:
            fn(*args)
        except Exception as exc:  # shown on the page, never kills a worker
            self.state, self.error = "error", f"{type(exc).__name__}: {exc}"
            traceback.print_exc()

    @torch.inference_mode()
    def evaluate(self) -> tuple[np.ndarray, np.ndarray]:
        """Training-set loss and test accuracy of every model (eval mode): (N,), (N,)."""
        x, y = self.data.full(test=False)
        logits = self.net.forward(x, False)
        loss = F.cross_entropy(logits.transpose(1, 2), y.expand(self.net.n, -1), reduction="none")
        x, y = self.data.full(test=True)
        acc = (self.net.forward(x, False).argmax(2) == y).float().mean(1)
        dead = ~self.alive
        return loss.mean(1).masked_fill(dead, math.nan).numpy(), acc.masked_fill(
            dead, math.nan
        ).numpy()

    def _record_eval(self) -> None:
        loss, acc = self.evaluate()
        self.evals.append(self.step, {"train_loss": loss, "test_acc": acc})

    def _train_step(self) -> None:
        s = self.step
        if s == 0 or self.evals.wants(s, self.configs[0].eval_every):
            self._record_eval()
        x, y = self.data.batch()
        step = Step(self.net, x, y, self.data.mask)
        bad = ~torch.isfinite(step.loss) & self.alive
        if bad.any():  # as Trainer: the step whose loss is not finite is not taken
            self.diverged_at[bad.numpy()] = s + 1
            self.alive &= ~bad
        if self.alive.any():
            self.opt.step(step.grad(self.alive.float()), self.alive)
        self.model_step[self.alive.numpy()] += 1
        self.step = s + 1

    def advance(self, budget_s: float = math.inf, max_steps: int | None = None) -> int:
        """Train every model for up to budget_s seconds (or max_steps); returns the steps taken."""
        if self.state in TERMINAL:
            return 0
        start, taken = time.perf_counter(), 0
        if self._began is None:
            self._began = time.monotonic()
        limit = (
            self.steps - self.step if max_steps is None else min(max_steps, self.steps - self.step)
        )
        with fast_matmul():
            while taken < limit and self.state not in TERMINAL and self.alive.any():
                self._guard(self._train_step)
                taken += 1
                if time.perf_counter() - start >= budget_s:
                    break
            if (self.step >= self.steps or not self.alive.any()) and self.state not in TERMINAL:
                self._guard(self._finish)
        return taken

    def _finish(self) -> None:
        if self.alive.any():
            self._record_eval()
            last = self.evals.view()
            self.final = np.stack([last["train_loss"][-1], last["test_acc"][-1]])
        self.state = "finished"
        self._ended = time.monotonic()

    def snapshot(self) -> SweepSnapshot:
        """An immutable copy of the per-model tables."""
        now = time.monotonic()
        t0, s0 = self._mark
        if now - t0 >= 0.2:
            self._rate = (self.step - s0) / (now - t0) if self.state == "running" else 0.0
            self._mark = (now, self.step)
        ev = self.evals.view()
        states = np.where(
            self.diverged_at >= 0, "diverged", "finished" if self.state == "finished" else "running"
        )
        return SweepSnapshot(
            self.run_id, self.state, self.step, self.steps, self._rate, time.time(), self.error,
            self.configs, ev["step"], ev["train_loss"].T.copy(), ev["test_acc"].T.copy(),
            self.final[0].copy(), self.final[1].copy(), states, self.model_step.copy(),
            self.diverged_at.copy(), wall_s=self._wall(now),
        )  # fmt: skip

    def _wall(self, now: float) -> float:
        """Seconds since the first step (until the end, once finished)."""
        if self._began is None:
            return 0.0
        return (self._ended if self._ended is not None else now) - self._began


def train_sweep(base: RunConfig, changes: list[dict], steps: int | None = None) -> SweepResult:
    """Train one model per change, all at once, in the caller's thread (tests, notebooks)."""
    job = SweepSpec(base, tuple(changes), steps).build("sweep")
    while job.state == "running":
        job.advance()
    if job.state == "error":
        raise RuntimeError(job.error)
    s = job.snapshot()
    return SweepResult(
        s.configs, s.eval_step, s.train_loss, s.test_acc, s.final_loss, s.final_acc,
        s.model_state, s.diverged_at,
    )  # fmt: skip
