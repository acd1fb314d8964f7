"""Cost of telemetry: a bare torch loop vs the runner's Stepper at default sampling.

    python bench/telemetry_overhead.py [steps]

Both sides build their model and data before the clock starts and then train the same
model on the same batches; the runner side adds what a lab run pays: telemetry every
log_every steps, evaluations every eval_every steps, the loss history, and a snapshot every
0.4 s as a worker takes. Timed alternately in one process (5 rounds, median), in CPU time
of this process (time.process_time): on a shared machine wall time measures the neighbours.
The process keeps freed memory as a worker process does (pool.keep_freed_memory; it applies
to both sides).
Target: overhead ≤ 3 % (≤ 5 % at worst).
"""

import sys
import time

import torch
from _common import BareLoop, median

from bnviz.config import RunConfig
from bnviz.lessons.batchnorm_lab import DEFAULT, pair
from bnviz.pool import keep_freed_memory
from bnviz.stepper import Stepper

torch.set_num_threads(1)
keep_freed_memory()


def through_runner(cfg: RunConfig, steps: int) -> float:
    stepper = Stepper("bench", cfg, steps)  # built before the clock, like BareLoop
    start, last = time.process_time(), time.perf_counter()
    while stepper.state == "running":
        stepper.advance(budget_s=0.05)
        if time.perf_counter() - last > 0.4:
            stepper.snapshot()
            last = time.perf_counter()
    return steps / (time.process_time() - start)


def bare(cfg: RunConfig, steps: int) -> float:
    loop = BareLoop(cfg)
    start = time.process_time()
    loop.run(steps)
    return steps / (time.process_time() - start)


def main() -> None:
    steps = int(sys.argv[1]) if len(sys.argv) > 1 else 3000
    lab = pair(DEFAULT.replace(steps=steps))
    for name, cfg in {
        "lab default (moons 4x64 tanh), no BN": lab["plain"],
        "lab default (moons 4x64 tanh), BN": lab["bn"],
        "2-D, 3x64 tanh, SGD+momentum": RunConfig(steps=steps),
        "2-D, 3x64 tanh, BN": RunConfig(steps=steps, norm="batchnorm"),
        "digits, 3x100 sigmoid, BN": RunConfig(
            dataset="digits", width=100, activation="sigmoid", norm="batchnorm", steps=steps
        ),
    }.items():
        bare(cfg, 200), through_runner(cfg, 200)  # warm up
        b, r = [], []
        for _ in range(5):
            b.append(bare(cfg, steps))
            r.append(through_runner(cfg, steps))
        mb, mr = median(b), median(r)
        print(f"{name:38s} bare {mb:7.0f} steps/s | runner {mr:7.0f} steps/s | "
              f"ratio {mr / mb:.3f} (overhead {100 * (1 - mr / mb):+.1f} %)")  # fmt: skip


if __name__ == "__main__":
    main()
