"""A job that is not a single-model run: counts steps and keeps a per-model table."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, replace

import numpy as np


@dataclass(frozen=True)
class FakeSnap:
    """A job's own snapshot type (no queue_position, unlike a run's Snapshot)."""

    run_id: str
    state: str
    step: int
    steps: int
    steps_per_s: float
    taken_at: float
    error: str | None
    table: np.ndarray  # (models,) one value per model, like a sweep's

    @property
    def done(self) -> bool:
        """Ended."""
        return self.state in ("finished", "stopped", "error", "interrupted")

    @property
    def progress(self) -> float:
        """Share of steps done."""
        return self.step / self.steps if self.steps else 0.0


@dataclass(frozen=True)
class FakeSpec:
    """models counters advanced together; each step sleeps delay_s."""

    steps: int = 20
    models: int = 3
    delay_s: float = 0.0
    broken: bool = False

    def key(self) -> str:
        """Identity of the work."""
        return f"fake-{self.steps}-{self.models}-{self.delay_s}-{self.broken}"

    def build(self, job_id: str, steps: int) -> FakeJob:
        """The job a worker runs."""
        if self.broken:
            raise ValueError("cannot build")
        return FakeJob(job_id, self, steps)


class FakeJob:
    """Implements the Job protocol without any torch."""

    def __init__(self, job_id: str, spec: FakeSpec, steps: int):
        self.job_id, self.spec, self.steps = job_id, spec, steps
        self.state, self.step = "running", 0
        self.table = np.zeros(spec.models)

    @property
    def done(self) -> bool:
        """Ended."""
        return self.state in ("finished", "stopped", "error")

    @property
    def progress(self) -> float:
        """Share of steps done."""
        return self.step / self.steps

    def advance(self, budget_s: float = math.inf, max_steps: int | None = None) -> int:
        """Count up to max_steps or until budget_s has passed."""
        start, taken = time.perf_counter(), 0
        limit = self.steps - self.step if max_steps is None else max_steps
        while taken < limit and self.step < self.steps:
            time.sleep(self.spec.delay_s)
            self.step += 1
            self.table += np.arange(self.spec.models)
            taken += 1
            if time.perf_counter() - start >= budget_s:
                break
        if self.step >= self.steps:
            self.state = "finished"
        return taken

    def snapshot(self) -> FakeSnap:
        """Frozen copy."""
        return FakeSnap(
            self.job_id, self.state, self.step, self.steps, 0.0, time.time(), None,
            self.table.copy(),
        )  # fmt: skip


def diverge(snap, when):
    """A sweep snapshot as if some models had diverged: when(config) -> the step it diverges
    at, or None. Only models whose step the sweep has reached: diverged_at, "diverged", NaN
    loss and accuracy from that evaluation on (as SweepJob.evaluate masks them)."""
    at = np.array([when(c) or -1 for c in snap.configs], np.int64)
    at[at > snap.step] = -1
    gone = at >= 0
    if not gone.any():
        return snap
    cut = gone[:, None] & (np.asarray(snap.eval_step)[None, :] >= at[:, None])
    return replace(
        snap,
        diverged_at=np.where(gone, at, snap.diverged_at),
        model_state=np.where(gone, "diverged", snap.model_state),
        train_loss=np.where(cut, np.nan, snap.train_loss),
        test_acc=np.where(cut, np.nan, snap.test_acc),
        final_loss=np.where(gone, np.nan, snap.final_loss),
        final_acc=np.where(gone, np.nan, snap.final_acc),
    )
