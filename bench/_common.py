"""Shared bits of the benchmarks: run them by hand from the repository's top folder."""

from __future__ import annotations

import os
import statistics
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import torch
from torch.nn import functional as F

from bnviz.config import RunConfig
from bnviz.train import Trainer


class BareLoop:
    """The benchmarks' baseline: a Trainer's model, data and batch order, stepped bare.

    Built before timing, like the runner's side; each step is forward, loss, backward and
    optimizer step on the Trainer's own next mini-batch: no telemetry, no evaluation, no
    loss history, no divergence check.
    """

    def __init__(self, cfg: RunConfig):
        self.trainer = Trainer(cfg)

    def run(self, steps: int) -> None:
        """Train `steps` more steps."""
        tr = self.trainer
        for _ in range(steps):
            xb, yb = tr.next_batch()
            loss = F.cross_entropy(tr.model(xb), yb)
            tr.optimizer.zero_grad(set_to_none=True)
            loss.backward()
            tr.optimizer.step()


def bare_loop(cfg: RunConfig, steps: int) -> torch.nn.Module:
    """The model of cfg trained `steps` steps by a BareLoop (built inside: not for timing)."""
    loop = BareLoop(cfg)
    loop.run(steps)
    return loop.trainer.model


def rss_mb(pid: int | None = None) -> float:
    """Resident memory of a process in MB (Linux /proc)."""
    with open(f"/proc/{pid or os.getpid()}/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def median(values: list[float]) -> float:
    """Median, for alternated repeats."""
    return statistics.median(values)


def median_ms(fn, repeats: int) -> float:
    """Median wall time of fn() in milliseconds (after one warm-up call)."""
    fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return 1e3 * median(times)


class Poller(threading.Thread):
    """A simulated page: polls snapshots of some runs twice a second and touches the arrays."""

    def __init__(self, sched, run_ids: list[str], every: float = 0.5):
        super().__init__(daemon=True)
        self.sched, self.run_ids, self.every = sched, run_ids, every
        self.stop = threading.Event()
        self.polls = 0
        self.latencies: list[float] = []

    def run(self) -> None:
        while not self.stop.wait(self.every):
            t0 = time.perf_counter()
            for rid in self.run_ids:
                snap = self.sched.poll(rid)
                if snap is not None and snap.telemetry:
                    float(snap.telemetry["pre_q"][-1:].sum())
            self.latencies.append(time.perf_counter() - t0)
            self.polls += 1


def polled_rate(sched, runs, seconds: float, settle: float = 2.0) -> tuple[float, float]:
    """Total steps/s of `runs` over `seconds` while a Poller watches them; then stop them.

    Returns (steps/s, slowest poll in ms).
    """
    poller = Poller(sched, [r.run_id for r in runs])
    poller.start()
    time.sleep(settle)  # let them get going
    s0 = sum(sched.poll(r.run_id).step for r in runs)
    time.sleep(seconds)
    s1 = sum(sched.poll(r.run_id).step for r in runs)
    poller.stop.set()
    for r in runs:
        sched.control(r.run_id, "stop")
    time.sleep(0.5)
    worst = max(poller.latencies) * 1000 if poller.latencies else float("nan")
    return (s1 - s0) / seconds, worst
