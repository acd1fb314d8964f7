"""Evaluation metrics by name: a run's config lists the extra ones its lesson draws.

Every run evaluates loss and accuracy on train and test (EVAL_COLUMNS). Anything else costs
time on every evaluation, so it is computed only when `RunConfig.metrics` names it: the lab
pays for none of the activations or running-statistics lessons' measures.
"""

from __future__ import annotations

import contextlib
import copy
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch.func import vmap
from torch.nn import functional as F

from bnviz.nets import RELU_LIKE, Maxout, capture_inputs, dead_share

FLAT_GRADIENT = 0.01  # |f′| below this passes (almost) no gradient: the lessons' "killed"
EVAL_COLUMNS = ("train_loss", "train_acc", "test_loss", "test_acc")
# The same network with batch statistics (train mode, mini-batches of the training batch size):
# the gap to the columns above is what running statistics change at test time.
BATCH_COLUMNS = ("batch_train_loss", "batch_train_acc", "batch_test_loss", "batch_test_acc")


@dataclass(frozen=True)
class Metric:
    """columns(trainer) -> {name: shape}; compute(trainer, pres) -> {name: value}."""

    columns: Callable[[Any], dict[str, tuple[int, ...]]]
    compute: Callable[[Any, list[torch.Tensor] | None], dict[str, object]]
    needs_pre: bool = False  # wants the train set's pre-activations of every hidden layer


def no_gradient_share(act: torch.nn.Module, z: torch.Tensor) -> float:
    """Share of units whose local gradient |f′(z)| < FLAT_GRADIENT on every row of z.

    Such a unit passes (almost) no gradient back on any example: for ReLU it is the same as
    "never positive" (dead for good); Leaky ReLU never counts here, ELU only far below zero.
    f′ is autograd's, taken outside inference mode on a copy (nothing reaches the model's
    .grad). NaN for Maxout, whose output mixes k inputs per unit. Evaluations record it for
    the ReLU family only (NaN otherwise), like "dead".
    """
    if isinstance(act, Maxout):
        return math.nan
    with torch.inference_mode(False), torch.enable_grad():
        z = z.clone().requires_grad_(True)
        (slope,) = torch.autograd.grad(act(z).sum(), z)
    return (slope.abs().amax(0) < FLAT_GRADIENT).float().mean().item()


def _dead(tr, pres) -> dict[str, object]:
    return {"dead": np.array([dead_share(z.numpy(), tr.cfg.activation) for z in pres])}


def _no_grad(tr, pres) -> dict[str, object]:
    relu_like = tr.cfg.activation in RELU_LIKE  # one autograd pass per layer
    layers = zip([b.act for b in tr.model.blocks], pres, strict=True)
    shares = [no_gradient_share(a, z) if relu_like else np.nan for a, z in layers]
    return {"no_grad": np.array(shares)}


@contextlib.contextmanager
def _unless_tracking(norms) -> Iterator[None]:
    """Train-mode BN normalizes by batch statistics and writes no buffer (vmap-safe)."""
    for n in norms:
        n.track_running_stats = False
    try:
        yield
    finally:
        for n in norms:
            n.track_running_stats = True


def batch_mode_metrics(tr, pres=None) -> dict[str, float]:
    """Loss/accuracy with batch statistics (mini-batches of batch_size), buffers untouched.

    All full mini-batches go through one vmapped forward; a last short batch (if > 1 row:
    one value has no variance) through one more. Injected BN noise and dropout draw for each
    mini-batch as a training step would (Trainer.evaluate puts their generators back).
    """
    out: dict[str, float] = {}
    size = max(2, tr.batch_size)
    batched = vmap(tr.model, randomness="different")  # noise/dropout: a draw per mini-batch
    with _unless_tracking(tr.norms):
        for name, x, y in (("train", tr.x, tr.y), ("test", tr.x_test, tr.y_test)):
            full = len(x) // size * size
            parts = []
            if full:  # (K, B, F) -> K batches, each normalized by its own statistics
                parts.append(batched(x[:full].reshape(-1, size, x.shape[1])).flatten(0, 1))
            used = len(x) if len(x) - full > 1 else full
            if used > full:
                parts.append(tr.model(x[full:]))
            logits, ys = torch.cat(parts), y[:used]
            out[f"batch_{name}_loss"] = F.cross_entropy(logits, ys).item()
            out[f"batch_{name}_acc"] = (logits.argmax(1) == ys).float().mean().item()
    return out


def population_stats(tr, pres=None) -> dict[str, np.ndarray]:
    """Mean and (biased) variance of each BN layer's input over the whole training set.

    The network runs in train mode on the full set, so every BN normalizes with the
    population statistics of the layers below it: the values running_mean/var estimate.
    """
    with _unless_tracking(tr.norms), capture_inputs(tr.norms) as captured:
        tr.model(tr.x)
    u = tr.telemetry.bn_units
    return {
        "bn_pop_mean": np.stack([z[:, :u].mean(0).numpy() for z in captured]),
        "bn_pop_var": np.stack([z[:, :u].var(0, unbiased=False).numpy() for z in captured]),
    }


# Santurkar et al. 2018 Fig. 4 (the why-BN lesson): steps along −g in units of the run's
# learning rate, on a fixed probe batch (the first PROBE training examples).
ETAS = (0.05, 0.1, 0.2, 0.5, 1.0, 2.0)
PROBE = 256
SMOOTH_KEYS = ("loss_min", "loss_max", "loss_range", "grad_change", "beta_eff")


def _loss_and_grad(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor):
    """Cross-entropy and its gradient (one flat vector) at the model's current weights."""
    params = [p for p in model.parameters() if p.requires_grad]
    loss = F.cross_entropy(model(x), y)
    grads = torch.autograd.grad(loss, params)
    return loss.item(), torch.cat([g.reshape(-1) for g in grads])


def smoothness(
    model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor, etas=ETAS, lr: float = 1.0
) -> dict[str, float]:
    """Santurkar et al. 2018 Fig. 4 at the current weights θ, on the batch (x, y).

    For η in lr·etas: L(θ − η·g) and ‖∇L(θ) − ∇L(θ − η·g)‖. Returns the loss range along the
    direction, the largest gradient change, and the effective β-smoothness (largest gradient
    change per unit of distance moved). The model is left untouched (a copy moves); the net
    runs in the mode it is in (train mode: batch statistics, as training sees the loss).
    """
    probe = copy.deepcopy(model)  # BN buffers and weights of the real model stay as they are
    params = [p for p in probe.parameters() if p.requires_grad]
    theta = torch.cat([p.detach().reshape(-1) for p in params])
    loss0, g0 = _loss_and_grad(probe, x, y)
    losses, changes, betas = [loss0], [], []
    for eta in np.asarray(etas) * lr:
        torch.nn.utils.vector_to_parameters(theta - eta * g0, params)
        loss, g = _loss_and_grad(probe, x, y)
        step = eta * g0.norm().item()
        change = (g - g0).norm().item()
        losses.append(loss)
        changes.append(change)
        betas.append(change / step if step > 0 else 0.0)
    return {
        "loss_min": float(min(losses)), "loss_max": float(max(losses)),
        "loss_range": float(max(losses) - min(losses)), "grad_change": float(max(changes)),
        "beta_eff": float(max(betas)),
    }  # fmt: skip


def path_smoothness(tr, pres=None) -> dict[str, float]:
    """smoothness() of the training network (train mode) on the probe batch, at the run's
    current learning rate; columns smooth_<key>. Draws no random number of training."""
    with torch.inference_mode(False), torch.enable_grad():
        out = smoothness(tr.model, tr.x[:PROBE], tr.y[:PROBE], lr=tr.lr)
    return {f"smooth_{k}": v for k, v in out.items()}


def _layers(*names: str):
    return lambda tr: {n: (len(tr.model.blocks),) for n in names}


def _bn_units(*names: str):
    return lambda tr: {n: (len(tr.norms), tr.telemetry.bn_units) for n in names} if tr.norms else {}


METRICS: dict[str, Metric] = {
    "dead": Metric(_layers("dead"), _dead, needs_pre=True),  # the activations lesson
    "no_grad": Metric(_layers("no_grad"), _no_grad, needs_pre=True),  # the activations lesson
    "batch_mode": Metric(  # running statistics: eval mode against batch statistics
        lambda tr: {k: () for k in BATCH_COLUMNS} if tr.norms else {},
        lambda tr, pres: batch_mode_metrics(tr) if tr.norms else {},
    ),
    "population": Metric(  # running statistics: what running_mean/var estimate
        _bn_units("bn_pop_mean", "bn_pop_var"),
        lambda tr, pres: population_stats(tr) if tr.norms else {},
    ),
    "smoothness": Metric(  # why BN helps: Santurkar's smoothness along the training path
        lambda tr: {f"smooth_{k}": () for k in SMOOTH_KEYS}, path_smoothness
    ),
}


def metric(name: str) -> Metric:
    """The registered metric `name`, or KeyError naming the known ones."""
    if name not in METRICS:
        raise KeyError(f"unknown metric {name!r}; known: {', '.join(METRICS)}")
    return METRICS[name]
