"""A sweep of N models trained at once vs N bare PyTorch loops one after the other.

    python bench/sweep.py [steps]

Models of the BatchNorm lab's default shape (moons, 4 x 64 tanh, SGD, batch 64), learning rate
and init scale varied, the same seed. Both sides train N x steps model-steps; the batched side
is a real SweepJob (with its evaluations every eval_every steps), measured with 1 and 2 torch
threads. Peak memory: the highest RSS above the level before the sweep was built (sampled).
Target: ratio >= 10 at N = 64.
"""

import os
import sys
import threading
import time

import numpy as np
import torch
from _common import bare_loop, rss_mb

from bnviz.lessons.batchnorm_lab import DEFAULT
from bnviz.sweep import SweepSpec


def changes(n: int) -> tuple[dict, ...]:
    """n settings on a log grid of lr x init scale."""
    lrs = np.geomspace(0.03, 1.0, n)
    scales = np.geomspace(0.3, 3.0, n)[np.random.default_rng(0).permutation(n)]
    return tuple(
        {"lr": float(a), "init": "scaled", "init_scale": float(b)}
        for a, b in zip(lrs, scales, strict=True)
    )


def sequential(n: int, steps: int) -> float:
    """Seconds for n bare loops of `steps` steps, one after the other (1 thread)."""
    torch.set_num_threads(1)
    start = time.perf_counter()
    for change in changes(n):
        bare_loop(DEFAULT.replace(**change), steps)
    return time.perf_counter() - start


def batched(n: int, steps: int, threads: int) -> tuple[float, float]:
    """(seconds, peak extra RSS in MB) of one SweepJob of n models."""
    torch.set_num_threads(threads)
    base_rss, peak, done = rss_mb(), [0.0], threading.Event()

    def sample() -> None:
        while not done.wait(0.02):
            peak[0] = max(peak[0], rss_mb() - base_rss)

    watcher = threading.Thread(target=sample, daemon=True)
    watcher.start()
    start = time.perf_counter()
    job = SweepSpec(DEFAULT, changes(n), steps).build("bench")
    while job.state == "running":
        job.advance()
    seconds = time.perf_counter() - start
    done.set()
    watcher.join()
    assert job.state == "finished", job.error
    return seconds, max(peak[0], rss_mb() - base_rss)


def main() -> None:
    steps = int(sys.argv[1]) if len(sys.argv) > 1 else 200
    batched(4, 5, 1)  # warm up torch's lazy paths
    sequential(2, 5)
    load = os.getloadavg()[0]
    print(f"{steps} steps per model; model-steps/s (higher is better); load average {load:.1f}")
    for n in (16, 64, 256):
        seq = sequential(n, steps)
        one, mem1 = batched(n, steps, 1)
        two, mem2 = batched(n, steps, 2)
        rate = n * steps
        print(
            f"N = {n:3d}: sequential {rate / seq:7.0f} | batched 1 thread {rate / one:7.0f} "
            f"(ratio {seq / one:5.1f}, peak +{mem1:.0f} MB) | 2 threads {rate / two:7.0f} "
            f"(ratio {seq / two:5.1f}, peak +{mem2:.0f} MB)"
        )


if __name__ == "__main__":
    main()
