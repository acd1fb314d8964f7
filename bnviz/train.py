"""One deterministic training step, evaluation, and the histories a run keeps."""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from bnviz.config import RunConfig
from bnviz.datasets import TWO_D, Dataset, make_dataset
from bnviz.nets import MLP, RELU_LIKE, Maxout, build_mlp
from bnviz.telemetry import History, Telemetry

FLAT_GRADIENT = 0.01  # |f′| below this passes (almost) no gradient: the lessons' "killed"
EVAL_COLUMNS = ("train_loss", "train_acc", "test_loss", "test_acc")
# The same network with batch statistics (train mode, mini-batches of the training batch size):
# the gap to the columns above is what running statistics change at test time.
BATCH_COLUMNS = ("batch_train_loss", "batch_train_acc", "batch_test_loss", "batch_test_acc")


class Diverged(ArithmeticError):
    """The loss became NaN or infinite."""


def make_optimizer(cfg: RunConfig, params) -> torch.optim.Optimizer:
    """SGD, SGD with momentum, or Adam (fused: 1.6x faster on CPU, measured)."""
    if cfg.optimizer == "adam":
        return torch.optim.Adam(params, lr=cfg.lr, fused=True)
    momentum = cfg.momentum if cfg.optimizer == "momentum" else 0.0
    return torch.optim.SGD(params, lr=cfg.lr, momentum=momentum)


def pre_activations(model: MLP, x: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
    """Logits and every hidden layer's pre-activation (input of the nonlinearity)."""
    pres = []
    for block in model.blocks:
        z = block.linear(x)
        if block.norm_before is not None:
            z = block.norm_before(z)
        pres.append(z)
        x = block.act(z)
        if block.norm_after is not None:
            x = block.norm_after(x)
    return model.head(x), pres


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


class Trainer:
    """A model, its optimizer, its data order and its histories: step() advances by one."""

    def __init__(self, cfg: RunConfig, data: Dataset | None = None, capacity: int = 512):
        self.cfg = cfg
        self.data = data if data is not None else make_dataset(cfg)
        d = self.data
        self.x = torch.from_numpy(d.x_train)
        self.y = torch.from_numpy(d.y_train)
        self.x_test = torch.from_numpy(d.x_test)
        self.y_test = torch.from_numpy(d.y_test)
        self.model = build_mlp(cfg, d.n_features, d.n_classes)
        self.optimizer = make_optimizer(cfg, self.model.parameters())
        self.order = torch.Generator().manual_seed(cfg.seed + 1)  # data order, apart from init
        self.batch_size = min(cfg.batch_size, len(self.x))
        self._perm = torch.empty(0, dtype=torch.long)
        self._pos = 0
        self.step_count = 0
        self.lr = cfg.lr
        self.telemetry = Telemetry(self.model, capacity)
        self.losses = History(4 * capacity, {"loss": ()})
        layers = len(self.model.blocks)
        cols: dict[str, tuple[int, ...]] = {k: () for k in EVAL_COLUMNS}
        cols |= {"dead": (layers,), "no_grad": (layers,)}
        self.norms = [b.norm for b in self.model.blocks if b.norm is not None]
        if self.norms:
            cols |= {k: () for k in BATCH_COLUMNS}
            units = (len(self.norms), self.telemetry.bn_units)
            cols |= {"bn_pm": units, "bn_pv": units}
        self.evals = History(capacity, cols)

    def next_batch(self) -> tuple[torch.Tensor, torch.Tensor]:
        """The next mini-batch of a seeded reshuffle per epoch; a short last batch is skipped."""
        if self._pos + self.batch_size > len(self._perm):
            self._perm = torch.randperm(len(self.x), generator=self.order)
            self._pos = 0
        idx = self._perm[self._pos : self._pos + self.batch_size]
        self._pos += self.batch_size
        return self.x[idx], self.y[idx]

    def set_lr(self, lr: float) -> None:
        """Change the learning rate from the next step on."""
        self.lr = lr
        for group in self.optimizer.param_groups:
            group["lr"] = lr

    def step(self) -> float:
        """One optimizer step; records telemetry on sampled steps; raises Diverged on NaN/Inf."""
        s = self.step_count
        if s == 0 or self.evals.wants(s, self.cfg.eval_every):
            self.record_eval()
        sample = self.telemetry.history.wants(s, self.cfg.log_every)
        xb, yb = self.next_batch()
        if sample:
            self.telemetry.begin()
        loss = F.cross_entropy(self.model(xb), yb)
        value = loss.item()
        if not math.isfinite(value):
            self.telemetry.close()
            raise Diverged(s + 1)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if sample:
            self.telemetry.after_backward()
        self.optimizer.step()
        if sample:
            self.telemetry.after_step(s)
        if self.losses.wants(s, 1):
            self.losses.append(s, {"loss": value})
        self.step_count = s + 1
        return value

    @torch.inference_mode()
    def evaluate(self) -> dict[str, object]:
        """Loss and accuracy on train and test (eval mode), and dead units over the train set."""
        self.model.eval()
        try:
            logits, pres = pre_activations(self.model, self.x)
            test_logits = self.model(self.x_test)
        finally:
            self.model.train()
        out: dict[str, object] = {
            "train_loss": F.cross_entropy(logits, self.y).item(),
            "train_acc": (logits.argmax(1) == self.y).float().mean().item(),
            "test_loss": F.cross_entropy(test_logits, self.y_test).item(),
            "test_acc": (test_logits.argmax(1) == self.y_test).float().mean().item(),
        }
        relu_like = self.cfg.activation in RELU_LIKE
        out["dead"] = np.array(
            [(z.amax(0) <= 0).float().mean().item() if relu_like else np.nan for z in pres]
        )
        out["no_grad"] = np.array(  # the dead-units lesson; one autograd pass per layer
            [
                no_gradient_share(b.act, z) if relu_like else np.nan
                for b, z in zip(self.model.blocks, pres, strict=True)
            ]
        )
        if self.norms:
            out |= self.batch_mode_metrics() | self.population_stats()
        return out

    def _keep_bn_buffers(self):
        """Copies of every BN buffer, to put back after a train-mode pass that must not count."""
        return [{k: v.clone() for k, v in n.named_buffers()} for n in self.norms]

    def _restore_bn_buffers(self, saved) -> None:
        for norm, buffers in zip(self.norms, saved, strict=True):
            for k, v in buffers.items():
                getattr(norm, k).copy_(v)

    def batch_mode_metrics(self) -> dict[str, float]:
        """Loss/accuracy with batch statistics (mini-batches of batch_size), buffers untouched."""
        saved = self._keep_bn_buffers()
        out = {}
        try:
            for name, x, y in (("train", self.x, self.y), ("test", self.x_test, self.y_test)):
                size = max(2, self.batch_size)  # one value per batch has no variance
                chunks = [(x[i : i + size], y[i : i + size]) for i in range(0, len(x), size)]
                chunks = [c for c in chunks if len(c[0]) > 1]
                logits = torch.cat([self.model(cx) for cx, _ in chunks])
                ys = torch.cat([cy for _, cy in chunks])
                out[f"batch_{name}_loss"] = F.cross_entropy(logits, ys).item()
                out[f"batch_{name}_acc"] = (logits.argmax(1) == ys).float().mean().item()
        finally:
            self._restore_bn_buffers(saved)
        return out

    def population_stats(self) -> dict[str, np.ndarray]:
        """Mean and (biased) variance of each BN layer's input over the whole training set.

        The network runs in train mode on the full set, so every BN normalizes with the
        population statistics of the layers below it: the values running_mean/var estimate.
        """
        saved = self._keep_bn_buffers()
        captured: list[torch.Tensor] = []
        hooks = [
            n.register_forward_hook(lambda m, i, o: captured.append(i[0].detach()))
            for n in self.norms
        ]
        try:
            self.model(self.x)
        finally:
            for h in hooks:
                h.remove()
            self._restore_bn_buffers(saved)
        u = self.telemetry.bn_units
        return {
            "bn_pm": np.stack([z[:, :u].mean(0).numpy() for z in captured]),
            "bn_pv": np.stack([z[:, :u].var(0, unbiased=False).numpy() for z in captured]),
        }

    def record_eval(self) -> None:
        """Evaluate now and append to the eval history."""
        self.evals.append(self.step_count, self.evaluate())

    @torch.inference_mode()
    def boundary(self, resolution: int = 60) -> dict[str, np.ndarray] | None:
        """P(class 1) on a grid over the 2-D inputs (None for other datasets)."""
        if self.cfg.dataset not in TWO_D:
            return None
        lo = self.x.min(0).values - 0.3
        hi = self.x.max(0).values + 0.3
        gx = torch.linspace(lo[0].item(), hi[0].item(), resolution)
        gy = torch.linspace(lo[1].item(), hi[1].item(), resolution)
        grid = torch.stack(torch.meshgrid(gx, gy, indexing="xy"), -1).reshape(-1, 2)
        self.model.eval()
        try:
            prob = torch.softmax(self.model(grid), 1)[:, 1]
        finally:
            self.model.train()
        return {
            "x": gx.numpy(),
            "y": gy.numpy(),
            "p": prob.reshape(resolution, resolution).numpy().astype(np.float32),
        }


def bare_loop(cfg: RunConfig, steps: int) -> nn.Module:
    """The same model trained with no telemetry or bookkeeping (the benchmarks' baseline)."""
    data = make_dataset(cfg)
    model = build_mlp(cfg, data.n_features, data.n_classes)
    opt = make_optimizer(cfg, model.parameters())
    x, y = torch.from_numpy(data.x_train), torch.from_numpy(data.y_train)
    gen = torch.Generator().manual_seed(cfg.seed + 1)
    bs = min(cfg.batch_size, len(x))
    for _ in range(steps):
        idx = torch.randint(len(x), (bs,), generator=gen)
        loss = F.cross_entropy(model(x[idx]), y[idx])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    return model
