"""BatchNorm lab: the pair of runs (identical but for BN), its presets, and their claims."""

from __future__ import annotations

import numpy as np

from bnviz.config import RunConfig
from bnviz.stepper import Snapshot
from bnviz.telemetry import Q15, Q50, Q85

# What the page shows before anyone touches it: a quick, clear BN win on a 2-D set.
DEFAULT = RunConfig(
    dataset="moons", depth=4, width=64, activation="tanh", optimizer="sgd", lr=1.0, steps=1500
)

# Each preset reproduces one claim of the notes (seeds 001, 002, 004); tests check every claim.
PRESETS: dict[str, dict] = {
    # Ioffe & Szegedy 2015 Fig. 1: 3x100 sigmoid, batch 60, SGD (digits instead of MNIST).
    "ioffe": dict(dataset="digits", depth=3, width=100, activation="sigmoid", init="xavier",
                  optimizer="sgd", lr=0.5, batch_size=60, steps=3000),
    # A learning rate that no-BN cannot take: it stalls with saturated units; BN trains.
    "large_lr": dict(dataset="moons", depth=4, width=64, activation="tanh", init="xavier",
                     optimizer="sgd", lr=3.0, steps=1500),
    # 0.01·randn in 6 tanh layers: activations collapse to 0, nothing learns without BN.
    "small_init": dict(dataset="circles", depth=6, width=64, activation="tanh", init="small",
                       optimizer="momentum", lr=0.05, steps=1500),
    # 1.0·randn: tanh saturates at ±1 without BN.
    "large_init": dict(dataset="circles", depth=6, width=64, activation="tanh", init="large",
                       optimizer="momentum", lr=0.05, steps=1500),
    # 8 sigmoid layers: saturation per layer without BN vs with BN.
    "deep_sigmoid": dict(dataset="moons", depth=8, width=64, activation="sigmoid", init="large",
                         optimizer="momentum", lr=0.05, steps=1500),
}  # fmt: skip


def pair(cfg: RunConfig) -> dict[str, RunConfig]:
    """The two runs of the lab: the same config without and with BatchNorm."""
    return {"plain": cfg.replace(norm="none"), "bn": cfg.replace(norm="batchnorm")}


def preset(name: str, base: RunConfig = DEFAULT) -> RunConfig:
    """The config of a preset (other settings from base)."""
    return base.replace(**PRESETS[name])


# ---------------------------------------------------------------------------- claims


def final_loss(snap: Snapshot) -> float:
    """Training loss at the last evaluation (inf if the run diverged)."""
    if snap.state == "diverged" or not len(snap.evals.get("train_loss", ())):
        return float("inf")
    return float(snap.evals["train_loss"][-1])


def steps_to_accuracy(snap: Snapshot, target: float) -> int | None:
    """First evaluated step whose test accuracy reaches target."""
    acc = snap.evals.get("test_acc", np.zeros(0))
    hits = np.nonzero(acc >= target)[0]
    return int(snap.evals["step"][hits[0]]) if len(hits) else None


def percentile_drift(snap: Snapshot, layer: int = -1, skip: float = 0.1) -> float:
    """How far the 15/50/85 % of a layer's pre-activation wander after the first `skip` share."""
    q = snap.telemetry["pre_q"][:, layer][:, [Q15, Q50, Q85]]
    q = q[int(len(q) * skip) :]
    return float(np.mean(q.max(0) - q.min(0)))


def mean_saturation(snap: Snapshot, last: int = 5) -> np.ndarray:
    """Saturated share per layer over the last `last` telemetry samples."""
    return np.nanmean(snap.telemetry["saturated"][-last:], axis=0)


def _bad_init_claim(plain: Snapshot, bn: Snapshot, collapsed: bool) -> bool:
    """Only BN learns; without it the last layer collapses to 0 (small) or saturates (large)."""
    learns = bn.evals["test_acc"][-1] > 0.9 and plain.evals["test_acc"][-1] < 0.75
    if collapsed:
        q = plain.telemetry["pre_q"][-1, -1]
        return learns and q[-1] - q[0] < 1e-3
    return learns and mean_saturation(plain).mean() > 0.7 > 0.1 > mean_saturation(bn).mean()


def _sooner(bn: Snapshot, plain: Snapshot, target: float) -> bool:
    a, b = steps_to_accuracy(bn, target), steps_to_accuracy(plain, target)
    return a is not None and (b is None or a < b)


# What each preset's sentence claims, as a test on the pair's final snapshots (plain, bn).
CLAIMS = {
    "ioffe": lambda plain, bn: (
        _sooner(bn, plain, 0.9) and percentile_drift(plain) > 2 * percentile_drift(bn)
    ),
    "large_lr": lambda plain, bn: (
        (plain.state == "diverged" or final_loss(plain) > 10 * final_loss(bn))
        and bn.state == "finished"
        and bn.evals["test_acc"][-1] > 0.95
    ),
    "small_init": lambda plain, bn: _bad_init_claim(plain, bn, collapsed=True),
    "large_init": lambda plain, bn: _bad_init_claim(plain, bn, collapsed=False),
    "deep_sigmoid": lambda plain, bn: (
        mean_saturation(plain)[1:].mean() > 0.15 and mean_saturation(bn).max() < 0.05
    ),
}
