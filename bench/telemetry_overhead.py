"""Cost of telemetry: a bare torch loop vs the runner's Stepper, over whole runs.

    python bench/telemetry_overhead.py [rounds] [steps]

(steps: every run that long instead of its own length; 8000 gives the steady state.)

A round is one run from step 0 to its last step (the lab's: 1500), on both sides, built fresh
before the clock starts: the bare loop trains the model on the run's batches; the runner does
what a worker does for a lab run: telemetry every log_every steps, evaluations every eval_every
steps (run in bursts when a snapshot reads them), the loss history, a snapshot every 0.4 s of
its CPU time and one when the run ends. The sides take turns every 10 steps in one process,
each going first in every other turn, and each sums its CPU time (time.process_time): on this
shared virtual machine the speed of both drifts by ±15 % within a minute, which alternating
whole runs measured as overhead. Fresh objects every round, because one pair of objects keeps
a bias of its own of up to ±1 % (where their tensors landed in memory): an interval over the
blocks of one pair's run did not cover it, so the interval here is over rounds.
The overhead is runner time / bare time - 1 over all rounds, with a 95 % interval (a paired
bootstrap over rounds, scipy.stats.bootstrap) and the lowest and highest round.
The process keeps freed memory as a worker process does (pool.keep_freed_memory; it applies
to both sides). Also printed: 25/100 (RunConfig's default sampling), 50/100, 100/100,
100/200, 200/100, and the runner with telemetry and evaluation off but for step 0 ("base"), so
the cost of each part shows; "A/A", a second bare loop in the runner's place (what the harness
reads where there is no difference); and for the lab's nets, where the runner's extra time goes
at its default (a separate pass that times each part), and the overhead without the
evaluations' arithmetic and without the decision boundary (what removing each would save,
after-costs included).
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
ROUNDS = 8  # fresh runs per figure
WARM_STEPS = 300  # a run of each side first, untimed: code paths, caches, allocator


def percent(bare: np.ndarray, runner: np.ndarray, axis: int = -1) -> np.ndarray:
    """Runner time over bare time - 1, in % (along `axis`, for the bootstrap's resamples)."""
    return 100 * (runner.sum(axis) / bare.sum(axis) - 1)


def runner_side(cfg: RunConfig):
    """A function that advances a fresh run by n steps as a worker does, and its Stepper."""
    stepper = Stepper("bench", cfg)
    spent = last = 0.0

    def runner(n: int) -> None:
        nonlocal spent, last
        start = time.process_time()
        stepper.advance(max_steps=n)  # at the last step: the final evaluation
        if spent - last > 0.4 or stepper.state == "finished":  # a worker's snapshots
            stepper.snapshot()
            last = spent
        spent += time.process_time() - start

    return runner, stepper


def take_turns(a, b, steps: int) -> tuple[float, float]:
    """CPU seconds of `steps` steps of a and of b, taken CHUNK steps at a time in turns. Each
    side goes first in every other turn, so neither always runs on what the other left in the
    caches."""
    times = [0.0, 0.0]
    for k in range(-(-steps // CHUNK)):
        n = min(CHUNK, steps - k * CHUNK)
        for side in (0, 1) if k % 2 == 0 else (1, 0):
            start = time.process_time()
            (a, b)[side](n)
            times[side] += time.process_time() - start
    return times[0], times[1]


def warm(cfg: RunConfig) -> None:
    """Run both sides once, untimed."""
    take_turns(BareLoop(cfg).run, runner_side(cfg)[0], min(WARM_STEPS, cfg.steps))


def rounds(cfg: RunConfig, n: int, same=False) -> tuple[np.ndarray, np.ndarray]:
    """CPU seconds of the bare loop and of the runner for each of n whole runs of cfg, fresh
    objects each; same=True: a second bare loop in the runner's place (an A/A test)."""
    warm(cfg)
    bare, runner = np.zeros(n), np.zeros(n)
    for r in range(n):
        if same:
            b = BareLoop(cfg).run
        else:
            b, stepper = runner_side(cfg)
        bare[r], runner[r] = take_turns(BareLoop(cfg).run, b, cfg.steps)
        if not same:
            assert stepper.state == "finished", stepper.state
    return bare, runner


def overhead(cfg: RunConfig, n: int, same=False) -> tuple[float, float, tuple[float, ...]]:
    """(bare steps/s, runner overhead in %, its 95 % interval and the range of rounds) over
    n whole runs of cfg; same=True: a second bare loop in the runner's place."""
    bare, runner = rounds(cfg, n, same)
    ci = bootstrap(
        (bare, runner), percent, paired=True, n_resamples=2000, random_state=0,
        method="percentile",
    ).confidence_interval  # fmt: skip
    each = 100 * (runner / bare - 1)
    return n * cfg.steps / bare.sum(), float(percent(bare, runner)), (
        ci.low, ci.high, each.min(), each.max()
    )  # fmt: skip


PARTS = {  # what the runner does beyond a bare step, by the methods that do it
    "evaluation": [(Trainer, "record_eval"), (Trainer, "run_evals")],
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


def where_it_goes(cfg: RunConfig, n: int) -> str:
    """The runner's extra CPU time by part, in % of the bare loop's (a separate pass)."""
    with timed_parts() as spent:
        bare, runner = rounds(cfg, n)
    parts = {k: 100 * v / bare.sum() for k, v in spent.items()}
    parts["steps and bookkeeping"] = float(percent(bare, runner)) - sum(parts.values())
    return ", ".join(f"{k} {v:+.1f} %" for k, v in parts.items())


@contextlib.contextmanager
def removed(part: str):
    """The runner without one part's work while inside: "evaluation arithmetic" (every
    evaluation returns the run's first row: copies of the state are still kept and put back),
    or "decision boundary" (none drawn). What it saves includes what the timers of
    where_it_goes() miss: the slower steps after a burst of large products."""
    if part == "decision boundary":
        saved, replacement = ("boundary", Trainer.boundary), lambda self, *args: None
    else:
        first: dict[int, dict] = {}
        original = Trainer._evaluate

        def replacement(self):
            if id(self) not in first:
                first[id(self)] = original(self)
            return first[id(self)]

        saved = ("_evaluate", original)
    setattr(Trainer, saved[0], replacement)
    try:
        yield
    finally:
        setattr(Trainer, *saved)


def show(value: float, interval: tuple[float, ...]) -> str:
    low, high, least, most = interval
    return f"{value:+5.1f} % [{low:+.1f}, {high:+.1f}] (rounds {least:+.1f}..{most:+.1f})"


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else ROUNDS
    length = {"steps": int(sys.argv[2])} if len(sys.argv) > 2 else {}
    lab = pair(DEFAULT.replace(**length))
    print(f"{n} whole runs per figure; overhead [95 % interval] (lowest..highest run)", flush=True)
    for name, cfg in {
        "lab default (moons 4x64 tanh), no BN": lab["plain"],
        "lab default (moons 4x64 tanh), BN": lab["bn"],
        "2-D, 3x64 tanh, SGD+momentum": RunConfig(**length),
        "2-D, 3x64 tanh, BN": RunConfig(norm="batchnorm", **length),
        "digits, 3x100 sigmoid, BN": RunConfig(
            dataset="digits", width=100, activation="sigmoid", norm="batchnorm", **length
        ),
    }.items():
        rate, default, ci = overhead(cfg, n)
        parts = [f"at {cfg.log_every}/{cfg.eval_every} {show(default, ci)}"]
        grid = ((25, 100), (50, 100), (100, 100), (100, 200), (200, 100), (1000, 5000))
        for log_every, eval_every in grid:
            if (log_every, eval_every) != (cfg.log_every, cfg.eval_every):
                _, value, ci = overhead(cfg.replace(log_every=log_every, eval_every=eval_every), n)
                label = "base" if log_every == 1000 else f"{log_every}/{eval_every}"
                parts.append(f"{label} {show(value, ci)}")
        _, value, ci = overhead(cfg, n, same=True)
        parts.append(f"A/A {show(value, ci)}")
        print(f"{name} ({cfg.steps} steps), bare {rate:.0f} steps/s:", flush=True)
        for part in parts:
            print(f"    {part}", flush=True)
        if name.startswith("lab"):
            print(f"    where it goes: {where_it_goes(cfg, n)}", flush=True)
            for part in ("evaluation arithmetic", "decision boundary"):
                with removed(part):
                    _, value, ci = overhead(cfg, n)
                print(f"    without the {part}: {show(value, ci)}", flush=True)


if __name__ == "__main__":
    main()
