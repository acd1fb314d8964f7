"""Cost of telemetry: a bare torch loop vs the runner's Stepper at each net's default sampling.

    python bench/telemetry_overhead.py [steps]

Both sides build their model and data before the clock starts and then train the same
model on the same batches; the runner side adds what a lab run pays: telemetry every
log_every steps, evaluations every eval_every steps, the loss history, and a snapshot every
0.4 s of its CPU time, as a worker takes. The sides take turns every 10 steps in one process,
each going first in every other turn, and each sums its CPU time (time.process_time): on this
shared virtual machine the speed of both drifts by ±15 % within a minute, which alternating
whole runs measured as overhead.
The overhead is runner time / bare time - 1 over the whole run, with a 95 % interval: a
bootstrap (scipy.stats.bootstrap, paired) over blocks of BLOCK steps, one evaluation period
of the default grid, so that each block holds the same share of samples and evaluations.
The process keeps freed memory as a worker process does (pool.keep_freed_memory; it applies
to both sides). Also printed: 25/100 (RunConfig's default sampling), 50/100, 100/100,
100/200, and the runner with telemetry and evaluation off ("base"), so the cost of each part
shows; "A/A", a second bare loop in the runner's place (what the harness reads where there is
no difference); and for the lab's nets, where the runner's extra time goes at its default (a
separate pass that times each part).
Target: overhead <= 3 % (<= 5 % at worst).
"""

import contextlib
import sys
import time
from collections import defaultdict

import numpy as np
import torch
from _common import BareLoop
from scipy.stats import bootstrap

from bnviz.config import RunConfig
from bnviz.lessons.batchnorm_lab import DEFAULT, pair
from bnviz.pool import keep_freed_memory
from bnviz.stepper import Stepper
from bnviz.telemetry import Telemetry
from bnviz.train import Trainer

torch.set_num_threads(1)
keep_freed_memory()
CHUNK = 10  # steps each side takes before the other's turn
BLOCK = 100  # steps per resampled block (the default evaluation period)


def percent(bare: np.ndarray, runner: np.ndarray, axis: int = -1) -> np.ndarray:
    """Runner time over bare time - 1, in % (along `axis`, for the bootstrap's resamples)."""
    return 100 * (runner.sum(axis) / bare.sum(axis) - 1)


def alternate(cfg: RunConfig, steps: int) -> tuple[np.ndarray, np.ndarray]:
    """CPU seconds of the bare loop and of the runner per BLOCK steps, taking turns."""
    stepper = Stepper("bench", cfg.replace(steps=steps + CHUNK))
    spent = last = 0.0

    def runner(n: int) -> None:
        nonlocal spent, last
        start = time.process_time()
        stepper.advance(max_steps=n)
        if spent - last > 0.4:  # a worker's snapshot every 0.4 s of its time
            stepper.snapshot()
            last = spent
        spent += time.process_time() - start

    return take_turns(BareLoop(cfg).run, runner, steps)


def take_turns(a, b, steps: int) -> tuple[np.ndarray, np.ndarray]:
    """CPU seconds of a(CHUNK) and of b(CHUNK) per BLOCK steps, in turns. Each side goes first
    in every other turn, so neither always runs on what the other left in the caches. Two bare
    loops of one config still read -2.8 to +1.1 % here over 8000 steps (six runs): the
    interval covers the blocks' spread, not this, so read differences under ~1.5 % as noise."""
    a(CHUNK), b(CHUNK)  # warm up both
    blocks = steps // BLOCK
    times = np.zeros((2, blocks))
    for k in range(blocks * BLOCK // CHUNK):
        for side in (0, 1) if k % 2 == 0 else (1, 0):
            start = time.process_time()
            (a, b)[side](CHUNK)
            times[side, k * CHUNK // BLOCK] += time.process_time() - start
    return times[0], times[1]


def overhead(cfg: RunConfig, steps: int, same=False) -> tuple[float, float, tuple[float, float]]:
    """(bare steps/s, runner overhead in %, its 95 % interval) over `steps` steps; same=True:
    a second bare loop in the runner's place (the harness's own error, an A/A test)."""
    if same:
        bare, runner = take_turns(BareLoop(cfg).run, BareLoop(cfg).run, steps)
    else:
        bare, runner = alternate(cfg, steps)
    blocks = len(bare)
    ci = bootstrap((bare, runner), percent, paired=True, n_resamples=2000, random_state=0)
    low, high = ci.confidence_interval
    return blocks * BLOCK / bare.sum(), float(percent(bare, runner)), (low, high)


PARTS = {  # what the runner does beyond a bare step, by the methods that do it
    "evaluation": [(Trainer, "record_eval")],
    "capture": [(Telemetry, "begin"), (Telemetry, "after_backward"), (Telemetry, "after_step")],
    "reduction": [(Telemetry, "flush")],
    "snapshot": [(Stepper, "snapshot")],
}


@contextlib.contextmanager
def timed_parts():
    """{part: CPU seconds} spent in PARTS' methods while inside (a call inside another part's
    call, such as a snapshot's reduction, counts for the inner part only)."""
    spent: dict[str, float] = defaultdict(float)
    stack: list[str] = []
    saved = []
    for part, methods in PARTS.items():
        for cls, name in methods:
            original = getattr(cls, name)
            saved.append((cls, name, original))

            def timed(*args, _original=original, _part=part, **kwargs):
                start = time.process_time()
                stack.append(_part)
                try:
                    return _original(*args, **kwargs)
                finally:
                    stack.pop()
                    took = time.process_time() - start
                    spent[_part] += took
                    if stack:
                        spent[stack[-1]] -= took

            setattr(cls, name, timed)
    try:
        yield spent
    finally:
        for cls, name, original in saved:
            setattr(cls, name, original)


def where_it_goes(cfg: RunConfig, steps: int) -> str:
    """The runner's extra CPU time by part, in % of the bare loop's (a separate pass)."""
    with timed_parts() as spent:
        bare, runner = alternate(cfg, steps)
    parts = {k: 100 * v / bare.sum() for k, v in spent.items()}
    parts["steps and bookkeeping"] = float(percent(bare, runner)) - sum(parts.values())
    return ", ".join(f"{k} {v:+.1f} %" for k, v in parts.items())


def show(value: float, interval: tuple[float, float]) -> str:
    return f"{value:+5.1f} % [{interval[0]:+.1f}, {interval[1]:+.1f}]"


def main() -> None:
    steps = int(sys.argv[1]) if len(sys.argv) > 1 else 8000
    lab = pair(DEFAULT.replace(steps=steps))
    print(f"{steps} steps per side; overhead [95 % interval]", flush=True)
    for name, cfg in {
        "lab default (moons 4x64 tanh), no BN": lab["plain"],
        "lab default (moons 4x64 tanh), BN": lab["bn"],
        "2-D, 3x64 tanh, SGD+momentum": RunConfig(steps=steps),
        "2-D, 3x64 tanh, BN": RunConfig(steps=steps, norm="batchnorm"),
        "digits, 3x100 sigmoid, BN": RunConfig(
            dataset="digits", width=100, activation="sigmoid", norm="batchnorm", steps=steps
        ),
    }.items():
        rate, default, ci = overhead(cfg, steps)
        parts = [f"at {cfg.log_every}/{cfg.eval_every} {show(default, ci)}"]
        for log_every, eval_every in ((25, 100), (50, 100), (100, 100), (100, 200), (1000, 5000)):
            if (log_every, eval_every) != (cfg.log_every, cfg.eval_every):
                _, value, ci = overhead(
                    cfg.replace(log_every=log_every, eval_every=eval_every), steps
                )
                label = "base" if log_every == 1000 else f"{log_every}/{eval_every}"
                parts.append(f"{label} {show(value, ci)}")
        _, value, ci = overhead(cfg, steps, same=True)
        parts.append(f"A/A {show(value, ci)}")
        print(f"{name:38s} bare {rate:5.0f} steps/s | " + " | ".join(parts), flush=True)
        if name.startswith("lab"):
            print(f"{'':38s} where it goes: {where_it_goes(cfg, steps)}", flush=True)


if __name__ == "__main__":
    main()
