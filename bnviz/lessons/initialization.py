"""Weight initialization: the CS231n 10-layer x 500-unit experiment, forward and backward.

X = randn(n, width); every hidden layer is h = act(h @ W.T) with W from `nets.init_weight_`
and no bias, optionally with BatchNorm (batch statistics, γ=1, β=0) before the nonlinearity.
Results are small frozen records, cached per setting, so a page can redraw for free.
"""

from __future__ import annotations

import functools
from dataclasses import astuple, dataclass

import numpy as np
import torch
import torch.nn.functional as F

from bnviz.config import Activation, Init, RunConfig, Validated, setting
from bnviz.nets import ACTIVATIONS, init_weight_, saturated_share

BINS = 41  # histogram bins, shared by all layers; odd, so 0 is a bin's center, not an edge
SPREAD = 4.0  # unbounded values: bins span ±4x the largest RMS over layers (outliers clamped)
BOUNDED = {"tanh": (-1.0, 1.0), "sigmoid": (0.0, 1.0)}  # bins on the output range itself
PROBE_ROWS = 32  # distinct units: group on 32 samples first, check ties on all of them
INITS = ("zeros", "small", "large", "xavier", "he", "orthogonal")


@dataclass(frozen=True)
class InitSettings(Validated):
    """The controls of the initialization page; the fields are layer_stats' arguments."""

    depth: int = setting(10, lo=1, hi=15)  # the notes' 10 hidden layers
    width: int = setting(500, lo=2, hi=1000)  # 500 units, as in the notes
    activation: Activation = "tanh"  # the notes' experiment; relu shows why He exists
    init: Init = "small"  # 0.01·randn: the notes' vanishing table
    batchnorm: bool = False  # BN before every nonlinearity
    n: int = setting(1000, lo=2, hi=2000)  # samples; BN needs 2; 2000 x 1000 x 15 ~ 1 s
    seed: int = setting(0, lo=0, hi=2**31 - 1)


_BASE = dict(depth=10, width=500, n=1000)  # no seed: a preset keeps the class's (claims: 0-4)
PRESETS: dict[str, dict] = {
    "cs231n_small": {**_BASE, "activation": "tanh", "init": "small", "batchnorm": False},
    "large_tanh": {**_BASE, "activation": "tanh", "init": "large", "batchnorm": False},
    "xavier_tanh": {**_BASE, "activation": "tanh", "init": "xavier", "batchnorm": False},
    "xavier_relu": {**_BASE, "activation": "relu", "init": "xavier", "batchnorm": False},
    "he_relu": {**_BASE, "activation": "relu", "init": "he", "batchnorm": False},
    "small_bn": {**_BASE, "activation": "tanh", "init": "small", "batchnorm": True},
}


@dataclass(frozen=True, eq=False)
class LayerStats:
    """One layer's outputs: mean, std, saturated share, distinct units, histogram."""

    layer: int  # 1-based hidden layer; 0 is the input X
    mean: float
    std: float
    saturated: float  # |a| > 0.99 (tanh) or |2a-1| > 0.99 (sigmoid), as nets.py; NaN otherwise
    distinct: int  # distinct units (columns); 1 = every unit computes the same thing
    hist: np.ndarray  # (BINS,) counts, read-only
    edges: np.ndarray  # (BINS + 1,) shared by every hidden layer of one experiment


@dataclass(frozen=True, eq=False)
class GradStats:
    """One layer's gradient dL/da of its outputs, and the std of dL/dW of its weights."""

    layer: int  # 1-based hidden layer
    mean: float
    std: float
    weight_std: float  # std of the gradient of the layer's weight matrix
    hist: np.ndarray  # (BINS,) counts, read-only
    edges: np.ndarray  # (BINS + 1,) symmetric, shared by every layer


# ---------------------------------------------------------------------------- the network


def _network(depth: int, width: int, activation: str, init: str, n: int, gen: torch.Generator):
    """X (n, width) then each layer's (fan_out, fan_in) weight, drawn in that order from `gen`."""
    pieces = RunConfig().maxout_k if activation == "maxout" else 1
    x = torch.randn(n, width, generator=gen)
    weights = [init_weight_(torch.empty(width * pieces, width), init, gen) for _ in range(depth)]
    return x, weights


def _forward(x: torch.Tensor, weights: list, activation: str, batchnorm: bool) -> list:
    """Every hidden layer's output, (n, width) each."""
    act = ACTIVATIONS[activation](RunConfig())  # the registry's module, default parameters
    outs, h = [], x
    for w in weights:
        z = h @ w.T  # no bias: bias 0, as in the notes
        if batchnorm:
            z = F.batch_norm(z, None, None, training=True)  # batch statistics, γ=1, β=0
        h = act(z)
        outs.append(h)
    return outs


# ---------------------------------------------------------------------------- reductions


def _frozen(a: np.ndarray) -> np.ndarray:
    a.setflags(write=False)  # records are cached and shared: nobody may edit them
    return a


def _histogram(a: torch.Tensor, lo: float, hi: float) -> np.ndarray:
    """Counts in BINS equal bins on [lo, hi]; values outside land in the end bins."""
    # One float temporary and a uint8 index (BINS < 256): fresh memory costs here, so this is
    # ~4x faster than (a - lo) * k -> int32 and ~5x faster than torch.histc.
    scaled = torch.sub(a.reshape(-1), lo).mul_(BINS / (hi - lo)).clamp_(0, BINS - 1)
    return _frozen(torch.bincount(scaled.to(torch.uint8), minlength=BINS).numpy())  # floor


def _moments(a: torch.Tensor) -> tuple[float, float, float, float]:
    """(mean, std, min, max) as Python floats."""
    lo, hi = torch.aminmax(a)
    return a.mean().item(), a.std().item(), lo.item(), hi.item()


def _spread(moments: list, symmetric: bool) -> tuple[float, float]:
    """Bins covering every layer's data, clamped to ±SPREAD x the largest RMS."""
    rms = max(float(np.hypot(m[0], m[1])) for m in moments)
    lo, hi = min(m[2] for m in moments), max(m[3] for m in moments)
    if symmetric:
        lo, hi = -max(-lo, hi), max(-lo, hi)
    lo, hi = max(lo, -SPREAD * rms), min(hi, SPREAD * rms)
    return (lo, hi) if hi > lo else (-1.0, 1.0)  # all values equal (zeros init): any bins


def _columns(h: torch.Tensor) -> np.ndarray:
    """(units, samples) contiguous copy; + 0.0 turns -0.0 into 0.0 so bytes compare as values."""
    return (h.T + 0.0).contiguous().numpy()


def _distinct(h: torch.Tensor) -> int:
    """How many different units (columns) a layer has over the whole batch, exactly."""
    groups: dict[bytes, list[int]] = {}
    for j, col in enumerate(_columns(h[:PROBE_ROWS])):  # cheap first sort on a few samples
        groups.setdefault(col.tobytes(), []).append(j)
    count = 0
    for members in groups.values():
        if len(members) == 1:
            count += 1
        else:  # ties (zeros init, dead ReLUs): compare those units on every sample
            count += len({col.tobytes() for col in _columns(h[:, members])})
    return count


# ---------------------------------------------------------------------------- experiments


@functools.lru_cache(maxsize=64)
def _activation_table(*key) -> tuple:
    """LayerStats of every hidden layer (forward only); key = InitSettings' values."""
    depth, width, activation, init, batchnorm, n, seed = key
    with torch.inference_mode():
        x, weights = _network(
            depth, width, activation, init, n, torch.Generator().manual_seed(seed)
        )
        outs = _forward(x, weights, activation, batchnorm)
        moments = [_moments(h) for h in outs]
        lo, hi = BOUNDED.get(activation) or _spread(moments, symmetric=False)
        edges = _frozen(np.linspace(lo, hi, BINS + 1))
        return tuple(
            LayerStats(
                i + 1,
                mean,
                std,
                float(saturated_share(h.numpy(), activation)),
                _distinct(h),
                _histogram(h, lo, hi),
                edges,
            )
            for i, (h, (mean, std, _, _)) in enumerate(zip(outs, moments, strict=True))
        )


@functools.lru_cache(maxsize=32)
def _gradient_table(*key) -> tuple:
    """GradStats of every hidden layer for loss = sum(a_last * G), G ~ N(0, 1) from the seed."""
    depth, width, activation, init, batchnorm, n, seed = key
    gen = torch.Generator().manual_seed(seed)
    with torch.inference_mode(False), torch.enable_grad():
        x, weights = _network(depth, width, activation, init, n, gen)  # the forward's draws
        for w in weights:
            w.requires_grad_(True)
        outs = _forward(x, weights, activation, batchnorm)
        for h in outs:
            h.retain_grad()
        upstream = torch.randn(outs[-1].shape, generator=gen)  # dL/da of the last layer
        (outs[-1] * upstream).sum().backward()
    grads = [h.grad for h in outs]
    moments = [_moments(g) for g in grads]
    lo, hi = _spread(moments, symmetric=True)
    edges = _frozen(np.linspace(lo, hi, BINS + 1))
    return tuple(
        GradStats(i + 1, mean, std, w.grad.std().item(), _histogram(g, lo, hi), edges)
        for i, (g, (mean, std, _, _), w) in enumerate(zip(grads, moments, weights, strict=True))
    )


def _key(*args) -> tuple:
    """The arguments checked by InitSettings (a bad value raises ConfigError), as a tuple."""
    return astuple(InitSettings(*args))


# ---------------------------------------------------------------------------- public


def layer_stats(
    depth=10, width=500, activation="tanh", init="small", batchnorm=False, n=1000, seed=0
) -> list[LayerStats]:
    """Mean, std, saturation and histogram of every hidden layer's outputs (the CS231n table)."""
    return list(_activation_table(*_key(depth, width, activation, init, batchnorm, n, seed)))


def gradient_stats(
    depth=10, width=500, activation="tanh", init="small", batchnorm=False, n=1000, seed=0
) -> list[GradStats]:
    """Mean, std and histogram of dL/da per hidden layer, std of dL/dW: vanishing or exploding."""
    return list(_gradient_table(*_key(depth, width, activation, init, batchnorm, n, seed)))


def distinct_units(
    depth=10, width=500, activation="tanh", init="zeros", batchnorm=False, n=1000, seed=0
) -> list[int]:
    """Distinct units per hidden layer: 1 everywhere means the symmetry is never broken."""
    return [s.distinct for s in layer_stats(depth, width, activation, init, batchnorm, n, seed)]


def input_stats(width=500, n=1000, seed=0) -> LayerStats:
    """The input X as layer 0 of the table (the same X as layer_stats'); bins ±SPREAD."""
    with torch.inference_mode():
        x = torch.randn(n, width, generator=torch.Generator().manual_seed(seed))
        mean, std, _, _ = _moments(x)
        hist = _histogram(x, -SPREAD, SPREAD)
    edges = _frozen(np.linspace(-SPREAD, SPREAD, BINS + 1))
    return LayerStats(0, mean, std, float("nan"), _distinct(x), hist, edges)


def std_curves(
    inits=INITS, activation="tanh", *, depth=10, width=500, batchnorm=False, n=1000, seed=0
) -> dict[str, np.ndarray]:
    """init -> std of layers 0..depth (index 0 is the input X), for one line chart."""
    first = input_stats(width, n, seed).std
    out = {}
    for init in inits:
        stats = layer_stats(depth, width, activation, init, batchnorm, n, seed)
        out[init] = np.array([first] + [s.std for s in stats])
    return out


# ---------------------------------------------------------------------------- preset claims


def preset_run(name: str, seed: int) -> tuple[np.ndarray, ...]:
    """(layer stds, saturated shares, dL/da stds, dL/dW stds) of a preset and seed, with the
    page's samples (n = 1000). The seed sweep used n = 250: X is drawn before the weights from
    one generator, so that was another network than the page's for every seed (a survey of
    the claim checks, stop 54; they held at 1000 too)."""
    args = {**PRESETS[name], "seed": seed}
    layers, grads = layer_stats(**args), gradient_stats(**args)
    return (
        np.array([s.std for s in layers]), np.array([s.saturated for s in layers]),
        np.array([g.std for g in grads]), np.array([g.weight_std for g in grads]),
    )  # fmt: skip


def _near(value, target, rel) -> bool:
    return bool(np.all(np.abs(np.asarray(value) - target) <= rel * np.abs(target)))


def _small(seed: int) -> bool:
    std, _, da, dw = preset_run("cs231n_small", seed)
    return (
        _near(std[:3], np.array([0.213, 0.0475, 0.0106]), 0.05)  # the numbers it quotes
        and _near(np.mean(std[:-1] / std[1:]), 4.5, 0.05) and std[-1] < 1e-5
        and _near(da[0] / da[-1], 1e-6, 0.6) and dw.max() < 1.2 * dw.min()  # dL/dW flat
        and _near(dw.mean(), 4e-5, 0.25)  # ~4e-5
    )  # fmt: skip


def _large(seed: int) -> bool:
    _, sat, da, _ = preset_run("large_tanh", seed)
    return (
        bool(np.all(np.abs(sat - 0.9) <= 0.03)) and _near(np.mean(da[:-1] / da[1:]), 3.5, 0.1)
        and 6.5e4 <= da[0] / da[-1] <= 8.5e4  # "×3.5 per layer", "1 → 7e4 to 8e4" (6.9-7.9e4)
    )  # fmt: skip


def _xavier_bn(seed: int) -> bool:
    bn, xavier = preset_run("small_bn", seed)[0], preset_run("xavier_tanh", seed)[0]
    return (
        bool(np.all(np.abs(bn - 0.63) <= 0.02))  # "std ≈ 0.63 from the first layer to the last"
        and abs(xavier[0] - 0.63) <= 0.02 and abs(xavier[-1] - 0.23) <= 0.02
    )  # fmt: skip


def _xavier_tanh(std: np.ndarray) -> bool:
    """ "the std falls from 0.63 in layer 1 to 0.23 in layer 10, by less at each layer than at
    the one before" (audit 34: "stay wide" read as wrong beside 0.23)"""
    return (
        abs(std[0] - 0.63) <= 0.02 and abs(std[-1] - 0.23) <= 0.02
        and bool(np.all(np.diff(std) < 0)) and bool(np.all(np.diff(std, 2) > 0))
    )  # fmt: skip


# preset -> check of its sentence (initialization.preset.<name>_what) for one seed;
# tests/test_claims_seeds.py runs every one over seeds 0-4
CLAIMS = {
    "cs231n_small": _small,
    "large_tanh": _large,
    "xavier_tanh": lambda seed: _xavier_tanh(preset_run("xavier_tanh", seed)[0]),
    "xavier_relu": lambda seed: (  # "drops about 30 % per layer"
        0.6 < np.mean((s := preset_run("xavier_relu", seed)[0])[1:] / s[:-1]) < 0.8
    ),
    "he_relu": lambda seed: (  # "stays about the same through all 10 layers"
        0.8 < (s := preset_run("he_relu", seed)[0])[-1] / s[0] < 1.25
    ),
    "small_bn": _xavier_bn,
}
