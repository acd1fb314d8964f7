"""Running statistics: what BatchNorm's running_mean/running_var track, and batch-size effects.

The live part is an ordinary run (log_every=1) read through `unit_series` and `mode_series`;
`batch_noise` and `batch_of_one` are static experiments computed here with torch.
"""

from __future__ import annotations

import functools
import math
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal, NamedTuple, get_args

import numpy as np
import torch
from torch import nn
from torch.func import vmap

from bnviz.config import SEED_BATCH_NOISE, RunConfig, Validated, setting
from bnviz.datasets import make_dataset
from bnviz.nets import build_mlp, capture_inputs
from bnviz.stepper import Snapshot
from bnviz.telemetry import BN_UNITS

# A small BN net whose statistics move: moons without input standardization (centered inputs
# would pin layer 1's population mean at exactly 0), ReLU so layer 2's mean drifts while it
# learns, every step recorded (~1 ms each on this net) and an evaluation every 10 steps.
DEFAULT = RunConfig(
    dataset="moons", standardize=False, depth=3, width=32, activation="relu", norm="batchnorm",
    optimizer="momentum", lr=0.1, batch_size=32, steps=1000, log_every=1, eval_every=10,
    metrics=("batch_mode", "population"),
)  # fmt: skip
MOMENTA = (0.01, 0.03, 0.1, 0.3, 0.9)  # the momentum slider's stops
Compare = Literal["off", "0.01", "0.03", "0.1", "0.3", "0.9", "cumulative"]
COMPARES = get_args(Compare)
SIZES = (2, 4, 8, 16, 32, 64, 128, 256)  # batch sizes of the batch-noise experiment
NOISE_BATCHES = 400  # batches per size: the spread is then known to about ±4 %


@dataclass(frozen=True)
class View(Validated):
    """Page settings outside the run: a second momentum to compare, and the unit to look at."""

    compare: Compare = "0.9"  # a second run, identical but for momentum (training is the same)
    layer: int = setting(2, lo=1, hi=10)  # 1-based; layer 2's mean moves most on the default
    unit: int = setting(1, lo=1, hi=8)  # 1-based; telemetry keeps the first 8 units


# Each preset shows one claim of the notes; tests/test_running_stats.py checks them.
PRESETS: dict[str, dict] = {
    "default": dict(bn_momentum=0.1, compare="0.9"),  # PyTorch's default against a large one
    "tiny": dict(bn_momentum=0.01, compare="0.1"),  # lags ~100 steps: eval mode poor early
    "batch2": dict(batch_size=2, lr=0.01, compare="0.01"),  # very noisy batch statistics
    "cumulative": dict(bn_momentum=None, compare="0.1"),  # the plain average of every batch
}
RUN_FIELDS = ("bn_momentum", "batch_size", "lr", "steps", "seed")  # the page's run controls


def compare_momentum(compare: str) -> float | None:
    """The momentum of a View.compare choice ('cumulative' -> None)."""
    return None if compare == "cumulative" else float(compare)


def eval_every(batch_size: int) -> int:
    """Evaluation cadence: batch-mode evaluation runs n/B forwards, so small B evaluates less."""
    return max(10, math.ceil(160 / max(batch_size, 1)))  # B=2: every 80 steps, B>=16: 10


def run_configs(cfg: RunConfig, view: View) -> dict[str, RunConfig]:
    """The page's runs: 'main' and, unless off or equal, 'compare' with the other momentum."""
    main = cfg.replace(
        norm="batchnorm", log_every=1, eval_every=eval_every(cfg.batch_size),
        metrics=DEFAULT.metrics,
    )  # fmt: skip
    out = {"main": main}
    if view.compare != "off":
        other = compare_momentum(view.compare)
        if other != main.bn_momentum:
            out["compare"] = main.replace(bn_momentum=other)
    return out


def on_defaults(cfg: RunConfig, view: View) -> bool:
    """The page trains the defaults' runs (any seed): what running_stats.look_for.modes states
    was measured on those (tests/test_claims_seeds.py)."""
    return run_configs(cfg.replace(seed=DEFAULT.seed), view) == run_configs(DEFAULT, View())


def widget_values(values: dict) -> dict:
    """Settings -> the page's widget values: bn_momentum becomes a slider value and a toggle."""
    out = dict(values)
    if "bn_momentum" in out:
        m = out.pop("bn_momentum")
        out["bn_m"] = DEFAULT.bn_momentum if m is None else m
        out["bn_cumulative"] = m is None
    return out


# ---------------------------------------------------------------------------- series of a run


@dataclass(frozen=True)
class UnitSeries:
    """One BN unit over a run: per-step batch and running statistics, population per eval."""

    momentum: float | None
    step: np.ndarray  # (T,) telemetry steps
    batch_mean: np.ndarray  # (T,)
    batch_var: np.ndarray  # (T,) biased (÷B): what the batch is normalized by
    batch_var_unbiased: np.ndarray  # (T,) ÷(B−1): what running_var averages
    running_mean: np.ndarray  # (T,) torch's buffer after the step
    running_var: np.ndarray  # (T,)
    eval_step: np.ndarray  # (E,)
    pop_mean: np.ndarray  # (E,) over the whole training set, the network of that step
    pop_var: np.ndarray  # (E,) biased


@functools.lru_cache(maxsize=64)
def train_size(cfg: RunConfig) -> int:
    """Examples in the training set of cfg."""
    return len(make_dataset(cfg).x_train)


def unit_series(snap: Snapshot, layer: int, unit: int) -> UnitSeries | None:
    """The series of BN layer `layer`, unit `unit` (0-based) of a run; None before any data."""
    tel, ev = snap.telemetry, snap.evals
    if "bn_batch_mean" not in tel or not len(tel["step"]) or not len(ev.get("step", ())):
        return None
    if layer >= tel["bn_batch_mean"].shape[1] or unit >= tel["bn_batch_mean"].shape[2]:
        return None
    b = min(snap.config.batch_size, train_size(snap.config))
    bv = tel["bn_batch_var"][:, layer, unit]
    return UnitSeries(
        snap.config.bn_momentum, tel["step"], tel["bn_batch_mean"][:, layer, unit], bv,
        bv * np.float32(b / (b - 1)) if b > 1 else np.full_like(bv, np.nan),
        tel["bn_running_mean"][:, layer, unit], tel["bn_running_var"][:, layer, unit],
        ev["step"], ev["bn_pop_mean"][:, layer, unit], ev["bn_pop_var"][:, layer, unit],
    )  # fmt: skip


@dataclass(frozen=True)
class ModeSeries:
    """One network evaluated both ways: eval mode (running statistics), train mode (batch)."""

    momentum: float | None
    step: np.ndarray  # (E,)
    running_acc: np.ndarray  # (E,) eval mode: what a deployed model does
    batch_acc: np.ndarray  # (E,) train mode, mini-batches of the training batch size
    running_loss: np.ndarray  # (E,)
    batch_loss: np.ndarray  # (E,)


def mode_series(snap: Snapshot, split: str = "test") -> ModeSeries | None:
    """Loss and accuracy on `split` ('train' or 'test') with running and with batch stats."""
    ev = snap.evals
    if not len(ev.get("step", ())) or f"batch_{split}_acc" not in ev:
        return None
    return ModeSeries(
        snap.config.bn_momentum, ev["step"], ev[f"{split}_acc"], ev[f"batch_{split}_acc"],
        ev[f"{split}_loss"], ev[f"batch_{split}_loss"],
    )  # fmt: skip


# ---------------------------------------------------------------------------- batch noise


@dataclass(frozen=True)
class BatchNoise:
    """Spread across random batches of each BN input unit's batch mean and batch variance."""

    sizes: np.ndarray  # (S,) batch sizes
    mean_std: np.ndarray  # (S, L, U) std across batches of the batch mean
    var_std: np.ndarray  # (S, L, U) std across batches of the (biased) batch variance
    pop_mean: np.ndarray  # (L, U) over the training set
    pop_var: np.ndarray  # (L, U) biased
    pred_mean_std: np.ndarray  # (S, L, U) σ/√B
    pred_var_std: np.ndarray  # (S, L, U) of the biased variance of B independent draws

    def falls(self, layer: int) -> np.ndarray:
        """fall() of each of the layer's recorded units."""
        return self.mean_std[0, layer] / self.mean_std[-1, layer]

    def fall(self, layer: int, unit: int) -> float:
        """How many times less a unit's batch mean jumps at the largest batch size than at the
        smallest (the caption's "about 11 times smaller" in the first BN layer)."""
        return float(self.falls(layer)[unit])


def as_loud(noise: BatchNoise, unit: int | None = None) -> float:
    """Share of (batch size, deeper BN layer, unit) where the unit's batch variance jumps as
    much as the same unit's in the first BN layer or more (relative to each layer's population
    variance): the noise sentence's "as much or more for about half their units or more".
    With `unit`, that unit's share alone (one unit can be quieter at every size)."""
    var = noise.var_std / noise.pop_var[None]  # (sizes, layers, units)
    loud = var[:, 1:] >= var[:, :1]
    return float((loud if unit is None else loud[..., unit]).mean())


NOISE_FIRST = (9.8, 12.3)  # noise_what: the first BN layer's fall, seeds 0-4, units 1-8
NOISE_DEEPER = (1, 19)  # ... and the deeper layers' (measured 1.0-18.8)


def _bn_inputs(model: nn.Module, units: int):
    """A function x -> (each BN layer's input, first `units` columns), pure enough for vmap."""
    norms = [b.norm for b in model.blocks if b.norm is not None]

    def inputs(x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        with capture_inputs(norms) as seen:
            model(x)
        return tuple(z[..., :units] for z in seen)

    return inputs


def _predicted_var_std(z: torch.Tensor, sizes: np.ndarray) -> np.ndarray:
    """Std of the biased variance of B i.i.d. draws: ((B−1)/B)·√(μ4/B − σ⁴(B−3)/(B(B−1)))."""
    c = z - z.mean(0)
    mu4, var = (c**4).mean(0).numpy(), (c**2).mean(0).numpy()
    b = sizes.astype(np.float64)[:, None, None]
    unbiased = mu4 / b - var**2 * (b - 3) / (b * (b - 1))
    return (b - 1) / b * np.sqrt(np.maximum(unbiased, 0))


def batch_noise(
    cfg: RunConfig, sizes: tuple[int, ...] = SIZES, batches: int = NOISE_BATCHES
) -> BatchNoise:
    """The network of cfg at its seeded init, in train mode, on `batches` random mini-batches
    per size (examples drawn independently from the training set): how much the statistics
    that BN normalizes by move from batch to batch. The spread of the mean is σ/√B."""
    d = RunConfig()  # settings that only matter for training do not change the network at init
    network = cfg.replace(
        norm="batchnorm", bn_momentum=d.bn_momentum, optimizer=d.optimizer, lr=d.lr,
        momentum=d.momentum, batch_size=d.batch_size, steps=d.steps, log_every=d.log_every,
        eval_every=d.eval_every,
    ).canonical()  # fmt: skip
    return _batch_noise(network, tuple(sizes), batches)


@functools.lru_cache(maxsize=16)
def _batch_noise(cfg: RunConfig, sizes: tuple[int, ...], batches: int) -> BatchNoise:
    data = make_dataset(cfg)
    x = torch.from_numpy(data.x_train)
    model = build_mlp(cfg, data.n_features, data.n_classes).train()
    for norm in (b.norm for b in model.blocks):
        norm.track_running_stats = False  # batch statistics only, no buffer writes (vmap-safe)
    units = min(BN_UNITS, cfg.width)
    inputs = _bn_inputs(model, units)
    gen = torch.Generator().manual_seed(cfg.seed + SEED_BATCH_NOISE)
    mean_std, var_std = [], []
    with torch.no_grad():
        population = torch.stack(inputs(x))  # (L, N, U): BN with whole-set statistics
        for size in sizes:
            idx = torch.randint(len(x), (batches, size), generator=gen)
            z = torch.stack(vmap(inputs)(x[idx]))  # (L, K, B, U), each batch normalized alone
            mean_std.append(z.mean(2).std(1).numpy())
            var_std.append(z.var(2, unbiased=False).std(1).numpy())
    pop = population.transpose(0, 1)  # (N, L, U)
    sizes_arr = np.asarray(sizes)
    pop_var = pop.var(0, unbiased=False).numpy()
    return BatchNoise(
        sizes_arr, np.stack(mean_std), np.stack(var_std), pop.mean(0).numpy(), pop_var,
        np.sqrt(pop_var)[None] / np.sqrt(sizes_arr)[:, None, None],
        _predicted_var_std(pop, sizes_arr),
    )  # fmt: skip


# ---------------------------------------------------------------------------- batch size 1


@dataclass(frozen=True)
class BatchOfOne:
    """What torch does with a batch of one example: train-mode BN, eval-mode BN, LN, GN."""

    x: np.ndarray  # (C,) the example
    train_error: str  # PyTorch's message for BatchNorm1d in train mode
    batch_mean: np.ndarray  # (C,) = x: the mean of one value is that value
    batch_var: np.ndarray  # (C,) = 0: so (x − mean)/√(0 + ε) = 0 for every input
    unbiased_var: np.ndarray  # (C,) NaN: 0/0, what running_var would have averaged
    would_be: np.ndarray  # (C,) zeros: the normalized output if it were allowed
    running_mean: np.ndarray  # (C,) after training on batches of 32
    running_var: np.ndarray  # (C,)
    eval_output: np.ndarray  # (C,) eval mode: (x − running_mean)/√(running_var + ε)
    layer_norm: np.ndarray  # (C,) normalized over the C features of this one example
    group_norm: np.ndarray  # (C,) over groups of 2 features of this one example

    def rows(self) -> list[tuple[str, list[float | None]]]:
        """(field, values) for a table, every field but the error; None where undefined."""
        fields = [f for f in self.__dataclass_fields__ if f != "train_error"]
        return [(f, [None if np.isnan(v) else float(v) for v in getattr(self, f)]) for f in fields]


@functools.cache
def batch_of_one(seed: int = 0) -> BatchOfOne:
    """Really run BatchNorm1d, LayerNorm and GroupNorm on a batch of one example."""
    gen = torch.Generator().manual_seed(seed)
    center, scale = torch.tensor([2.0, -1.0, 0.5, 3.0]), torch.tensor([1.0, 2.0, 0.5, 1.5])
    x = torch.tensor([[2.5, 0.0, 0.2, 4.0]])  # (1, C): one example
    bn = nn.BatchNorm1d(4)
    with torch.no_grad():
        for _ in range(200):  # training: batches of 32, the running statistics settle
            bn(center + scale * torch.randn(32, 4, generator=gen))
        try:
            bn(x)
            error = ""
        except ValueError as exc:  # "Expected more than 1 value per channel when training"
            error = str(exc)
        bn.eval()
        eval_out = bn(x)
        ln = nn.LayerNorm(4, elementwise_affine=False)(x)
        gn = nn.GroupNorm(2, 4, affine=False)(x)
        mean, var = x.mean(0), x.var(0, unbiased=False)
        with warnings.catch_warnings():  # torch warns that B − 1 = 0 degrees of freedom
            warnings.simplefilter("ignore")
            unbiased = x.var(0)  # Σ(x − μ)²/(B − 1) = 0/0 = NaN
        would_be = (x - mean) / torch.sqrt(var + bn.eps)
    return BatchOfOne(
        x[0].numpy(), error, mean.numpy(), var.numpy(), unbiased.numpy(), would_be[0].numpy(),
        bn.running_mean.numpy().copy(), bn.running_var.numpy().copy(), eval_out[0].numpy(),
        ln[0].numpy(), gn[0].numpy(),
    )  # fmt: skip


# ---------------------------------------------------------------------------- preset claims


@functools.lru_cache(maxsize=32)
def claim_run(momentum: float | None, seed: int, batch_size: int = 32, lr: float = 0.1):
    """A finished run of the page's network, as the page trains it (several claims read the
    same run). It was a 300-step stand-in: the page's 1000-step runs then showed "2.59×" under
    batch 2's "1.3–2.5×" (seed 2) and no unit near m = 0.1's line under "a single unit can come
    close" (audit 33)."""
    from bnviz.stepper import train_sync  # a run trained in this thread

    cfg = DEFAULT.replace(bn_momentum=momentum, batch_size=batch_size, lr=lr, seed=seed)
    return train_sync(run_configs(cfg, View(compare="off"))["main"])


LATE = 150  # the claims and the page's readouts measure a run from this step on


def _late_error(s: UnitSeries, values: np.ndarray | None = None) -> float:
    """Mean |running mean (or `values` at the telemetry steps) − population mean|, steps ≥ LATE."""
    late = s.eval_step >= LATE
    line = np.interp(s.eval_step[late], s.step, s.running_mean if values is None else values)
    return float(np.abs(line - s.pop_mean[late]).mean())


def layer_units(snap: Snapshot, layer: int) -> list[UnitSeries]:
    """The series of the layer's recorded units (BN_UNITS of them); [] before any data."""
    units = [unit_series(snap, layer, u) for u in range(BN_UNITS)]
    return [u for u in units if u is not None]


def _units(snap: Snapshot) -> list[UnitSeries]:
    """Layer 2's 8 recorded units (the page shows one; a claim holds for their median)."""
    return layer_units(snap, 1)


FOLLOWS = 0.05  # "follows the population line": late mean distance (measured 0.018-0.028)
SCATTER = 0.45  # "batch means scatter widely": batch 2 ~0.7 population std, batch 32 ~0.2


# Each check reads finished runs of the page's network: the seed sweep gives it the page's
# runs (claim_run), the end-to-end preset test the runs the page itself started (page_holds).


def default_holds(usual: Snapshot, big: Snapshot) -> bool:
    """m = 0.9 jumps with the batches (>3x the step-to-step moves of m = 0.1); m = 0.1 stays
    within FOLLOWS of the population line. Per unit it varies: the median of 8 units."""
    moves = [np.std(np.diff(b.running_mean)) / np.std(np.diff(u.running_mean))
             for b, u in zip(_units(big), _units(usual), strict=True)]  # fmt: skip
    return bool(np.median(moves) > 3 and mean_error(usual, 1) < FOLLOWS)


def tiny_holds(tiny: Snapshot) -> bool:
    """m = 0.01: eval mode's accuracy stays below train mode's for the first ~100 steps (mean
    gap measured 0.07-0.15), then catches up."""
    m = mode_series(tiny)
    gap, loss_gap = m.batch_acc - m.running_acc, m.running_loss - m.batch_loss
    early, late = (m.step > 0) & (m.step <= 100), m.step >= 200
    s = unit_series(tiny, 1, 0)  # the running mean starts at 0 and trails (the unit shown first)
    behind = s.running_mean[np.searchsorted(s.step, 40)] - np.interp(40, s.eval_step, s.pop_mean)
    return bool(
        gap[early].mean() > 0.03 and gap[early].mean() > 3 * np.abs(gap[late]).mean()
        and loss_gap[early].mean() > 0.1 > abs(loss_gap[late].mean()) and abs(behind) > 0.15
    )  # fmt: skip


def var_ratio(snap: Snapshot, layer: int) -> float:
    """running_var / population variance of the layer's recorded units (8), averaged over the
    run from step LATE on; NaN before that."""
    return _var_ratio(layer_units(snap, layer))


def _var_ratio(s: list[UnitSeries]) -> float:
    if not s or not (late := s[0].eval_step >= LATE).any():
        return float("nan")
    rv = [np.interp(x.eval_step[late], x.step, x.running_var).mean() for x in s]
    return float(np.mean(rv) / np.mean([x.pop_var[late].mean() for x in s]))


def mean_error(snap: Snapshot, layer: int) -> float:
    """How far the running mean stays off the population line: the median over the layer's
    recorded units (8) of its mean distance from step LATE on; NaN before that."""
    return _mean_error(layer_units(snap, layer))


def _mean_error(s: list[UnitSeries]) -> float:
    if not s or not (s[0].eval_step >= LATE).any():
        return float("nan")
    return float(np.median([_late_error(u) for u in s]))


class LayerMeasure(NamedTuple):
    """A run's BN layer over all its recorded units, from step LATE (NaN before): the page's
    readouts and the claims' measures."""

    units: int
    mean_error: float  # mean_error(): the running mean's distance from the population
    var_ratio: float  # var_ratio(): running_var ÷ population variance


NO_MEASURE = LayerMeasure(0, float("nan"), float("nan"))  # a run still training: nothing yet


def layer_measure(snap: Snapshot, layer: int) -> LayerMeasure:
    """mean_error and var_ratio of the layer, and over how many units."""
    units = layer_units(snap, layer)  # once for both measures
    return LayerMeasure(len(units), _mean_error(units), _var_ratio(units))


def scatter(s: UnitSeries) -> float:
    """Spread of the batch means around the population mean, in population standard deviations
    (σ/√B predicts ~0.7 at batch 2, ~0.18 at batch 32)."""
    pop = np.interp(s.step, s.eval_step, s.pop_mean)
    sd = np.sqrt(np.interp(s.step, s.eval_step, s.pop_var))
    return float(np.std((s.batch_mean - pop) / sd))


def batch2_holds(two: Snapshot) -> bool:
    """Batch 2: scattered batch statistics; running_var 1.3-2.6x the population, layers 2-3 (the
    subtitle showed seed 3's layer 3 at "1.39×" under a sentence saying 1.4, audit 32; seed 2's
    at 2.59x under 2.5, audit 33);
    train mode's test accuracy averages 0.6-0.75 from step LATE on (measured 0.63-0.72 under
    four rounding modes; single evaluations 0.59-0.74) and eval mode's last one is higher (by
    0.03-0.3)."""
    deep = [var_ratio(two, layer) for layer in (1, 2)]  # measured 1.39-2.59, seeds 0-4
    m = mode_series(two)
    return bool(
        np.median([scatter(unit_series(two, 0, u)) for u in range(BN_UNITS)]) > SCATTER
        and all(1.3 <= r <= 2.6 for r in deep) and 0.7 < var_ratio(two, 0) < 1.2
        and 0.6 <= m.batch_acc[m.step >= LATE].mean() <= 0.75
        and m.running_acc[-1] > m.batch_acc[-1]
    )  # fmt: skip


CUMULATIVE_DEEP = (3.5, 12.0)  # BN layers 2 and 3: the median unit ends this many times as far
CUMULATIVE_EVERY = 1.5  # ... every unit at least this many times
CUMULATIVE_FIRST = (1.1, 3.0)  # BN layer 1: the median unit


def cumulative_holds(none: Snapshot, usual: Snapshot) -> bool:
    """momentum=None keeps stale statistics: off the population line, unlike m = 0.1. Per
    layer, because the picker offers three (audit 33: "4-12x" held in layer 2 only; layer 1
    showed 1.2x). Page runs, seeds 0-4: medians 6.1-8.8x (layer 2), 3.9-9.8x (layer 3) and
    1.2-2.8x (layer 1); every unit of layers 2-3 at least 1.9x."""
    ratio = [mean_error(none, layer) / mean_error(usual, layer) for layer in range(3)]
    low, high = CUMULATIVE_DEEP
    return bool(
        all(low <= r <= high for r in ratio[1:])
        and all(closest_unit(none, usual, layer) >= CUMULATIVE_EVERY for layer in (1, 2))
        and CUMULATIVE_FIRST[0] <= ratio[0] <= CUMULATIVE_FIRST[1]
    )


def closest_unit(none: Snapshot, usual: Snapshot, layer: int) -> float:
    """The least ratio over the layer's recorded units of momentum=None's late distance from
    the population line to m = 0.1's."""
    pairs = zip(layer_units(none, layer), layer_units(usual, layer), strict=True)
    return float(min(_late_error(a) / _late_error(b) for a, b in pairs))


CLOSE_SEEDS = 3  # "in layer 1 single units come as close": one unit within 1x, on this many
# of seeds 0-4 (page runs: 0.81, 0.08, 0.15, 0.15, 0.39)


def page_holds(preset: str, runs: Mapping[str, Snapshot]) -> bool:
    """The preset's check on the runs the page started for it ('main', 'compare')."""
    main, other = runs["main"], runs.get("compare")
    return {
        "default": lambda: default_holds(main, other), "tiny": lambda: tiny_holds(main),
        "batch2": lambda: batch2_holds(main) and eval_ends_higher(other),
        "cumulative": lambda: cumulative_holds(main, other),
    }[preset]()  # fmt: skip


def _default(seed: int) -> bool:
    return default_holds(claim_run(0.1, seed), claim_run(0.9, seed))


def _tiny(seed: int) -> bool:
    return tiny_holds(claim_run(0.01, seed))


def _batch2(seed: int) -> bool:
    lr = PRESETS["batch2"]["lr"]
    compare = claim_run(float(PRESETS["batch2"]["compare"]), seed, batch_size=2, lr=lr)
    return batch2_holds(claim_run(0.1, seed, batch_size=2, lr=lr)) and eval_ends_higher(compare)


def eval_ends_higher(run: Snapshot) -> bool:
    """Batch 2's "eval mode ends higher", for the page's other eval-mode line (m = 0.01; seeds
    0-4: 0.76-0.85 against train mode's 0.73-0.74): checked on m = 0.1 only until the claims
    survey of stop 54."""
    m = mode_series(run)
    return bool(m.running_acc[-1] > m.batch_acc[-1])


def _cumulative(seed: int) -> bool:
    return cumulative_holds(claim_run(None, seed), claim_run(0.1, seed))


def _regularization(seed: int) -> bool:
    from bnviz.lessons import regularization

    return regularization.claim_one_seed(regularization.gaps(seed))


# preset -> check of its sentence (running_stats.preset.<name>_what) for one seed;
# tests/test_claims_seeds.py runs every one over seeds 0-4
CLAIMS = {
    "default": _default, "tiny": _tiny, "batch2": _batch2, "cumulative": _cumulative,
    "regularization": _regularization,
}  # fmt: skip
