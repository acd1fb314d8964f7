"""Cost of telemetry: a bare torch loop vs the runner's Stepper at default sampling.

    python bench/telemetry_overhead.py [steps]

Both sides build their model and data before the clock starts and then train the same
model on the same batches; the runner side adds what a lab run pays: telemetry every
log_every steps, evaluations every eval_every steps, the loss history, and a snapshot every
0.4 s of its CPU time, as a worker takes. The sides alternate every 10 steps in one process
and each sums its CPU time (time.process_time): on this shared virtual machine the speed of
both drifts by ±15 % within a minute, which alternating whole runs measured as overhead
(every 50 steps, three repeats of one setting spread over ±2.5 points under load; every
10, over ±1.5).
The process keeps freed memory as a worker process does (pool.keep_freed_memory; it applies
to both sides). Also printed: the runner with telemetry and evaluation off ("base") and at
50/200, so the cost of each part shows.
Target: overhead <= 3 % (<= 5 % at worst).
"""

import sys
import time

import torch
from _common import BareLoop

from bnviz.config import RunConfig
from bnviz.lessons.batchnorm_lab import DEFAULT, pair
from bnviz.pool import keep_freed_memory
from bnviz.stepper import Stepper

torch.set_num_threads(1)
keep_freed_memory()
CHUNK = 10


def overhead(cfg: RunConfig, steps: int) -> tuple[float, float]:
    """(bare steps/s, runner overhead in %) over `steps` steps, alternating CHUNK steps."""
    loop, stepper = BareLoop(cfg), Stepper("bench", cfg.replace(steps=steps + CHUNK))
    loop.run(CHUNK), stepper.advance(max_steps=CHUNK)  # warm up both
    bare = runner = last = 0.0
    for _ in range(steps // CHUNK):
        start = time.process_time()
        loop.run(CHUNK)
        bare += time.process_time() - start
        start = time.process_time()
        stepper.advance(max_steps=CHUNK)
        if runner - last > 0.4:
            stepper.snapshot()
            last = runner
        runner += time.process_time() - start
    return steps / bare, 100 * (runner / bare - 1)


def main() -> None:
    steps = int(sys.argv[1]) if len(sys.argv) > 1 else 6000
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
        rate, default = overhead(cfg, steps)
        _, base = overhead(cfg.replace(log_every=1000, eval_every=5000), steps)
        _, sparse = overhead(cfg.replace(log_every=50, eval_every=200), steps)
        print(f"{name:38s} bare {rate:5.0f} steps/s | overhead at "
              f"{cfg.log_every}/{cfg.eval_every} {default:+5.1f} % | "
              f"base {base:+5.1f} % | 50/200 {sparse:+5.1f} %", flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
