"""N MLPs of one shape as stacked tensors: batched matmuls, per-model BN, one flat optimizer.

All trainable numbers live in one (P,) tensor `flat`, their gradients in one (P,) tensor
`gflat`; each parameter of all N models is a contiguous (N, ...) block (a view) of them, so an
optimizer step is a handful of elementwise ops whatever the depth. Model i starts from the
weights `nets.build_mlp(configs[i])` draws and follows torch.optim's SGD / Adam formulas.

Forward and backward are written out by hand (no autograd): each layer's gradient is one
batched matmul written straight into its view of `gflat`, and nothing is kept but what the
backward pass reads. tanh goes through numpy's vectorized kernel (~10x faster than torch's on
this CPU; the two agree to a few float32 ulps). tests/test_sweep.py checks every activation,
BN placement and optimizer against `train_sync`, the single-model autograd path.
"""

from __future__ import annotations

import contextlib
import functools
import math
import os

import numpy as np
import torch
from torch.nn import functional as F

from bnviz.batched import ADAM_BETAS, ADAM_EPS, BN_EPS
from bnviz.config import RunConfig
from bnviz.nets import init_weight_

aten = torch.ops.aten


def _col(values, dtype=torch.float32) -> torch.Tensor:
    """(N,) values as an (N, 1) column that broadcasts over a model's numbers."""
    return torch.tensor(values, dtype=dtype)[:, None]


@functools.cache
def onednn_keeps_fp32() -> bool:
    """True when oneDNN's matmul, allowed to use bf16, still computes in float32 here.

    Only torch's "bf16" matmul setting routes float32 matmuls to oneDNN, whose AVX-512 kernel
    is ~2x faster than MKL's on this AMD CPU. Without AMX, oneDNN keeps full float32 (its
    result equals MKL's); with AMX it would round inputs to bf16 (~1e-2 error), so: measured.
    """
    if not torch.backends.mkldnn.is_available() or torch.cpu._is_amx_tile_supported():
        return False
    gen = torch.Generator().manual_seed(0)
    a, b = torch.rand(8, 64, 64, generator=gen), torch.rand(8, 64, 64, generator=gen)
    exact = torch.bmm(a.double(), b.double())
    with _matmul_precision("bf16"):
        fast = torch.bmm(a, b)
    return bool(((fast - exact).abs() / exact).max() < 1e-5)  # bf16 inputs: ~4e-3


@contextlib.contextmanager
def _matmul_precision(value: str):
    old = torch.backends.mkldnn.matmul.fp32_precision
    torch.backends.mkldnn.matmul.fp32_precision = value
    try:
        yield
    finally:
        torch.backends.mkldnn.matmul.fp32_precision = old


FAST_MATMUL_ENV = "BNVIZ_FAST_MATMUL"  # "1": this process may route matmuls to oneDNN


def fast_matmul():
    """Inside: float32 matmuls go through oneDNN when it keeps float32 (else: unchanged).

    A process-wide torch setting, so only where nothing else steps meanwhile: a worker
    process (bnviz.pool sets FAST_MATMUL_ENV there; it runs one job at a time) or a bench
    that sets it. Elsewhere (the thread backend, tests, notebooks) a run stepping in another
    thread would get float32 results from the other library, equal only up to summation
    order, and a run must be bit-identical to train_sync: unchanged there.
    """
    if os.environ.get(FAST_MATMUL_ENV) != "1" or not onednn_keeps_fp32():
        return contextlib.nullcontext()
    return _matmul_precision("bf16")


def _tanh(z: torch.Tensor) -> torch.Tensor:
    """tanh of a contiguous float32 tensor, in place, by numpy's SIMD kernel."""
    array = z.numpy()
    np.tanh(array, out=array)
    return z


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
        widths = [n_in] + [c.width] * c.depth
        outs = [w * self.k for w in widths[1:]] + [n_out]
        shapes = list(zip(outs, widths, strict=True))  # (fan_out, fan_in) per Linear
        gens = [torch.Generator().manual_seed(cfg.seed) for cfg in configs]
        inits = [
            torch.stack([init_weight_(torch.empty(s), g_cfg.init, g, g_cfg.init_scale)
                         for g_cfg, g in zip(configs, gens, strict=True)])
            for s in shapes
        ]  # fmt: skip  # layer by layer, like build_mlp: each model's generator in order
        # hidden layers as (N, fan_in, fan_out): x @ w; the head as (N, classes, fan_in): its
        # logits come out as (N, classes, B), where log-softmax over classes is ~10x faster
        inits = [w.transpose(1, 2) for w in inits[:-1]] + inits[-1:]
        self._layout, keep, values = [], [], []
        no_bias = _col([cfg.batchnorm and cfg.bn_placement == "before" for cfg in configs], bool)
        bn_units = [(s[0] if self.bn_where == "before" else c.width) for s in shapes[:-1]]
        for i, w in enumerate(inits):
            hidden = i < c.depth
            self._add(values, keep, f"w{i}", w, True)
            bias = torch.zeros(self.n, 1, w.shape[2]) if hidden else torch.zeros(self.n, n_out, 1)
            self._add(values, keep, f"b{i}", bias, ~no_bias if hidden else True)
            if hidden and self.bn_where:
                units = bn_units[i]
                self._add(values, keep, f"g{i}", torch.ones(self.n, 1, units), self.use_bn[:, 0])
                self._add(values, keep, f"be{i}", torch.zeros(self.n, 1, units), self.use_bn[:, 0])
            if hidden and c.activation == "prelu":
                self._add(values, keep, f"a{i}", torch.full((self.n, 1, 1), 0.25), True)
        self.flat = torch.cat(values)  # (P,): every parameter of every model
        self.gflat = torch.zeros_like(self.flat)  # d loss / d flat, filled by backward()
        self.keep = torch.cat(keep)  # (P,) False where a model has no such parameter
        self.keep_f, self.all_kept = self.keep.float(), bool(self.keep.all())
        self.p = self._views(self.flat)
        self.g = self._views(self.gflat)
        self.running = [(torch.zeros(self.n, 1, u), torch.ones(self.n, 1, u)) for u in bn_units]
        self.tracked = 0  # BN batches seen (cumulative average when bn_momentum is None)

    def _add(self, values, keep, name, tensor, mask) -> None:
        """Append one parameter of every model as a contiguous (N, ...) block."""
        start = sum(len(v) for v in values)
        values.append(tensor.reshape(-1))
        mask = torch.as_tensor(mask).reshape(-1, 1) if not isinstance(mask, bool) else mask
        keep.append(
            (torch.ones(tensor.shape[0], tensor[0].numel(), dtype=torch.bool) & mask).view(-1)
        )
        self._layout.append((name, start, tensor.shape))

    def _views(self, flat: torch.Tensor) -> dict[str, torch.Tensor]:
        """Each parameter as a contiguous (N, ...) view of the (P,) tensor flat."""
        return {
            name: flat[start : start + shape.numel()].view(shape)
            for name, start, shape in self._layout
        }

    def spread(self, values: torch.Tensor) -> torch.Tensor:
        """(N,) per-model numbers -> (P,): each model's number at each of its parameters."""
        return torch.cat([values.view(-1, 1).expand(shape[0], shape[1:].numel()).reshape(-1)
                          for _, _, shape in self._layout])  # fmt: skip

    # ------------------------------------------------------------------ BatchNorm

    def _bn(self, i: int, z: torch.Tensor, train: bool, mask, cache: list | None):
        """BatchNorm1d per model over dim 1; BN-less models pass z through."""
        mean_r, var_r = self.running[i]
        if train:
            if mask is None:  # two passes: torch.var over dim 1 is ~20x slower here
                count = z.shape[1]
                mean = z.mean(1, True)
                var = (z - mean).square_().mean(1, True)
            else:
                count = mask.sum(1, True)
                mean = (z * mask).sum(1, True) / count
                var = ((z - mean) * mask).square().sum(1, True) / count
            m = self.bn_momentum if self.bn_momentum is not None else 1.0 / self.tracked
            mean_r.mul_(1 - m).add_(mean * m)
            var_r.mul_(1 - m).add_(var * count / (count - 1) * m)  # unbiased, as torch
        else:
            mean, var = mean_r, var_r
        rstd = torch.rsqrt(var + BN_EPS)
        y = (z - mean).mul_(rstd)
        if cache is not None:
            cache.append((y, rstd))
        out = torch.addcmul(self.p[f"be{i}"], y, self.p[f"g{i}"])
        return out if self.all_bn else torch.where(self.use_bn, out, z)

    def _bn_back(self, i: int, d: torch.Tensor, mask, cache) -> torch.Tensor:
        """d out -> d z of _bn (train mode); writes the gradients of γ and β."""
        y, rstd = cache
        torch.sum(d * y, 1, keepdim=True, out=self.g[f"g{i}"])
        torch.sum(d, 1, keepdim=True, out=self.g[f"be{i}"])
        dy = d * self.p[f"g{i}"]  # padding rows have d = 0, so their sums add nothing
        count = d.shape[1] if mask is None else mask.sum(1, True)
        mean_dy = dy.sum(1, True) / count
        mean_dyy = (dy * y).sum(1, True) / count
        dz = (dy - mean_dy).sub_(y * mean_dyy).mul_(rstd)
        if mask is not None:
            dz.mul_(mask)  # a padding row does not move the statistics
        return dz if self.all_bn else torch.where(self.use_bn, dz, d)

    # ------------------------------------------------------------------ activations

    def _act(self, i: int, z: torch.Tensor, cache: list | None) -> torch.Tensor:
        c, kind = self.cfg, self.cfg.activation
        if kind == "tanh":
            a = keep = _tanh(z)  # z is a fresh tensor nothing else reads
        elif kind == "sigmoid":
            a = keep = torch.sigmoid(z)
        elif kind == "relu":
            a = keep = torch.relu(z)
        elif kind == "maxout":
            a, keep = z.reshape(*z.shape[:2], -1, self.k).max(-1)
        else:
            keep = z
            if kind == "leaky_relu":
                a = F.leaky_relu(z, c.leaky_slope)
            elif kind == "prelu":
                a = torch.where(z >= 0, z, self.p[f"a{i}"] * z)
            elif kind == "elu":
                a = F.elu(z, c.elu_alpha)
                keep = (z, a)
            elif kind == "gelu":
                a = F.gelu(z)
            elif kind == "silu":
                a = F.silu(z)
            else:
                raise ValueError(f"no stacked activation {kind!r}")
        if cache is not None:
            cache.append(keep)
        return a

    def _act_back(self, i: int, d: torch.Tensor, keep) -> torch.Tensor:
        """d a -> d z (torch's own backward formulas); writes PReLU's slope gradient."""
        c, kind = self.cfg, self.cfg.activation
        if kind == "tanh":
            return d.addcmul_(d * keep, keep, value=-1.0)  # d · (1 − a²)
        if kind == "sigmoid":
            return aten.sigmoid_backward(d, keep)
        if kind == "relu":
            return aten.threshold_backward(d, keep, 0)
        if kind == "maxout":
            dz = torch.zeros(*d.shape, self.k)
            return dz.scatter_(-1, keep[..., None], d[..., None]).reshape(*d.shape[:2], -1)
        if kind == "leaky_relu":
            return aten.leaky_relu_backward(d, keep, c.leaky_slope, False)
        if kind == "prelu":
            slope = self.p[f"a{i}"]
            pos = keep > 0
            torch.sum(torch.where(pos, 0.0, keep * d), (1, 2), keepdim=True, out=self.g[f"a{i}"])
            return torch.where(pos, d, slope * d)
        if kind == "elu":
            return aten.elu_backward(d, c.elu_alpha, 1.0, 1.0, False, keep[0])
        if kind == "gelu":
            return aten.gelu_backward(d, keep)
        return aten.silu_backward(d, keep)

    # ------------------------------------------------------------------ passes

    @torch.no_grad()
    def forward(self, x: torch.Tensor, train: bool, mask=None, cache: list | None = None):
        """Logits (N, classes, B) of x (N or 1, B, D); train mode uses and updates BN stats.

        cache: a list to fill with what backward() reads (train mode only).
        """
        if train and self.bn_where:
            self.tracked += 1
        depth = self.cfg.depth
        for i in range(depth + 1):
            if cache is not None:
                cache.append(x)
            w, b = self.p[f"w{i}"], self.p[f"b{i}"]
            if i == depth:
                return torch.matmul(w, x.transpose(1, 2)).add_(b)
            x = torch.baddbmm(b, x, w) if x.shape[0] == self.n else torch.matmul(x, w).add_(b)
            if self.bn_where == "before":
                x = self._bn(i, x, train, mask, cache)
            x = self._act(i, x, cache)
            if self.bn_where == "after":
                x = self._bn(i, x, train, mask, cache)
        raise AssertionError

    @torch.no_grad()
    def backward(self, d: torch.Tensor, cache: list, mask=None) -> torch.Tensor:
        """d loss / d logits (N, classes, B) -> every gradient, written into `gflat`."""
        per = 1 + (self.bn_where is not None) + 1  # cached per hidden layer: x, [bn], act
        depth = self.cfg.depth
        torch.bmm(d, cache[depth * per], out=self.g[f"w{depth}"])  # the head: (N, classes, F)
        torch.sum(d, 2, keepdim=True, out=self.g[f"b{depth}"])
        d = torch.bmm(d.transpose(1, 2), self.p[f"w{depth}"])  # (N, B, F)
        for i in range(depth - 1, -1, -1):
            first = i * per + 1
            if self.bn_where == "after":
                d = self._bn_back(i, d, mask, cache[first + 1])
                d = self._act_back(i, d, cache[first])
            elif self.bn_where == "before":
                d = self._act_back(i, d, cache[first + 1])
                d = self._bn_back(i, d, mask, cache[first])
            else:
                d = self._act_back(i, d, cache[first])
            x = cache[i * per]
            torch.bmm(x.transpose(1, 2), d, out=self.g[f"w{i}"])
            torch.sum(d, 1, keepdim=True, out=self.g[f"b{i}"])
            if i == 0:
                return self.gflat
            d = torch.bmm(d, self.p[f"w{i}"].transpose(1, 2))
        raise AssertionError


class StackedOptimizer:
    """torch.optim's SGD (momentum 0 for "sgd") or Adam on `flat`, with per-model lr and β."""

    def __init__(self, net: StackedMLP, configs: list[RunConfig]):
        self.net, self.kind = net, configs[0].optimizer
        self.lr = torch.tensor([c.lr for c in configs])
        beta = [c.momentum if c.optimizer == "momentum" else 0.0 for c in configs]
        self.beta = net.spread(torch.tensor(beta))  # (P,)
        self.m = torch.zeros_like(net.flat) if self.kind != "sgd" else None
        self.v = torch.zeros_like(net.flat) if self.kind == "adam" else None
        self.t = 0
        self._step, self._alive = None, None  # -lr per parameter, for this set of alive models

    @torch.no_grad()
    def step(self, grad: torch.Tensor, alive: torch.Tensor) -> None:
        """One update of the alive models (alive: (N,) bool); the others get lr 0.

        Masks multiply in place (fewest passes over (P,)): a diverged model's own slice may
        turn NaN, but every op is per element, so no NaN reaches another model.
        """
        self.t += 1
        if not self.net.all_kept:
            grad.mul_(self.net.keep_f)  # parameters a model does not have (BN-less gamma...)
        if self._alive is None or not torch.equal(alive, self._alive):
            self._alive = alive.clone()
            self._step = self.net.spread(-self.lr * alive)  # (P,)
        step, flat = self._step, self.net.flat
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


class Step:
    """One training step's forward half: per-model losses, and what backward() needs."""

    def __init__(self, net: StackedMLP, x: torch.Tensor, y: torch.Tensor, mask=None):
        self.net, self.mask, self.cache = net, mask, []
        logits = net.forward(x, True, mask, self.cache)
        self.logp = torch.log_softmax(logits, 1)  # (N, classes, B)
        self.y = y[:, None, :]
        nll = self.logp.gather(1, self.y).neg_()[:, 0]  # (N, B): F.cross_entropy's
        if mask is None:
            self.loss, self.rows = nll.mean(1), None
        else:
            self.rows = mask[..., 0] / mask[..., 0].sum(1, True)  # (N, B) mean over real rows
            self.loss = (nll * self.rows).sum(1)

    def grad(self, weight: torch.Tensor) -> torch.Tensor:
        """d sum_i weight_i · loss_i / d flat: (P,), in net.gflat."""
        d = self.logp.exp_()  # softmax; logp is not needed again
        d.scatter_add_(1, self.y, torch.full_like(self.y, -1.0, dtype=d.dtype))
        rows = weight[:, None] / d.shape[2] if self.rows is None else self.rows * weight[:, None]
        return self.net.backward(d.mul_(rows[:, None, :]), self.cache, self.mask)
