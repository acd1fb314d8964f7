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
  in the app. Before the rounds of each N, one 3-step run of each side: the first steps of
  a new shape compile oneDNN's kernels, in each process.
The three sides take turns every CHUNK (50) steps per model, so this machine's drifting speed
(±25 % within seconds, measured) falls on all of them alike; each of `rounds` (default 3)
such runs is timed, and the median of each side is printed with the range of the 2-core
ratio. Peak memory: the highest RSS of this process above the level before the sides were
built (a helper process holds its own half and torch besides).
Both sides keep freed memory, as a worker process does (procs.keep_freed_memory).
Target: ratio >= 10 at N = 64.
"""

import os
import statistics
import sys
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


CHUNK = 50  # steps per model each side trains before the others take their turn


def rounds_of(n: int, steps: int, peak: list) -> dict[str, float]:
    """Seconds each side took for n models x `steps` steps, the sides taking turns every CHUNK
    steps (the order rotating), so a burst of load or a change of this machine's speed
    falls on every side alike. Also counts the sweeps' moves into MOVES."""
    loops = [BareLoop(DEFAULT.replace(**change)) for change in changes(n)]
    jobs = {c: SweepSpec(DEFAULT, changes(n), steps).build(f"bench{c}", cores=c) for c in (1, 2)}
    sides = ["sequential", 1, 2]
    spent = dict.fromkeys(sides, 0.0)
    base_rss = rss_mb()
    for k, done in enumerate(range(0, steps, CHUNK)):
        take = min(CHUNK, steps - done)
        for side in sides[k % 3 :] + sides[: k % 3]:
            start = time.perf_counter()
            if side == "sequential":
                for loop in loops:
                    loop.run(take)
            else:
                job = jobs[side]
                while job.state == "running" and job.step < done + take:
                    job.advance(SLICE_S, max_steps=done + take - job.step)  # as a worker does
                if job.step >= steps and job.state == "running":
                    job.advance(SLICE_S)  # the last evaluation
            spent[side] += time.perf_counter() - start
        peak[0] = max(peak[0], rss_mb() - base_rss)
    for job in jobs.values():
        assert job.state == "finished", job.error
        MOVES[0] += job.moves
    return spent


MOVES = [0]  # times a 2-core sweep moved its helper's parts (the other core was busy)


def main() -> None:
    steps = int(sys.argv[1]) if len(sys.argv) > 1 else 200
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    torch.set_num_threads(1)
    keep_freed_memory()
    start = time.perf_counter()
    SweepSpec(DEFAULT, changes(64), 5).build("start", cores=2).close()
    print(f"a 2-core sweep's helper process starts in {time.perf_counter() - start:.1f} s")
    load = os.getloadavg()[0]
    print(f"{steps} steps per model, median of {rounds} rounds; model-steps/s (higher is "
          f"better); load average {load:.1f}")  # fmt: skip
    for n in (16, 64, 256):
        MOVES[0], peak = 0, [0.0]
        rounds_of(n, 3, peak)  # both sides' first steps of a shape compile kernels
        runs = [rounds_of(n, steps, peak) for _ in range(rounds)]
        s, o, t = (statistics.median(r[side] for r in runs) for side in ("sequential", 1, 2))
        ratios = [r["sequential"] / r[2] for r in runs]
        rate = n * steps
        print(
            f"N = {n:3d}: sequential {rate / s:6.0f} | batched 1 core {rate / o:6.0f} "
            f"(ratio {s / o:5.1f}) | 2 cores {rate / t:6.0f} (ratio {s / t:5.1f}; rounds "
            f"{min(ratios):.1f}-{max(ratios):.1f}) | peak +{peak[0]:.0f} MB"
            + (f" | {MOVES[0]} moves (a core was busy)" if MOVES[0] else ""),
            flush=True,
        )


if __name__ == "__main__":
    main()
