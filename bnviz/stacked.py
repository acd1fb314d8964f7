"""N MLPs of one shape as stacked tensors: batched matmuls, per-model BN, one flat optimizer.

All trainable numbers live in one (P,) tensor `flat`, their gradients in one (P,) tensor
`gflat`; each parameter of all N models is a contiguous (N, ...) block (a view) of them, so an
optimizer step is a handful of elementwise ops whatever the depth. Model i starts from the
weights `nets.build_mlp(configs[i])` draws and follows torch.optim's SGD / Adam formulas.

Forward and backward are written out by hand (no autograd): each layer's gradient is one
batched matmul written straight into its view of `gflat`, and nothing is kept but what the
backward pass reads. Every op writes into a Workspace buffer reused by every step: no step
allocates a large tensor. tanh goes through numpy's vectorized kernel (~10x faster than torch's on
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


_MKLDNN = torch.backends.mkldnn.matmul


NARROW = 8  # inputs or classes up to this: that layer's matmuls go through MKL (_narrow)


def _narrow(fn, *args, **kwargs):
    """A matmul with a side of NARROW or fewer (2 inputs, 2 classes) through MKL's kernel even
    inside fast_matmul(): for these, oneDNN's per-call cost (~18 us, measured) is most of the
    time, and a step of the 2-D lessons has five of them."""
    old = _MKLDNN.fp32_precision
    if old == "ieee":
        return fn(*args, **kwargs)
    _MKLDNN.fp32_precision = "ieee"
    try:
        return fn(*args, **kwargs)
    finally:
        _MKLDNN.fp32_precision = old


def _call(fn, *args, **kwargs):
    return fn(*args, **kwargs)


class Workspace:
    """The tensors a net's passes write, kept from step to step: one buffer per name.

    A fresh tensor of a step's size (1 MB at 64 models x batch 64 x width 64) comes from a new
    mmap, so every op would page-fault its output in (measured: a 200 us matmul took 530 us in
    a step's chain of ops); reused buffers are mapped once and often still in cache.
    ws(name, shape) is a contiguous tensor at the start of the buffer `name`, grown to the
    largest shape asked for (a training step and an evaluation's chunks share it). It is
    overwritten by the next op that asks for the name, so: a name ending in the layer's index
    for what outlives the op that writes it (activations the backward pass reads), "scratch"
    for what the same few lines consume. Nets that never step at the same time (the parts of
    one thread) may share one.
    """

    def __init__(self):
        self._buffers: dict[tuple, torch.Tensor] = {}  # (name, dtype) -> 1-D storage
        self._views: dict[tuple, torch.Tensor] = {}  # (name, shape, dtype) -> its view

    def __call__(self, name: str, shape, dtype=torch.float32) -> torch.Tensor:
        key = (name, tuple(shape), dtype)
        view = self._views.get(key)
        if view is None:
            size = math.prod(key[1])
            buf = self._buffers.get((name, dtype))
            if buf is None or len(buf) < size:
                buf = self._buffers[name, dtype] = torch.empty(size, dtype=dtype)
                self._views = {k: v for k, v in self._views.items() if k[::2] != (name, dtype)}
            view = self._views[key] = buf[:size].view(key[1])
        return view

    def clear(self) -> None:
        """Free every buffer (they are made again when asked for)."""
        self._buffers.clear()
        self._views.clear()


def _tanh(z: torch.Tensor) -> torch.Tensor:
    """tanh of a contiguous float32 tensor, in place, by numpy's SIMD kernel."""
    array = z.numpy()
    np.tanh(array, out=array)
    return z


class StackedMLP:
    """depth hidden layers of every model, as (N, fan_in, fan_out) weight views of `flat`."""

    def __init__(
        self, configs: list[RunConfig], n_in: int, n_out: int, ws: Workspace | None = None
    ):
        c = configs[0]
        self.ws = ws if ws is not None else Workspace()  # where forward and backward write
        self.n, self.cfg = len(configs), c
        self.n_in, self.n_out = n_in, n_out
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
        for i, w in enumerate(inits):  # the weights first: the rest is one small tail of flat
            self._add(values, keep, f"w{i}", w, True)
        self.tail = sum(len(v) for v in values)  # flat[tail:]: biases, BN's γ and β, slopes
        for i, w in enumerate(inits):
            hidden = i < c.depth
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
        self._bind()
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

    def _bind(self) -> None:
        """Per-step lookups made once: each layer's (weight, bias) and how its matmuls are
        called (the first and the last through MKL when narrow), constants by shape."""
        depth = self.cfg.depth
        self.wb = [(self.p[f"w{i}"], self.p[f"b{i}"]) for i in range(depth + 1)]
        sides = [self.n_in] + [math.inf] * (depth - 1) + [self.n_out]
        self.mm = [_narrow if side <= NARROW else _call for side in sides]
        self.tail_keep = None if self.all_kept else self.keep_f[self.tail :]
        self._minus_ones: dict[tuple, torch.Tensor] = {}

    def minus_ones(self, shape) -> torch.Tensor:
        """A constant tensor of −1 (made once per shape)."""
        ones = self._minus_ones.get(tuple(shape))
        if ones is None:
            ones = self._minus_ones[tuple(shape)] = torch.full(tuple(shape), -1.0)
        return ones

    def __getstate__(self) -> dict:
        """Everything but the workspace and the views (a sweep moves parts between processes;
        the new owner sets `ws`)."""
        state = self.__dict__.copy()
        for name in ("ws", "p", "g", "tail_keep", "wb", "mm", "_minus_ones"):
            state.pop(name)
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self.ws = None
        self.p, self.g = self._views(self.flat), self._views(self.gflat)
        self._bind()

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

    def _bn(self, i: int, z: torch.Tensor, train: bool, mask, cache: list | None, slot: int):
        """BatchNorm1d per model over dim 1; BN-less models pass z through."""
        ws, mean_r, var_r = self.ws, *self.running[i]
        if train:
            scratch = ws("scratch", z.shape)
            if mask is None:  # two passes: torch.var over dim 1 is ~20x slower here
                count = z.shape[1]
                mean = z.mean(1, True)
                var = torch.sub(z, mean, out=scratch).square_().mean(1, True)
            else:
                count = mask.sum(1, True)
                mean = torch.mul(z, mask, out=scratch).sum(1, True) / count
                var = torch.sub(z, mean, out=scratch).mul_(mask).square_().sum(1, True) / count
            m = self.bn_momentum if self.bn_momentum is not None else 1.0 / self.tracked
            mean_r.mul_(1 - m).add_(mean * m)
            var_r.mul_(1 - m).add_(var * count / (count - 1) * m)  # unbiased, as torch
        else:
            mean, var = mean_r, var_r
        rstd = torch.rsqrt(var + BN_EPS)
        y = torch.sub(z, mean, out=ws(f"bn_y{slot}", z.shape)).mul_(rstd)
        if cache is not None:
            cache.append((y, rstd))
        out = ws(f"bn{slot}", z.shape)
        torch.addcmul(self.p[f"be{i}"], y, self.p[f"g{i}"], out=out)
        return out if self.all_bn else torch.where(self.use_bn, out, z, out=out)

    def _bn_back(self, i: int, d: torch.Tensor, mask, cache) -> torch.Tensor:
        """d out -> d z of _bn (train mode); writes the gradients of γ and β."""
        y, rstd = cache
        scratch = self.ws("scratch", d.shape)
        torch.sum(torch.mul(d, y, out=scratch), 1, keepdim=True, out=self.g[f"g{i}"])
        torch.sum(d, 1, keepdim=True, out=self.g[f"be{i}"])
        dy = torch.mul(d, self.p[f"g{i}"], out=self.ws(f"bn_d{i}", d.shape))
        count = d.shape[1] if mask is None else mask.sum(1, True)  # padding rows: d = 0
        mean_dy = dy.sum(1, True) / count
        mean_dyy = torch.mul(dy, y, out=scratch).sum(1, True) / count
        dz = dy.sub_(mean_dy).sub_(torch.mul(y, mean_dyy, out=scratch)).mul_(rstd)
        if mask is not None:
            dz.mul_(mask)  # a padding row does not move the statistics
        return dz if self.all_bn else torch.where(self.use_bn, dz, d, out=dz)

    # ------------------------------------------------------------------ activations

    def _act(self, i: int, z: torch.Tensor, cache: list | None, slot: int) -> torch.Tensor:
        """The activation of z (a buffer this layer owns: sigmoid, tanh, relu overwrite it)."""
        c, kind = self.cfg, self.cfg.activation
        if kind not in ("tanh", "sigmoid", "relu"):  # maxout: the max of each k units
            out = self.ws(f"act{slot}", (*z.shape[:2], z.shape[2] // self.k))
        if kind == "tanh":
            a = keep = _tanh(z)
        elif kind == "sigmoid":
            a = keep = z.sigmoid_()
        elif kind == "relu":
            a = keep = z.relu_()
        elif kind == "maxout":
            idx = self.ws(f"max_idx{slot}", out.shape, torch.long)
            a, keep = torch.max(z.view(*out.shape, self.k), -1, out=(out, idx))
        else:
            keep = z
            if kind == "leaky_relu":
                a = aten.leaky_relu.out(z, c.leaky_slope, out=out)
            elif kind == "prelu":
                pos = torch.ge(z, 0, out=self.ws("scratch_bool", z.shape, torch.bool))
                a = torch.where(pos, z, torch.mul(self.p[f"a{i}"], z, out=out), out=out)
            elif kind == "elu":
                a = aten.elu.out(z, c.elu_alpha, out=out)
                keep = (z, a)
            elif kind == "gelu":
                a = aten.gelu.out(z, out=out)
            elif kind == "silu":
                a = aten.silu.out(z, out=out)
            else:
                raise ValueError(f"no stacked activation {kind!r}")
        if cache is not None:
            cache.append(keep)
        return a

    def _act_back(self, i: int, d: torch.Tensor, keep) -> torch.Tensor:
        """d a -> d z (torch's own backward formulas), in place of d; writes PReLU's slope
        gradient."""
        c, kind = self.cfg, self.cfg.activation
        if kind == "tanh":  # d · (1 − a²), in one pass
            return aten.tanh_backward.grad_input(d, keep, grad_input=d)
        if kind == "sigmoid":
            return aten.sigmoid_backward.grad_input(d, keep, grad_input=d)
        if kind == "relu":
            return aten.threshold_backward.grad_input(d, keep, 0, grad_input=d)
        if kind == "maxout":
            dz = self.ws("max_d", (*d.shape, self.k)).zero_()  # read by this layer only
            return dz.scatter_(-1, keep[..., None], d[..., None]).view(*d.shape[:2], -1)
        if kind == "leaky_relu":
            return aten.leaky_relu_backward.grad_input(d, keep, c.leaky_slope, False, grad_input=d)
        if kind == "prelu":
            pos = torch.gt(keep, 0, out=self.ws("scratch_bool", d.shape, torch.bool))
            keep_d = torch.mul(keep, d, out=self.ws("scratch", d.shape)).masked_fill_(pos, 0.0)
            torch.sum(keep_d, (1, 2), keepdim=True, out=self.g[f"a{i}"])
            slope_d = torch.mul(self.p[f"a{i}"], d, out=self.ws("scratch", d.shape))
            return torch.where(pos, d, slope_d, out=d)
        if kind == "elu":
            return aten.elu_backward.grad_input(
                d, c.elu_alpha, 1.0, 1.0, False, keep[0], grad_input=d
            )
        if kind == "gelu":
            return aten.gelu_backward.grad_input(d, keep, grad_input=d)
        return aten.silu_backward.grad_input(d, keep, grad_input=d)

    # ------------------------------------------------------------------ passes

    @torch.no_grad()
    def forward(self, x: torch.Tensor, train: bool, mask=None, cache: list | None = None):
        """Logits (N, classes, B) of x (N or 1, B, D); train mode uses and updates BN stats.

        cache: a list to fill with what backward() reads (train mode only). The tensors
        returned and cached are workspace buffers: valid until the next pass.
        """
        if train and self.bn_where:
            self.tracked += 1
        depth, n = self.cfg.depth, self.n
        for i in range(depth + 1):
            slot = i if cache is not None else i % 2  # no cache: two sets of buffers alternate
            if cache is not None:
                cache.append(x)
            w, b = self.wb[i]
            if i == depth:
                logits = self.ws("logits", (n, w.shape[1], x.shape[1]))
                return self.mm[i](torch.baddbmm, b, w, x.transpose(1, 2), out=logits)
            z = self.ws(f"z{slot}", (n, x.shape[1], w.shape[2]))
            mm = self.mm[i]
            if x.shape[0] == n:
                x = mm(torch.baddbmm, b, x, w, out=z)
            else:
                x = mm(torch.matmul, x, w, out=z).add_(b)
            if self.bn_where == "before":
                x = self._bn(i, x, train, mask, cache, slot)
            x = self._act(i, x, cache, slot)
            if self.bn_where == "after":
                x = self._bn(i, x, train, mask, cache, slot)
        raise AssertionError

    @torch.no_grad()
    def backward(self, d: torch.Tensor, cache: list, mask=None, update: bool = False):
        """d loss / d logits (N, classes, B) -> every gradient, written into `gflat`.

        update: d already holds −lr · d loss (plain SGD): each weight matrix then takes its
        step inside its gradient's matmul (w += xᵀ·d, once the layer below has read w), so the
        weights' gradients are never written (their part of gflat is left as it was); the
        small tail (biases, γ, β, slopes) is written to gflat as always, for the caller to add.
        """
        per = 1 + (self.bn_where is not None) + 1  # cached per hidden layer: x, [bn], act
        depth = self.cfg.depth
        x, w = cache[depth * per], self.p[f"w{depth}"]
        torch.sum(d, 2, keepdim=True, out=self.g[f"b{depth}"])
        below = self.mm[depth](
            torch.bmm, d.transpose(1, 2), w, out=self._delta(depth - 1, (d.shape[2], w.shape[2]))
        )
        self._weight_grad(depth, d, x, update)  # the head: (N, classes, F)
        d = below
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
            torch.sum(d, 1, keepdim=True, out=self.g[f"b{i}"])
            if i == 0:
                self._weight_grad(0, x.transpose(1, 2), d, update)
                return self.gflat
            w = self.p[f"w{i}"]
            below = torch.bmm(
                d, w.transpose(1, 2), out=self._delta(i - 1, (d.shape[1], w.shape[1]))
            )
            self._weight_grad(i, x.transpose(1, 2), d, update)
            d = below
        raise AssertionError

    def _weight_grad(self, i: int, a: torch.Tensor, b: torch.Tensor, update: bool) -> None:
        """Weight i's gradient a @ b into gflat, or (update mode) added to the weight."""
        mm = self.mm[i]
        if update:
            mm(self.p[f"w{i}"].baddbmm_, a, b)
        else:
            mm(torch.bmm, a, b, out=self.g[f"w{i}"])

    def _delta(self, i: int, shape) -> torch.Tensor:
        """The buffer of d loss / d (output of hidden layer i): two alternate going down."""
        return self.ws(f"d{i % 2}", (self.n, *shape))


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
        self._scale = None  # -lr per model over its rows, for this set of alive models (SGD)
        self._n_alive: int | None = None  # the count apply() was last given

    @torch.no_grad()
    def apply(self, batch: Step, alive: torch.Tensor, n_alive: int | None = None) -> None:
        """Backward pass and update of the alive models (alive: (N,) bool; n_alive: its count
        when the caller keeps it: models only ever die, so an unchanged count is the same set).

        Plain SGD folds −lr into the loss's gradient (every gradient is linear in it) and lets
        each weight matrix step inside its gradient's matmul: no (P,) gradient is written or
        read for the weights, the biggest part of P (64 models of the lab's net: a 3 MB pass).
        """
        if self.kind != "sgd":
            self.step(batch.grad(batch.scale(alive.float())), alive)
            return
        self.t += 1
        net = self.net
        same = n_alive is not None and n_alive == self._n_alive
        if not same and (self._alive is None or not torch.equal(alive, self._alive)):
            self._alive, self._scale = alive.clone(), batch.scale(-self.lr * alive)
        self._n_alive = n_alive
        grad = batch.grad(self._scale, update=True)[net.tail :]
        if net.tail_keep is None:
            net.flat[net.tail :].add_(grad)
        else:  # parameters a model does not have (BN-less gamma...) stay as they are
            net.flat[net.tail :].addcmul_(grad, net.tail_keep)

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
        ws = self.net.ws
        denom = torch.sqrt(self.v, out=ws("adam_denom", flat.shape))
        denom.div_(math.sqrt(1 - b2**self.t)).add_(ADAM_EPS)
        update = torch.div(step, 1 - b1**self.t, out=ws("adam_update", flat.shape)).mul_(self.m)
        flat.addcdiv_(update, denom)


class Step:
    """One training step's forward half: per-model losses, and what backward() needs."""

    def __init__(self, net: StackedMLP, x: torch.Tensor, y: torch.Tensor, mask=None):
        self.net, self.mask, self.cache = net, mask, []
        logits = net.forward(x, True, mask, self.cache)
        self.logp = torch.log_softmax(logits, 1)  # (N, classes, B)
        self.y = y[:, None, :]
        self._picked = self.logp.gather(1, self.y)  # (N, 1, B): minus F.cross_entropy's per row

    def total(self) -> float:
        """Minus the loss summed over every row of every model: finite when every model's
        loss is (the log-probabilities are all ≤ 0: no inf cancels); it may overflow to inf
        when none is infinite, so a non-finite total only says: look at `loss`."""
        return self._picked.sum().item()

    @property
    def loss(self) -> torch.Tensor:
        """(N,) minus each model's summed loss (only its finiteness is read); padding rows
        left out."""
        if self.mask is None:
            return self._picked.sum((1, 2))
        return (self._picked[:, 0] * self.mask[..., 0]).sum(1)

    def scale(self, weight: torch.Tensor) -> torch.Tensor:
        """weight_i / (model i's rows), shaped to multiply d loss / d logits (N, classes, B)."""
        if self.mask is None:
            return (weight / self.y.shape[2])[:, None, None]
        rows = self.mask[..., 0]
        return (rows / rows.sum(1, True) * weight[:, None])[:, None, :]

    def grad(self, scale: torch.Tensor, update: bool = False) -> torch.Tensor:
        """d sum_i weight_i · loss_i / d flat: (P,), in net.gflat (scale: self.scale(weight);
        update: see backward())."""
        d = self.logp.exp_()  # softmax; logp is not needed again
        d.scatter_add_(1, self.y, self.net.minus_ones(self.y.shape))
        return self.net.backward(d.mul_(scale), self.cache, self.mask, update)
