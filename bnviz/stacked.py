"""N MLPs of one shape as stacked tensors: batched matmuls, per-model BN, one flat optimizer.

All trainable numbers live in one (N, P) tensor `flat`; the weights are views of it, so an
optimizer step is a handful of elementwise ops whatever the depth. Model i starts from the
weights `nets.build_mlp(configs[i])` draws and follows torch.optim's SGD / Adam formulas.
"""

from __future__ import annotations

import math

import torch
from torch.nn import functional as F

from bnviz.batched import ADAM_BETAS, ADAM_EPS, BN_EPS
from bnviz.config import RunConfig
from bnviz.nets import ACTIVATIONS, init_weight_


def _col(values, dtype=torch.float32) -> torch.Tensor:
    """(N,) values as an (N, 1) column that broadcasts over a model's numbers."""
    return torch.tensor(values, dtype=dtype)[:, None]


class StackedMLP:
    """depth hidden layers of every model, as (N, fan_in, fan_out) weight views of `flat`."""

    def __init__(self, configs: list[RunConfig], n_in: int, n_out: int):
        c = configs[0]
        self.n, self.cfg = len(configs), c
        self.k = c.maxout_k if c.activation == "maxout" else 1
        bn = [cfg for cfg in configs if cfg.batchnorm]
        self.bn_where = bn[0].bn_placement if bn else None  # "before", "after" or None
        self.bn_momentum = bn[0].bn_momentum if bn else None
        self.use_bn = torch.tensor([cfg.batchnorm for cfg in configs]).view(-1, 1, 1)
        self.all_bn = len(bn) == len(configs)
        self.act = ACTIVATIONS[c.activation](c)
        widths = [n_in] + [c.width] * c.depth
        outs = [w * self.k for w in widths[1:]] + [n_out]
        shapes = list(zip(outs, widths, strict=True))  # (fan_out, fan_in) per Linear
        gens = [torch.Generator().manual_seed(cfg.seed) for cfg in configs]
        inits = [
            torch.stack([init_weight_(torch.empty(s), g_cfg.init, g, g_cfg.init_scale).T
                         for g_cfg, g in zip(configs, gens, strict=True)])
            for s in shapes
        ]  # fmt: skip  # layer by layer, like build_mlp: each model's generator in order
        self._layout, keep, values = [], [], []
        no_bias = _col([cfg.batchnorm and cfg.bn_placement == "before" for cfg in configs], bool)
        bn_units = [(s[0] if self.bn_where == "before" else c.width) for s in shapes[:-1]]
        for i, w in enumerate(inits):
            hidden = i < c.depth
            self._add(values, keep, f"w{i}", w, True)
            bias = torch.zeros(self.n, 1, w.shape[2])
            self._add(values, keep, f"b{i}", bias, ~no_bias if hidden else True)
            if hidden and self.bn_where:
                units = bn_units[i]
                self._add(values, keep, f"g{i}", torch.ones(self.n, 1, units), self.use_bn[:, 0])
                self._add(values, keep, f"be{i}", torch.zeros(self.n, 1, units), self.use_bn[:, 0])
            if hidden and c.activation == "prelu":
                self._add(values, keep, f"a{i}", torch.full((self.n, 1, 1), 0.25), True)
        self.flat = torch.cat(values, 1)  # (N, P)
        self.keep = torch.cat(keep, 1)  # (N, P) False where a model has no such parameter
        self.keep_f, self.all_kept = self.keep.float(), bool(self.keep.all())
        # Leaves that share flat's storage: their grads are concatenated into one (N, P).
        self.p = {
            name: self.flat[:, start : start + size].view(self.n, *shape).requires_grad_()
            for name, start, size, shape in self._layout
        }
        self.leaves = list(self.p.values())
        self.running = [(torch.zeros(self.n, 1, u), torch.ones(self.n, 1, u)) for u in bn_units]
        self.tracked = 0  # BN batches seen (cumulative average when bn_momentum is None)

    def _add(self, values, keep, name, tensor, mask) -> None:
        start = sum(v.shape[1] for v in values)
        values.append(tensor.reshape(self.n, -1))
        mask = torch.as_tensor(mask).reshape(-1, 1) if not isinstance(mask, bool) else mask
        keep.append(torch.ones(values[-1].shape, dtype=torch.bool) & mask)
        self._layout.append((name, start, values[-1].shape[1], tensor.shape[1:]))

    def grad(self, total: torch.Tensor) -> torch.Tensor:
        """d total / d flat as one (N, P) tensor."""
        grads = torch.autograd.grad(total, self.leaves)
        return torch.cat([g.reshape(self.n, -1) for g in grads], 1)

    def _bn(self, i: int, z: torch.Tensor, train: bool, mask) -> torch.Tensor:
        """BatchNorm1d per model over dim 1; BN-less models pass z through."""
        mean_r, var_r = self.running[i]
        if train:
            if mask is None:
                mean, var, count = (
                    z.mean(1, True),
                    z.var(1, unbiased=False, keepdim=True),
                    z.shape[1],
                )
            else:
                count = mask.sum(1, True)
                mean = (z * mask).sum(1, True) / count
                var = ((z - mean) * mask).square().sum(1, True) / count
            with torch.no_grad():
                m = self.bn_momentum if self.bn_momentum is not None else 1.0 / self.tracked
                mean_r.mul_(1 - m).add_(mean * m)
                var_r.mul_(1 - m).add_(var * count / (count - 1) * m)  # unbiased, as torch
            y = (z - mean) * torch.rsqrt(var + BN_EPS)
        else:
            y = (z - mean_r) * torch.rsqrt(var_r + BN_EPS)
        y = y * self.p[f"g{i}"] + self.p[f"be{i}"]
        return y if self.all_bn else torch.where(self.use_bn, y, z)

    def _act(self, i: int, z: torch.Tensor) -> torch.Tensor:
        if self.k > 1:
            return z.reshape(*z.shape[:2], -1, self.k).amax(-1)
        if self.cfg.activation == "prelu":
            return torch.where(z >= 0, z, self.p[f"a{i}"] * z)
        return self.act(z)

    def forward(self, x: torch.Tensor, train: bool, mask=None) -> torch.Tensor:
        """Logits (N, B, classes) of x (N or 1, B, D); train mode uses and updates BN stats."""
        if train and self.bn_where:
            self.tracked += 1
        for i in range(self.cfg.depth + 1):
            w, b = self.p[f"w{i}"], self.p[f"b{i}"]
            x = torch.baddbmm(b, x, w) if x.shape[0] == self.n else torch.matmul(x, w) + b
            if i == self.cfg.depth:
                return x
            if self.bn_where == "before":
                x = self._bn(i, x, train, mask)
            x = self._act(i, x)
            if self.bn_where == "after":
                x = self._bn(i, x, train, mask)
        raise AssertionError


class StackedOptimizer:
    """torch.optim's SGD (momentum 0 for "sgd") or Adam on `flat`, with per-model lr and β."""

    def __init__(self, net: StackedMLP, configs: list[RunConfig]):
        self.net, self.kind = net, configs[0].optimizer
        self.lr = _col([c.lr for c in configs])
        self.beta = _col([c.momentum if c.optimizer == "momentum" else 0.0 for c in configs])
        self.m = torch.zeros_like(net.flat) if self.kind != "sgd" else None
        self.v = torch.zeros_like(net.flat) if self.kind == "adam" else None
        self.t = 0

    @torch.no_grad()
    def step(self, grad: torch.Tensor, alive: torch.Tensor) -> None:
        """One update of the alive models (alive: (N,) bool); the others get lr 0.

        Masks multiply in place (fewest passes over (N, P)): a diverged model's own slice may
        turn NaN, but every op is per model, so no NaN reaches another model.
        """
        self.t += 1
        if not self.net.all_kept:
            grad.mul_(self.net.keep_f)  # parameters a model does not have (BN-less gamma...)
        step = -self.lr * alive[:, None]  # (N, 1)
        flat = self.net.flat
        if self.kind == "sgd":
            flat.addcmul_(grad, step)
            return
        if self.kind == "momentum":
            self.m.mul_(self.beta).add_(grad)
            flat.addcmul_(self.m, step)
            return
        b1, b2 = ADAM_BETAS
        self.m.lerp_(grad, 1 - b1)
        self.v.mul_(b2).addcmul_(grad, grad, value=1 - b2)
        denom = self.v.sqrt().div_(math.sqrt(1 - b2**self.t)).add_(ADAM_EPS)
        flat.addcdiv_(self.m * (step / (1 - b1**self.t)), denom)


def losses(net: StackedMLP, x: torch.Tensor, y: torch.Tensor, mask=None) -> torch.Tensor:
    """Mean cross-entropy of each model's mini-batch: (N,)."""
    logits = net.forward(x, True, mask)
    ce = F.cross_entropy(logits.transpose(1, 2), y, reduction="none")  # (N, B)
    if mask is None:
        return ce.mean(1)
    return (ce * mask[..., 0]).sum(1) / mask[..., 0].sum(1)
