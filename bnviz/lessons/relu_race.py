"""ReLU vs tanh vs sigmoid: steps to a target loss on one network (Krizhevsky et al.'s 6x).

Trains the engine's own MLP (bnviz.train.Trainer), so the race runs what the lab trains.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from bnviz.config import RunConfig
from bnviz.train import Trainer

# ---------------------------------------------------------------------------- ReLU vs tanh

# Krizhevsky et al. 2012, Fig. 1: a 4-layer CNN on CIFAR-10 reaches 25 % training error six
# times sooner with ReLU than with tanh. Our race is a small MLP on the 8x8 digits, so the
# ratio measured here can be far from 6: no convolutions, a far easier task, and SGD that
# tanh, with f′(0) = 1 like ReLU, follows just as well near the start.
KRIZHEVSKY_SPEEDUP = 6.0
RACE_ACTIVATIONS = ("relu", "tanh", "sigmoid")
RACE_LRS = (0.1, 0.3)  # every activation gets the best of the same learning rates
RACE_SEEDS = (0, 1, 2)
RACE_RUNS = len(RACE_ACTIVATIONS) * len(RACE_LRS) * len(RACE_SEEDS)  # at the defaults
RACE_TARGET = 0.1  # mean cross-entropy on the whole training set
RACE_MAX_STEPS = 2000  # sigmoid needs ~1300 steps to reach 0.3 at the larger rate
RACE_EVERY = 10  # steps between checks of the training loss: the race's resolution


@dataclass(frozen=True, eq=False)
class Race:
    """Steps to a target training loss per activation and seed, best over the same rates."""

    activations: tuple[str, ...]
    seeds: tuple[int, ...]
    lrs: tuple[float, ...]
    target: float
    max_steps: int
    steps: np.ndarray  # (activations, seeds) float; nan: not within max_steps at any rate

    def of(self, name: str) -> np.ndarray:
        """Steps per seed for one activation."""
        return self.steps[self.activations.index(name)]

    def speedup(self, slow: str = "tanh", fast: str = "relu") -> np.ndarray:
        """Per seed: how many times more steps `slow` needs than `fast` (nan if either missed)."""
        return self.of(slow) / self.of(fast)


def steps_to_loss(
    activation: str, lr: float, seed: int, target: float, max_steps: int, every: int = RACE_EVERY
) -> int | None:
    """Steps until the training-set loss is below target (checked every `every` steps)."""
    cfg = RunConfig(
        dataset="digits", depth=4, width=64, activation=activation, init="xavier",
        optimizer="sgd", lr=lr, seed=seed, steps=max_steps, log_every=1000, eval_every=5000,
    )  # fmt: skip
    trainer = Trainer(cfg)
    for step in range(1, max_steps + 1):
        trainer.step()
        if step % every == 0:
            with torch.inference_mode():
                loss = F.cross_entropy(trainer.model(trainer.x), trainer.y).item()
            if loss < target:
                return step
    return None


@functools.lru_cache(maxsize=8)
def convergence_race(
    activations=RACE_ACTIVATIONS, seeds=RACE_SEEDS, lrs=RACE_LRS,
    target: float = RACE_TARGET, max_steps: int = RACE_MAX_STEPS,
    progress: Callable[[int, int], None] | None = None,
) -> Race:  # fmt: skip
    """The same 4 x 64 MLP on digits, the same data order: steps to `target` per activation.

    Cost: up to len(activations) x len(seeds) x len(lrs) x max_steps steps (~1 ms each);
    the page keeps it in the run store, so a server pays it once. `progress(done, total)`
    is called after each training run.
    """
    steps = np.full((len(activations), len(seeds)), np.nan)
    total, done = len(activations) * len(seeds) * len(lrs), 0
    for i, name in enumerate(activations):
        for j, seed in enumerate(seeds):
            found = []
            for lr in lrs:
                found.append(steps_to_loss(name, lr, seed, target, max_steps))
                done += 1
                if progress is not None:
                    progress(done, total)
            found = [f for f in found if f is not None]
            steps[i, j] = min(found) if found else np.nan
    steps.setflags(write=False)
    return Race(tuple(activations), tuple(seeds), tuple(lrs), target, max_steps, steps)


def race_key() -> str:
    """The run-store key of the race at its defaults (the settings in it: a change reruns it)."""
    parts = (RACE_ACTIVATIONS, RACE_SEEDS, RACE_LRS, RACE_TARGET, RACE_MAX_STEPS, RACE_EVERY)
    return "relu_race/" + "/".join(map(str, parts))


def race_ratios(race: Race, fast: str = "relu") -> dict[str, tuple[float, float]]:
    """Per other activation: (lowest, highest) over seeds of its steps / `fast`'s steps.

    A run that never reached the target counts as max_steps, so its ratio is a lower bound.
    """
    capped = np.where(np.isnan(race.steps), race.max_steps, race.steps)
    base = capped[race.activations.index(fast)]
    return {
        name: (float(np.min(row / base)), float(np.max(row / base)))
        for name, row in zip(race.activations, capped, strict=True)
        if name != fast
    }
