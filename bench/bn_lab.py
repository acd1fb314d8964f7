"""The BatchNorm lab's pair through the scheduler vs two bare torch loops; memory of a pair.

    python bench/bn_lab.py [seconds] [long_steps]

1. Throughput: the pair (no BN + BN, default lab settings) trains in the worker processes
   while a simulated page polls both snapshots twice a second; the baseline trains the same
   two models (built before the clock) in bare torch loops in two processes at once, as the
   two workers do. Alternated 3 times.
   Target: ratio close to 1 (the runner's cost: telemetry, evaluations, snapshots, polls).
2. Memory: the pair runs `long_steps` (default 100k) steps; the workers' RSS is read at 10 %
   and at the end. Target: flat.
"""

import multiprocessing as mp
import sys
import time

import torch
from _common import BareLoop, Poller, median, polled_rate, rss_mb

from bnviz.lessons.batchnorm_lab import DEFAULT, pair
from bnviz.runner import Quotas, Scheduler

torch.set_num_threads(1)


def _bare_worker(cfg, ready, go, seconds: float, out) -> None:
    torch.set_num_threads(1)
    loop = BareLoop(cfg)  # built before the clock, like a run in a worker
    loop.run(20)  # pays torch's lazy first-step costs, as the workers' warm-up does
    ready.set()
    go.wait()
    steps, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        loop.run(50)
        steps += 50
    out.put(steps / (time.perf_counter() - start))


def bare_pair(seconds: float) -> float:
    """Total steps/s of the two models, each in its own process (as the two workers run them)."""
    ctx = mp.get_context("spawn")
    go, out = ctx.Event(), ctx.Queue()
    readies = [ctx.Event() for _ in range(2)]
    configs = list(pair(DEFAULT.replace(steps=100_000)).values())
    procs = [
        ctx.Process(target=_bare_worker, args=(cfg, ready, go, seconds, out))
        for cfg, ready in zip(configs, readies, strict=True)
    ]
    for p in procs:
        p.start()
    for ready in readies:
        ready.wait()
    go.set()
    rate = sum(out.get() for _ in procs)
    for p in procs:
        p.join()
    return rate


def runner_pair(sched: Scheduler, seconds: float, seed: int) -> float:
    configs = pair(DEFAULT.replace(steps=100_000, seed=seed))
    runs = [sched.start(cfg, "bench", name) for name, cfg in configs.items()]
    return polled_rate(sched, runs, seconds, settle=1.5)[0]


def memory(sched: Scheduler, steps: int) -> None:
    configs = pair(DEFAULT.replace(steps=steps, seed=999))
    runs = [sched.start(cfg, "bench-mem", name) for name, cfg in configs.items()]
    poller = Poller(sched, [r.run_id for r in runs])
    poller.start()
    pids = [w.pid for w in sched.workers]
    marks = {}
    while True:
        snaps = [sched.poll(r.run_id) for r in runs]
        done = min(s.step for s in snaps)
        for frac in (0.1, 0.5, 1.0):
            if frac not in marks and (done >= frac * steps or all(s.done for s in snaps)):
                marks[frac] = sum(rss_mb(p) for p in pids)
                print(f"  after {done:>7d} steps: workers' RSS {marks[frac]:.1f} MB")
        if all(s.done for s in snaps):
            break
        time.sleep(1.0)
    poller.stop.set()
    rows = len(snaps[1].telemetry["step"]), len(snaps[1].losses["step"])
    print(
        f"memory: {marks[0.1]:.1f} MB at 10 % -> {marks[1.0]:.1f} MB at the end "
        f"(ratio {marks[1.0] / marks[0.1]:.3f}); rows kept: {rows[0]} telemetry, {rows[1]} loss"
    )


def main() -> None:
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 8.0
    long_steps = int(sys.argv[2]) if len(sys.argv) > 2 else 100_000
    sched = Scheduler(workers=2, backend="process", quotas=Quotas(idle_pause_s=1e9))
    time.sleep(8)  # workers import torch and warm up
    bares, runners = [], []
    for i in range(3):
        bares.append(bare_pair(seconds))
        runners.append(runner_pair(sched, seconds, seed=i))
        print(
            f"round {i}: bare pair {bares[-1]:.0f} steps/s, runner pair {runners[-1]:.0f} steps/s"
        )
    b, r = median(bares), median(runners)
    print(
        f"throughput: bare pair {b:.0f} steps/s | runner pair {r:.0f} steps/s | ratio {r / b:.2f}"
    )
    memory(sched, long_steps)
    sched.shutdown()


if __name__ == "__main__":
    main()
