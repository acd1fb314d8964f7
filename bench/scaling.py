"""Two runs at once vs one: total steps/s through the scheduler, threads vs processes.

    python bench/scaling.py [seconds]

A simulated page polls the snapshots twice a second. Target (process workers): ≥ 1.7x.
"""

import sys
import time

from _common import polled_rate

from bnviz.config import RunConfig
from bnviz.runner import Scheduler

CFG = RunConfig(steps=100_000)


def total_rate(sched: Scheduler, n_runs: int, seconds: float) -> tuple[float, float]:
    runs = [
        sched.start(CFG.replace(seed=100 + i + 10 * n_runs), "bench", str(i)) for i in range(n_runs)
    ]
    return polled_rate(sched, runs, seconds)


def main() -> None:
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 8.0
    for backend in ("thread", "process"):
        sched = Scheduler(workers=2, backend=backend)
        time.sleep(8 if backend == "process" else 3)  # workers import torch and warm up
        one, lat1 = total_rate(sched, 1, seconds)
        two, lat2 = total_rate(sched, 2, seconds)
        sched.shutdown()
        print(f"{backend:8s} one run {one:6.0f} steps/s | two runs {two:6.0f} steps/s total | "
              f"ratio {two / one:.2f} | slowest poll {max(lat1, lat2):.1f} ms")  # fmt: skip


if __name__ == "__main__":
    main()
