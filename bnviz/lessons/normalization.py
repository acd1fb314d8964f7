"""Normalization zoo: which values of an N×C×H×W tensor share one mean and variance under
BatchNorm, LayerNorm, InstanceNorm and GroupNorm (Wu & He 2018, fig. 2), computed by torch's
own functions on a random tensor; what batch size 1 does to each (note 001: "for images the
statistics are taken per channel, so even a batch of one can be normalized"; note 004: a conv
net normalizes every spatial position of a feature map the same way).

An H = W = 1 tensor is a fully connected layer's N×C activations.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Literal

import numpy as np
import torch
import torch.nn.functional as F

from bnviz.config import Validated, setting

Kind = Literal["batch", "layer", "instance", "group"]
KINDS: tuple[Kind, ...] = ("batch", "layer", "instance", "group")
SEED_TENSOR = 0  # the tensor's draw ([seed, SEED_TENSOR])
SEED_REDRAWN = 1  # example 2 drawn again ([seed, SEED_REDRAWN])
SEED_CHANNELS = 2  # each channel's mean and spread ([seed, SEED_CHANNELS]): its own stream, so
# they are not the tensor's first values over again
SAME = 1e-5  # outputs this close are the same computation (float32 rounding)


@dataclass(frozen=True)
class NormSettings(Validated):
    """The normalization page's controls: the tensor's shape and the normalization shown."""

    kind: Kind = "batch"
    batch: int = setting(4, lo=1, hi=16)  # N, examples in the batch
    size: int = setting(3, lo=1, hi=8)  # H = W; 1: a fully connected layer
    channels: int = setting(6, lo=1, hi=12)  # C, channels (features)
    groups: int = setting(2, lo=1, hi=12)  # GroupNorm's G (the largest divisor of C up to it)
    seed: int = setting(0, lo=0, hi=2**31 - 1)


# no seed: a preset keeps the class's (its sentence holds for seeds 0-4)
PRESETS: dict[str, dict] = {
    "fc_batch1": {"kind": "batch", "batch": 1, "size": 1, "channels": 6, "groups": 2},
    "image_batch1": {"kind": "batch", "batch": 1, "size": 8, "channels": 6, "groups": 2},
    "others": {"kind": "layer", "batch": 4, "size": 3, "channels": 6, "groups": 2},
    "group_between": {"kind": "group", "batch": 4, "size": 3, "channels": 6, "groups": 2},
}


def groups_used(channels: int, groups: int) -> int:
    """GroupNorm's groups must divide the channels: the largest divisor of C up to `groups`."""
    return max(g for g in range(1, min(groups, channels) + 1) if channels % g == 0)


def tensor(cfg: NormSettings, seed_offset: int = SEED_TENSOR) -> torch.Tensor:
    """(N, C, H, W) float32: channel c has its own mean and spread, as real features do."""
    rng = np.random.default_rng([cfg.seed, seed_offset])
    channels = np.random.default_rng([cfg.seed, SEED_CHANNELS])
    shift, spread = channels.normal(0, 3, cfg.channels), channels.uniform(0.5, 4, cfg.channels)
    shape = (cfg.batch, cfg.channels, cfg.size, cfg.size)
    x = shift[None, :, None, None] + spread[None, :, None, None] * rng.standard_normal(shape)
    return torch.from_numpy(x.astype(np.float32))


def apply(kind: Kind, x: torch.Tensor, groups: int) -> torch.Tensor:
    """torch's own normalization in train mode (no affine: γ = 1, β = 0); raises ValueError
    where torch refuses (one value per statistic)."""
    if kind == "batch":
        return F.batch_norm(x, None, None, training=True)
    if kind == "layer":
        return F.layer_norm(x, x.shape[1:])
    if kind == "instance":
        return F.instance_norm(x)
    return F.group_norm(x, groups)


def group_ids(kind: Kind, n: int, c: int, s: int, groups: int) -> np.ndarray:
    """(n, c, s) int: which mean and variance each value is normalized by (s = H·W)."""
    ex, ch = np.meshgrid(np.arange(n), np.arange(c), indexing="ij")
    ids = {
        "batch": ch,
        "layer": ex,
        "instance": ex * c + ch,
        "group": ex * groups + ch // (c // groups),
    }[kind]
    return np.repeat(ids[:, :, None], s, axis=2)


def shade(kind: Kind, n: int, c: int, s: int, groups: int) -> np.ndarray:
    """(n, c, s) 0 or 1: neighbouring statistics in different greys (a checkerboard over the
    examples and channel groups a statistic is per; by id parity, GroupNorm's and
    InstanceNorm's looked like BatchNorm's columns, different statistics in one grey)."""
    ex, ch = np.meshgrid(np.arange(n), np.arange(c), indexing="ij")
    per = {"batch": ch, "layer": ex, "instance": ex + ch, "group": ex + ch // (c // groups)}
    return np.repeat((per[kind] % 2)[:, :, None], s, axis=2)


@dataclass(frozen=True, eq=False)
class Zoo:
    """One tensor through the four normalizations."""

    cfg: NormSettings
    groups: int  # GroupNorm's groups, as used
    ids: dict[str, np.ndarray]  # kind -> (N, C, H·W) statistic ids
    per_stat: dict[str, int]  # kind -> values in one mean and variance
    n_stats: dict[str, int]  # kind -> means (and variances) in the tensor
    refused: dict[str, str]  # kind -> torch's message, where it would not normalize
    single: frozenset[str]  # kinds whose means are over one value each (every output 0)
    out_std: dict[str, float]  # kind -> largest |std - 1| over the statistics' groups
    out_mean: dict[str, float]  # kind -> largest |mean| over the groups
    moved: dict[str, float]  # kind -> max |change| of example 1's output, example 2 redrawn
    same_as: dict[str, float]  # "layer"/"instance" -> max |GroupNorm(G=1 or C) - it|


def _spread(y: np.ndarray, ids: np.ndarray) -> tuple[float, float]:
    """The largest |mean| and |std - 1| of the output over each statistic's values."""
    means, stds = [], []
    for g in np.unique(ids):
        vals = y[ids == g].astype(np.float64)
        means.append(abs(vals.mean()))
        stds.append(abs(vals.std() - 1))
    return float(max(means)), float(max(stds))


@functools.lru_cache(maxsize=64)
def zoo(cfg: NormSettings) -> Zoo:
    """The four normalizations of this tensor, measured."""
    x = tensor(cfg)
    n, c, s = cfg.batch, cfg.channels, cfg.size**2
    g = groups_used(cfg.channels, cfg.groups)
    other = x.clone()
    if n > 1:
        other[1] = tensor(cfg, SEED_REDRAWN)[1]
    ids, per_stat, n_stats, refused, out_mean, out_std, moved = {}, {}, {}, {}, {}, {}, {}
    for kind in KINDS:
        ids[kind] = group_ids(kind, n, c, s, g)
        counts = np.bincount(ids[kind].ravel())
        per_stat[kind], n_stats[kind] = int(counts[0]), len(counts)
        try:
            y = apply(kind, x, g)
        except ValueError as exc:  # torch: "Expected more than 1 value per channel …"
            refused[kind] = str(exc)
            continue
        out_mean[kind], out_std[kind] = _spread(y.reshape(n, c, s).numpy(), ids[kind])
        if n > 1:
            moved[kind] = float((apply(kind, other, g)[0] - y[0]).abs().max())
    same_as = {
        "layer": float((F.group_norm(x, 1) - F.layer_norm(x, x.shape[1:])).abs().max()),
    }
    if "instance" not in refused:
        same_as["instance"] = float((F.group_norm(x, c) - F.instance_norm(x)).abs().max())
    single = frozenset(k for k in KINDS if per_stat[k] == 1)
    return Zoo(cfg, g, ids, per_stat, n_stats, refused, single, out_std, out_mean, moved, same_as)


# ---------------------------------------------------------------------------- claims


def _cfg(name: str, seed: int) -> NormSettings:
    return NormSettings(**PRESETS[name], seed=seed)


def _fc_batch1(seed: int) -> bool:
    """ "one value per mean … torch refuses; LayerNorm (over its 6 features) and GroupNorm (3
    per group) normalize it"."""
    z = zoo(_cfg("fc_batch1", seed))
    return (
        z.per_stat["batch"] == 1
        and set(z.refused) == {"batch", "instance"}
        and "Expected more than 1 value per channel" in z.refused["batch"]
        and z.per_stat["layer"] == 6
        and z.per_stat["group"] == 3
        and z.out_std["layer"] < 1e-3
        and z.out_std["group"] < 1e-3
    )


def _image_batch1(seed: int) -> bool:
    """ "each channel's mean and variance over its 64 pixels … mean 0, std 1"."""
    z = zoo(_cfg("image_batch1", seed))
    return (
        z.per_stat["batch"] == 64
        and z.n_stats["batch"] == 6
        and not z.refused
        and z.out_mean["batch"] < 1e-4
        and z.out_std["batch"] < 1e-3
    )


def _others(seed: int) -> bool:
    """ "only BatchNorm moves example 1's outputs (by 0.19–0.85, seeds 0–4) … the others by
    exactly 0"."""
    z = zoo(_cfg("others", seed))
    moved = round(z.moved["batch"], 2)
    return 0.19 <= moved <= 0.85 and all(z.moved[k] == 0.0 for k in KINDS[1:])


def _group_between(seed: int) -> bool:
    """ "G = 1 gives LayerNorm's outputs, G = C InstanceNorm's (differences below 1e-5)"."""
    z = zoo(_cfg("group_between", seed))
    return z.groups == 2 and z.per_stat["group"] == 27 and max(z.same_as.values()) < SAME


CLAIMS = {
    "fc_batch1": _fc_batch1,
    "image_batch1": _image_batch1,
    "others": _others,
    "group_between": _group_between,
}
