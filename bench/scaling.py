"""Two runs at once vs one: total steps/s through the scheduler, threads vs processes.

    python bench/scaling.py [seconds]

A simulated page polls the snapshots twice a second. Target (process workers): ≥ 1.7x.
"""

import sys
import time

from _common import Poller

from bnviz.config import RunConfig
from bnviz.runner import Scheduler

CFG = RunConfig(steps=100_000)


def total_rate(sched: Scheduler, n_runs: int, seconds: float) -> tuple[float, float]:
    runs = [
        sched.start(CFG.replace(seed=100 + i + 10 * n_runs), "bench", str(i)) for i in range(n_runs)
    ]
    poller = Poller(sched, [r.run_id for r in runs])
    poller.start()
    time.sleep(2.0)  # let them get going
    s0 = sum(sched.poll(r.run_id).step for r in runs)
    time.sleep(seconds)
    s1 = sum(sched.poll(r.run_id).step for r in runs)
    poller.stop.set()
    for r in runs:
        sched.control(r.run_id, "stop")
    time.sleep(0.5)
    worst = max(poller.latencies) * 1000 if poller.latencies else float("nan")
    return (s1 - s0) / seconds, worst


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
