"""Per-layer statistics from forward hooks, reduced at once, kept in bounded ring buffers."""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn

from bnviz.nets import MLP, RELU_LIKE, SATURATION

# Percentiles of Ioffe & Szegedy Fig. 1 (15/50/85) and TensorBoard's 9 bands (0, ±1σ, ±1.5σ, ±2σ).
QUANTILES = (0.0, 6.7, 15.0, 15.9, 30.9, 50.0, 69.1, 84.1, 85.0, 93.3, 100.0)
Q15, Q50, Q85 = 2, 5, 8  # indices of the paper's bands in QUANTILES
HIST_BINS = 40
HIST_RANGE = 6.0  # pre-activation histogram covers [-6, 6]; outliers land in the end bins
SUBSAMPLE = 4096  # quantiles of big layers from a strided subsample (cost ~0.1 ms per layer)
BN_UNITS = 8  # running/batch statistics kept for the first units of every BN layer


# ---------------------------------------------------------------------------- ring buffer


class History:
    """Preallocated rows (step + named columns); when full, keeps every other row.

    Memory is fixed at creation; a long run keeps covering its whole history at half the
    resolution each time the buffer fills (the caller should then sample half as often).
    """

    def __init__(self, capacity: int, columns: dict[str, tuple[int, ...]]):
        self.capacity = capacity + capacity % 2
        self.steps = np.zeros(self.capacity, np.int64)
        self.cols = {
            k: np.full((self.capacity, *s), np.nan, np.float32) for k, s in columns.items()
        }
        self.n = 0
        self.stride = 1  # doubles on every thinning

    def append(self, step: int, values: dict[str, object]) -> None:
        """Add one row (missing columns stay NaN)."""
        if self.n == self.capacity:
            self._thin()
        self.steps[self.n] = step
        for name, value in values.items():
            self.cols[name][self.n] = value
        self.n += 1

    def _thin(self) -> None:
        half = self.n // 2
        self.steps[:half] = self.steps[0 : self.n : 2]
        for arr in self.cols.values():
            arr[:half] = arr[0 : self.n : 2]
            arr[half:] = np.nan
        self.n = half
        self.stride *= 2

    def wants(self, step: int, unit: int) -> bool:
        """Whether `step` falls on the current sampling grid (every unit·stride steps)."""
        return step % (unit * self.stride) == 0

    def view(self) -> dict[str, np.ndarray]:
        """Read-only copies of the filled rows: {'step': ..., column: ...}."""
        out = {"step": self.steps[: self.n].copy()}
        out.update({k: v[: self.n].copy() for k, v in self.cols.items()})
        for arr in out.values():
            arr.flags.writeable = False
        return out

    @property
    def nbytes(self) -> int:
        """Bytes held (constant for the life of the buffer)."""
        return self.steps.nbytes + sum(a.nbytes for a in self.cols.values())


# ---------------------------------------------------------------------------- reductions

_QT = torch.tensor(QUANTILES) / 100.0


def quantiles(flat: torch.Tensor) -> torch.Tensor:
    """The QUANTILES of a 1-D tensor, from a sorted strided subsample (nearest rank)."""
    if flat.numel() > SUBSAMPLE:
        flat = flat[:: math.ceil(flat.numel() / SUBSAMPLE)]
    ordered = flat.sort().values
    idx = (_QT * (ordered.numel() - 1)).round().long()
    return ordered[idx]


def histogram(flat: torch.Tensor) -> torch.Tensor:
    """Share of values in HIST_BINS equal bins on [-HIST_RANGE, HIST_RANGE]."""
    clamped = flat.clamp(-HIST_RANGE, HIST_RANGE)
    return torch.histc(clamped, HIST_BINS, -HIST_RANGE, HIST_RANGE) / max(flat.numel(), 1)


def saturation(out: torch.Tensor, activation: str) -> torch.Tensor:
    """Share of saturated outputs (sigmoid/tanh), NaN otherwise."""
    if activation == "tanh":
        return (out.abs() > SATURATION).float().mean()
    if activation == "sigmoid":
        return ((2 * out - 1).abs() > SATURATION).float().mean()
    return torch.tensor(math.nan)


def dead_units(pre: torch.Tensor, activation: str) -> torch.Tensor:
    """Share of units with no positive pre-activation in the batch (ReLU family), NaN otherwise."""
    if activation not in RELU_LIKE:
        return torch.tensor(math.nan)
    return (pre.amax(0) <= 0).float().mean()


def layer_columns(layers: int, bn_layers: int, linears: int) -> dict[str, tuple[int, ...]]:
    """Column shapes of the telemetry history."""
    q, u = len(QUANTILES), BN_UNITS
    cols = {
        "pre_q": (layers, q), "pre_mean": (layers,), "pre_std": (layers,),
        "pre_hist": (layers, HIST_BINS), "out_q": (layers, q), "out_mean": (layers,),
        "out_std": (layers,), "saturated": (layers,), "dead": (layers,),
        "grad_norm": (linears,), "update_ratio": (linears,),
    }  # fmt: skip
    if bn_layers:
        cols.update({k: (bn_layers, u) for k in ("bn_rm", "bn_rv", "bn_bm", "bn_bv")})
    return cols


# ---------------------------------------------------------------------------- recorder


class Telemetry:
    """Hooks on every hidden layer's nonlinearity (and BN), active only on sampled steps."""

    def __init__(self, model: MLP, capacity: int = 512):
        self.model = model
        self.norms = [b.norm for b in model.blocks if b.norm is not None]
        self.linears = model.linears()
        cols = layer_columns(len(model.blocks), len(self.norms), len(self.linears))
        self.history = History(capacity, cols)
        self.active = False
        self._row: dict[str, list] = {}
        self._before: list[torch.Tensor] = []
        self._handles = [b.act.register_forward_hook(self._on_act) for b in model.blocks]
        self._handles += [n.register_forward_hook(self._on_norm) for n in self.norms]

    def close(self) -> None:
        """Remove the hooks."""
        for h in self._handles:
            h.remove()

    def _on_act(self, module: nn.Module, inputs: tuple, output: torch.Tensor) -> None:
        if not self.active:
            return
        pre, out = inputs[0].detach(), output.detach()
        act = self.model.activation
        row = self._row
        for prefix, t in (("pre", pre), ("out", out)):
            flat = t.reshape(-1)
            row.setdefault(prefix + "_q", []).append(quantiles(flat))
            row.setdefault(prefix + "_mean", []).append(flat.mean())
            row.setdefault(prefix + "_std", []).append(
                flat.std() if flat.numel() > 1 else flat.sum() * 0
            )
        row.setdefault("pre_hist", []).append(histogram(pre.reshape(-1)))
        row.setdefault("saturated", []).append(saturation(out, act))
        row.setdefault("dead", []).append(dead_units(pre, act))

    def _on_norm(self, module: nn.BatchNorm1d, inputs: tuple, output: torch.Tensor) -> None:
        if not self.active:
            return
        x = inputs[0].detach()[:, :BN_UNITS]
        row = self._row
        row.setdefault("bn_bm", []).append(x.mean(0))
        row.setdefault("bn_bv", []).append(
            x.var(0, unbiased=False)
        )  # what the batch is normalized by

    def begin(self) -> None:
        """Start capturing for this step's forward pass."""
        self.active = True
        self._row = {}

    def after_backward(self) -> None:
        """Gradient norms, and a copy of the weights to measure this step's update."""
        self.active = False
        grads = [lin.weight.grad for lin in self.linears]
        norms = [g.norm() if g is not None else torch.tensor(math.nan) for g in grads]
        self._row["grad_norm"] = norms
        self._before = [lin.weight.detach().clone() for lin in self.linears]

    def after_step(self, step: int) -> None:
        """log10 of update std / weight std per Linear (the 1e-3 guide line), then store."""
        ratios = []
        for lin, w0 in zip(self.linears, self._before, strict=True):
            scale = w0.std()
            change = (lin.weight.detach() - w0).std()
            ratios.append(torch.log10(change / scale) if scale > 0 else torch.tensor(math.nan))
        self._row["update_ratio"] = ratios
        for norm in self.norms:
            self._row.setdefault("bn_rm", []).append(norm.running_mean[:BN_UNITS].clone())
            self._row.setdefault("bn_rv", []).append(norm.running_var[:BN_UNITS].clone())
        self.history.append(step, {k: torch.stack(v).numpy() for k, v in self._row.items()})
        self._row = {}
