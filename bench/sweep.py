"""A sweep of N models trained at once vs N bare PyTorch loops one after the other.

    python bench/sweep.py [steps] [rounds]

Models of the BatchNorm lab's default shape (moons, 4 x 64 tanh, SGD, batch 64), learning rate
and init scale varied, the same seed. Both sides train N x steps model-steps and are built
before the clock starts:
- sequential: N BareLoops (bench/_common.py: the Trainer's model, batches and optimizer,
  no evaluation), one after the other, torch.set_num_threads(1), torch's default matmul
  (MKL: on one small model it beats oneDNN, whose per-call cost is ~12 us, measured);
- batched: one SweepJob, with its evaluations (full training and test set every eval_every
  steps, and at the first and last step: 2 of them at 100 steps), torch.set_num_threads(1),
  matmuls through oneDNN (bnviz.stacked.fast_matmul; allowed here as in a worker process,
  where the app's sweeps run);
  "2 cores" trains the models past the first half in a helper process (SweepJob cores=2, as
  in the app's worker processes, bnviz.pool.SWEEP_CORES; under 2 x 32 models it keeps one
  core: N = 16 measures the one-core path twice). The helper is started when the job is
  built, before the clock (its start: ~2 s, printed once), and kept for the next sweep, as
  in the app. Before the rounds of each N, one 3-step sweep on each side: the first steps of
  a new shape compile oneDNN's kernels, in each process.
The sides alternate `rounds` times (default 3); each prints its median time, so a burst of
load on this shared machine moves one round, not the result. Peak memory: the highest RSS
of this process above the level before the sweep was built (sampled every 20 ms; a helper
process holds its own half and torch besides).
Both sides keep freed memory, as a worker process does (procs.keep_freed_memory).
Target: ratio >= 10 at N = 64.
"""

import os
import statistics
import sys
import threading
import time

import numpy as np
import torch
from _common import BareLoop, rss_mb

from bnviz.lessons.batchnorm_lab import DEFAULT
from bnviz.pool import SLICE_S
from bnviz.procs import keep_freed_memory
from bnviz.stacked import FAST_MATMUL_ENV
from bnviz.sweep import SweepSpec

os.environ[FAST_MATMUL_ENV] = "1"  # as the app's worker processes do (bnviz/pool.py)


def changes(n: int) -> tuple[dict, ...]:
    """n settings on a log grid of lr x init scale."""
    lrs = np.geomspace(0.03, 1.0, n)
    scales = np.geomspace(0.3, 3.0, n)[np.random.default_rng(0).permutation(n)]
    return tuple(
        {"lr": float(a), "init": "scaled", "init_scale": float(b)}
        for a, b in zip(lrs, scales, strict=True)
    )


def sequential(n: int, steps: int) -> float:
    """Seconds for n bare loops of `steps` steps, one after the other."""
    loops = [BareLoop(DEFAULT.replace(**change)) for change in changes(n)]
    start = time.perf_counter()
    for loop in loops:
        loop.run(steps)
    return time.perf_counter() - start


MOVES = [0]  # times a 2-core sweep moved its helper's parts (the other core was busy)


def batched(n: int, steps: int, cores: int) -> tuple[float, float]:
    """(seconds, peak extra RSS in MB) of one SweepJob of n models."""
    base_rss, peak, done = rss_mb(), [0.0], threading.Event()

    def sample() -> None:
        while not done.wait(0.02):
            peak[0] = max(peak[0], rss_mb() - base_rss)

    watcher = threading.Thread(target=sample, daemon=True)
    watcher.start()
    job = SweepSpec(DEFAULT, changes(n), steps).build("bench", cores=cores)
    start = time.perf_counter()
    while job.state == "running":
        job.advance(SLICE_S)  # as a worker process does
    seconds = time.perf_counter() - start
    done.set()
    watcher.join()
    assert job.state == "finished", job.error
    MOVES[0] += job.moves
    return seconds, max(peak[0], rss_mb() - base_rss)


def main() -> None:
    steps = int(sys.argv[1]) if len(sys.argv) > 1 else 200
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    torch.set_num_threads(1)
    keep_freed_memory()
    batched(4, 5, 1)  # warm up torch's lazy paths
    start = time.perf_counter()
    SweepSpec(DEFAULT, changes(64), 5).build("start", cores=2).close()
    print(f"a 2-core sweep's helper process starts in {time.perf_counter() - start:.1f} s")
    sequential(2, 5)
    load = os.getloadavg()[0]
    print(f"{steps} steps per model, median of {rounds} rounds; model-steps/s (higher is "
          f"better); load average {load:.1f}")  # fmt: skip
    for n in (16, 64, 256):
        seq, one, two, mem = [], [], [], 0.0
        MOVES[0] = 0
        batched(n, 3, 1), batched(n, 3, 2)  # both sides' first steps of a shape compile kernels
        for _ in range(rounds):
            seq.append(sequential(n, steps))
            seconds, peak = batched(n, steps, 1)
            one.append(seconds)
            seconds, peak2 = batched(n, steps, 2)
            two.append(seconds)
            mem = max(mem, peak, peak2)
        s, o, t = (statistics.median(v) for v in (seq, one, two))
        rate = n * steps
        print(
            f"N = {n:3d}: sequential {rate / s:6.0f} | batched 1 core {rate / o:6.0f} "
            f"(ratio {s / o:5.1f}) | 2 cores {rate / t:6.0f} (ratio {s / t:5.1f}) | "
            f"peak +{mem:.0f} MB" + (f" | {MOVES[0]} moves (a core was busy)" if MOVES[0] else "")
        )


if __name__ == "__main__":
    main()
