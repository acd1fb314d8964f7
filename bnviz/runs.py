"""Bookkeeping: the scheduler's records of runs, who watches them, and which run a spec shares.

No threads, no workers, no limits here: runner.Scheduler holds the lock and the policy.
"""

from __future__ import annotations

import dataclasses
import itertools
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from bnviz.jobs import TERMINAL


def store_key(spec: Any, steps: int) -> str:
    """A run's key in the run store: the spec's key, plus the steps when they are not spec's."""
    key = spec.key()
    return key if steps == spec.steps else f"{key}/steps={steps}"


@dataclass
class Run:
    """The scheduler's record of one job (the work itself lives in a worker)."""

    run_id: str
    spec: Any  # a job spec: RunConfig or any frozen object with key() and steps
    steps: int
    snapshot: Any  # the job's latest snapshot (run_id, state, step, steps, ...)
    worker: int | None = None
    sessions: set[str] = field(default_factory=set)
    last_poll: float = field(default_factory=time.monotonic)
    auto_paused: bool = False
    pace: float | None = None  # steps/s cap (classroom pace) sent to the worker with the start
    steered: bool = False  # its learning rate was changed by hand: not the spec's result
    blob: bytes | None = None  # its latest checkpoint (a dead worker's runs resume from it)
    # a job with no checkpoint (a sweep) cut by a server restart at this step: trains from 0
    restarted_at: int | None = None

    @property
    def store_key(self) -> str:
        """Its key in the run store."""
        return store_key(self.spec, self.steps)

    @property
    def state(self) -> str:
        """queued, running, paused, or a TERMINAL state."""
        return self.snapshot.state

    @property
    def open(self) -> bool:
        """Still holds a place (not ended)."""
        return self.state not in TERMINAL

    def mark(self, **changes: object) -> None:
        """Replace fields of the snapshot (those its type has: a job's own may lack some)."""
        names = {f.name for f in dataclasses.fields(self.snapshot)}
        self.snapshot = dataclasses.replace(
            self.snapshot, **{k: v for k, v in changes.items() if k in names}
        )


class Registry:
    """Runs by id, the shared run of each spec key, each (session, slot)'s run, ended runs LRU."""

    def __init__(self):
        self.runs: dict[str, Run] = {}
        self.shared: dict[str, str] = {}  # spec key -> run_id of the shareable run
        self.slots: dict[tuple[str, str], str] = {}  # (session, slot) -> run_id
        self.ended: OrderedDict[str, None] = OrderedDict()  # LRU of ended run ids
        self._ids = itertools.count()

    def add(self, spec: Any, steps: int, snapshot_of) -> Run:
        """A new run of spec, now the one its key shares; snapshot_of(run_id) is its first."""
        run_id = f"{spec.key()}-{next(self._ids)}"
        run = Run(run_id, spec, steps, snapshot_of(run_id))
        self.runs[run_id] = run
        self.shared[spec.key()] = run_id
        return run

    def lookup(self, spec: Any, session: str, slot: str) -> Run | None:
        """The run session watches in slot for spec, else spec's shared run (no side effect)."""
        run = self.runs.get(self.slots.get((session, slot), ""))
        if run is None or run.spec.key() != spec.key():
            run = self.runs.get(self.shared.get(spec.key(), ""))
        return run

    def attach(self, run: Run, session: str, slot: str) -> Run | None:
        """session now watches run in slot; the run it watched there before, if another."""
        old = self.runs.get(self.slots.get((session, slot), ""))
        self.slots[(session, slot)] = run.run_id
        run.sessions.add(session)
        run.last_poll = time.monotonic()
        if old is not None and old is not run:
            if old.run_id not in {rid for (sid, _), rid in self.slots.items() if sid == session}:
                old.sessions.discard(session)  # the tab may still watch it in another slot
            return old
        return None

    def release(self, session: str) -> list[Run]:
        """Forget every slot of session; the runs it watched."""
        left = []
        for key in [k for k in self.slots if k[0] == session]:
            run = self.runs.get(self.slots.pop(key))
            if run is not None:
                run.sessions.discard(session)
                left.append(run)
        return left

    def unshare(self, run: Run) -> None:
        """run stays, but a new request for its spec gets a fresh run (steered by hand)."""
        if self.shared.get(run.spec.key()) == run.run_id:
            del self.shared[run.spec.key()]

    def ended_run(self, run: Run, keep: int) -> None:
        """run ended: it holds no worker; keep only the `keep` most recent ended runs."""
        run.worker = None
        self.ended[run.run_id] = None
        while len(self.ended) > keep:
            old, _ = self.ended.popitem(last=False)
            self.forget(old)

    def forget(self, run_id: str) -> Run | None:
        """Drop a run's record (and its share)."""
        run = self.runs.pop(run_id, None)
        if run is not None:
            self.unshare(run)
        self.ended.pop(run_id, None)
        return run

    def open_runs(self, session: str | None = None) -> list[Run]:
        """Runs that hold a place (of one session, if given)."""
        return [
            r for r in self.runs.values() if r.open and (session is None or session in r.sessions)
        ]

    def count(self, state: str) -> int:
        """How many runs are in state."""
        return sum(1 for r in self.runs.values() if r.state == state)
