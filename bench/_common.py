"""Shared bits of the benchmarks: run them by hand from the repository's top folder."""

from __future__ import annotations

import os
import statistics
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


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
