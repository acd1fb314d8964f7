"""What a worker runs: the Job protocol, its spec, a generic status, and build_job().

A *job spec* is any frozen picklable object with `key() -> str` and `steps: int` (RunConfig is
one). A worker turns a spec into a Job with build_job(); a RunConfig becomes a Stepper (one
model), any other spec builds itself with `spec.build(job_id, steps)` (e.g. a batched sweep).
One job is one queue place, one quota slot and one progress bar.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from bnviz.config import RunConfig
from bnviz.stepper import TERMINAL, Progress, Snapshot, Stepper

__all__ = ["TERMINAL", "Job", "JobSpec", "JobStatus", "build_job", "placeholder", "restored"]


@runtime_checkable
class JobSpec(Protocol):
    """Frozen, picklable description of a job; equal keys mean the same (shareable) work."""

    steps: int

    def key(self) -> str:
        """A stable identity of the work (the scheduler shares runs by it)."""


class Job(Protocol):
    """Anything a worker can advance in slices and snapshot (set_lr only if it has one)."""

    state: str  # running, paused, or one of TERMINAL
    steps: int

    @property
    def step(self) -> int:
        """Completed steps."""

    @property
    def done(self) -> bool:
        """True once the job will not change any more."""

    @property
    def progress(self) -> float:
        """Completed share of the planned steps."""

    def advance(self, budget_s: float = math.inf, max_steps: int | None = None) -> int:
        """Work for up to budget_s seconds (or max_steps); the steps taken."""

    def snapshot(self) -> Any:
        """Frozen, picklable: run_id, state, step, steps, steps_per_s, taken_at, error."""


@dataclass(frozen=True)
class JobStatus(Progress):
    """The scheduler's stand-in for a job no worker has snapshotted yet (non-RunConfig specs)."""

    run_id: str
    config: Any
    state: str
    step: int = 0
    steps: int = 0
    steps_per_s: float = 0.0
    error: str | None = None
    queue_position: int | None = None
    taken_at: float = 0.0


def build_job(spec: Any, job_id: str, steps: int | None = None) -> Job:
    """A Stepper for a RunConfig; `spec.build(job_id, steps)` for any other spec."""
    total = steps if steps is not None else spec.steps
    if isinstance(spec, RunConfig):
        return Stepper(job_id, spec, total)
    return spec.build(job_id, total)


def restored(spec: Any, blob: bytes | None) -> Stepper | None:
    """The run a checkpoint holds, or None (no checkpoint, not a model run, or one this engine
    cannot read: the worker will say so). Read once per resumed run, in the server process."""
    if not isinstance(spec, RunConfig) or blob is None:
        return None
    try:
        return Stepper.restore(blob)
    except Exception:
        return None


def placeholder(
    spec: Any, job_id: str, steps: int, state: str = "queued", saved: Stepper | None = None
) -> Any:
    """The snapshot shown before a worker has sent one; a run resuming from a checkpoint
    (`saved`, from restored()) shows the checkpoint's step and charts (audit 24: after a restart
    its tabs showed "training · step 0" and empty charts for up to 9 s, until a worker had it)."""
    if saved is not None:
        snap = saved.snapshot()
        return dataclasses.replace(snap, run_id=job_id, state=state, steps_per_s=0.0)
    if isinstance(spec, RunConfig):
        return Snapshot(job_id, spec, state, steps=steps)
    return JobStatus(job_id, spec, state, steps=steps)
