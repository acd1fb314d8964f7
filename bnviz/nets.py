"""MLP builder: activation, BatchNorm on/off and placement, init scheme, bias."""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable, Iterator

import numpy as np
import torch
from torch import nn

from bnviz.config import SEED_INIT, RunConfig

SEED_DROPOUT = 3  # dropout masks: their own stream (config.py's offsets are 0, 1, 2 and 7)

SATURATION = 0.99  # |output| within 1 % of a bound (tanh ±1, sigmoid 0/1) counts as saturated
SATURATING = ("sigmoid", "tanh")  # activations whose outputs can saturate
RELU_LIKE = ("relu", "leaky_relu", "prelu", "elu", "gelu", "silu", "maxout")


class Maxout(nn.Module):
    """max over k pieces: (B, width*k) -> (B, width)."""

    def __init__(self, k: int):
        super().__init__()
        self.k = k

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.view(x.shape[0], -1, self.k).amax(-1)


class Tanh(nn.Tanh):
    """torch's Tanh; without autograd (evaluations, the decision boundary) through numpy's
    SIMD kernel: ~10x faster than torch's on this CPU, equal to a few float32 ulps. Training
    keeps torch's, so runs are unchanged bit for bit."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if torch.is_grad_enabled() or x.dtype != torch.float32:
            return torch.tanh(x)
        try:
            array = x.contiguous().numpy()
        except RuntimeError:  # no storage of its own (torch.func.vmap's batched tensors)
            return torch.tanh(x)
        return torch.from_numpy(np.tanh(array))


ACTIVATIONS: dict[str, Callable[[RunConfig], nn.Module]] = {
    "sigmoid": lambda c: nn.Sigmoid(),
    "tanh": lambda c: Tanh(),
    "relu": lambda c: nn.ReLU(),
    "leaky_relu": lambda c: nn.LeakyReLU(c.leaky_slope),
    "prelu": lambda c: nn.PReLU(init=0.25),
    "elu": lambda c: nn.ELU(c.elu_alpha),
    "gelu": lambda c: nn.GELU(),
    "silu": lambda c: nn.SiLU(),
    "maxout": lambda c: Maxout(c.maxout_k),
}


def saturated_share(out: np.ndarray, activation: str, axis: int | None = None):
    """Share of outputs in the flat tails of sigmoid/tanh along axis (NaN for other activations).

    The one definition of "saturated": |output| within 1 - SATURATION of a bound.
    """
    if activation == "tanh":
        return (np.abs(out) > SATURATION).mean(axis=axis)
    if activation == "sigmoid":
        return (np.abs(2 * out - 1) > SATURATION).mean(axis=axis)
    shape = () if axis is None else np.delete(np.shape(out), axis)
    return np.full(shape, math.nan)[()]


def dead_share(pre: np.ndarray, activation: str) -> np.ndarray:
    """Share of units never positive over the examples: pre (..., N, units) -> (...).

    The one definition of a dead unit (ReLU family; NaN for other activations).
    """
    if activation not in RELU_LIKE:
        return np.full(np.shape(pre)[:-2], math.nan)[()]
    return (np.max(pre, axis=-2) <= 0).mean(axis=-1)


@contextlib.contextmanager
def capture_calls(modules, outputs: bool = True) -> Iterator[list]:
    """(input, output) of every forward call of `modules` while inside, in call order
    (outputs=False: the input only).

    The one way layer tensors are captured. Each module's forward is wrapped while inside
    (an instance attribute, removed on exit) rather than hooked: a forward hook sends every
    call through torch's slow module call path (hooks left in place cost ~15 % per step), and
    hooks added and removed for one forward of the lab's net cost ~8 µs more than this.
    """
    seen: list = []
    saved = []
    for m in modules:
        saved.append((m, m.__dict__.get("forward")))
        m.__dict__["forward"] = _recording(m.forward, seen, outputs)  # Module.__setattr__: 2 µs
    try:
        yield seen
    finally:
        for m, own in reversed(saved):  # a module captured twice gets its first forward back
            if own is None:
                del m.__dict__["forward"]
            else:
                m.__dict__["forward"] = own


def _recording(forward: Callable, seen: list, outputs: bool) -> Callable:
    def recorded(x, *args, **kwargs):
        out = forward(x, *args, **kwargs)
        seen.append((x, out) if outputs else x)
        return out

    return recorded


def capture_inputs(modules) -> contextlib.AbstractContextManager[list[torch.Tensor]]:
    """The input tensor of every forward call of `modules` while inside, in call order."""
    return capture_calls(modules, outputs=False)


def pre_activations(model: MLP, x: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
    """Logits and every hidden layer's pre-activation, through the model's own forward."""
    with capture_inputs([b.act for b in model.blocks]) as pres:
        logits = model(x)
    return logits, pres


def init_weight_(
    weight: torch.Tensor, scheme: str, gen: torch.Generator, init_scale: float = 1.0
) -> torch.Tensor:
    """Fill a (fan_out, fan_in) weight in place: the schemes of CS231n lecture 6.

    "scaled" is init_scale·randn/√fan_in: one axis through 0.01·randn, Xavier (1) and 1.0·randn.
    """
    fan_in = weight.shape[1]
    with torch.no_grad():
        if scheme == "zeros":
            return weight.zero_()
        if scheme == "orthogonal":
            return nn.init.orthogonal_(weight, generator=gen)
        scale = {
            "small": 0.01,
            "large": 1.0,
            "xavier": 1.0 / math.sqrt(fan_in),
            "he": 1.0 / math.sqrt(fan_in / 2.0),
            "scaled": init_scale / math.sqrt(fan_in),
        }[scheme]
        return weight.normal_(0.0, scale, generator=gen)


class _TrainingNoise(nn.Module):
    """Randomness in training only, from the run's own generator (identity in eval)."""

    def __init__(self, gen: torch.Generator):
        super().__init__()
        self.gen = gen

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.noisy(x) if self.training else x

    def noisy(self, x: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError


class BNNoise(_TrainingNoise):
    """Santurkar et al. 2018's injected covariate shift: in training, each forward draws a new
    shift ~ U(−s, s) and scale ~ exp(U(−s, s)) per unit, applied after BN (identity in eval)."""

    def __init__(self, strength: float, gen: torch.Generator):
        super().__init__(gen)
        self.strength = strength

    def noisy(self, z: torch.Tensor) -> torch.Tensor:
        u = torch.rand(2, z.shape[1], generator=self.gen) * 2 - 1  # (2, units) in [−1, 1)
        return z * torch.exp(self.strength * u[0]) + self.strength * u[1]


class Dropout(_TrainingNoise):
    """Inverted dropout drawing its masks from the run's own generator (identity in eval)."""

    def __init__(self, p: float, gen: torch.Generator):
        super().__init__(gen)
        self.p = p

    def noisy(self, a: torch.Tensor) -> torch.Tensor:
        keep = torch.rand(a.shape, generator=self.gen) >= self.p  # (B, units)
        return a * keep / (1 - self.p)


class Block(nn.Module):
    """One hidden layer: Linear -> [BN] -> activation -> [BN], the order set by placement."""

    def __init__(
        self,
        fan_in: int,
        cfg: RunConfig,
        noise_gen: torch.Generator | None = None,
        drop_gen: torch.Generator | None = None,
    ):
        super().__init__()
        pieces = cfg.maxout_k if cfg.activation == "maxout" else 1
        bn_before = cfg.batchnorm and cfg.bn_placement == "before"
        # BN right after the Linear subtracts the mean, so a bias would be undone: drop it.
        self.linear = nn.Linear(fan_in, cfg.width * pieces, bias=not bn_before)
        self.act = ACTIVATIONS[cfg.activation](cfg)
        self.norm_before = (
            nn.BatchNorm1d(cfg.width * pieces, momentum=cfg.bn_momentum) if bn_before else None
        )
        self.norm_after = (
            nn.BatchNorm1d(cfg.width, momentum=cfg.bn_momentum)
            if cfg.batchnorm and cfg.bn_placement == "after"
            else None
        )
        noisy = cfg.batchnorm and cfg.bn_noise > 0 and noise_gen is not None
        self.noise = BNNoise(cfg.bn_noise, noise_gen) if noisy else None
        # no module at 0: a default run is the same computation, bit for bit
        self.drop = Dropout(cfg.dropout, drop_gen) if cfg.dropout > 0 and drop_gen else None

    @property
    def norm(self) -> nn.BatchNorm1d | None:
        """This block's BN layer, wherever it sits."""
        return self.norm_before if self.norm_before is not None else self.norm_after

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        z = self.linear(x)
        if self.norm_before is not None:
            z = self.norm_before(z)
            z = self.noise(z) if self.noise is not None else z
        a = self.act(z)  # capture_calls on `act` sees the pre-activation z and the output a
        a = self.drop(a) if self.drop is not None else a
        if self.norm_after is None:
            return a
        a = self.norm_after(a)
        return self.noise(a) if self.noise is not None else a


class MLP(nn.Module):
    """depth hidden Blocks and a Linear head producing class logits."""

    def __init__(self, n_in: int, n_out: int, cfg: RunConfig):
        super().__init__()
        widths = [n_in] + [cfg.width] * cfg.depth
        # injected BN noise has its own stream, apart from init and data order
        gen = torch.Generator().manual_seed(cfg.seed + 2) if cfg.bn_noise > 0 else None
        drop = torch.Generator().manual_seed(cfg.seed + SEED_DROPOUT) if cfg.dropout > 0 else None
        self.blocks = nn.ModuleList(Block(w, cfg, gen, drop) for w in widths[:-1])
        self.head = nn.Linear(widths[-1], n_out)
        self.activation = cfg.activation

    def linears(self) -> list[nn.Linear]:
        """Every Linear layer, input to output."""
        return [b.linear for b in self.blocks] + [self.head]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for block in self.blocks:
            x = block(x)
        return self.head(x)


@contextlib.contextmanager
def eval_mode(model: nn.Module) -> Iterator[None]:
    """model.eval() inside, train mode after. The flags are set directly: Module.train()
    recursing through every submodule costs ~45 µs, a quarter of a small evaluation."""
    modules = list(model.modules())
    for m in modules:
        m.__dict__["training"] = False
    try:
        yield
    finally:
        for m in modules:
            m.__dict__["training"] = True


def build_mlp(cfg: RunConfig, n_in: int = 2, n_out: int = 2) -> MLP:
    """The network of a run; BN and no-BN variants with one seed get identical Linear weights."""
    model = MLP(n_in, n_out, cfg)
    gen = torch.Generator().manual_seed(cfg.seed + SEED_INIT)
    for linear in model.linears():  # same order and shapes with or without BN
        init_weight_(linear.weight, cfg.init, gen, cfg.init_scale)
        if linear.bias is not None:
            nn.init.zeros_(linear.bias)
    return model


@contextlib.contextmanager
def bn_buffers_kept(model: nn.Module):
    """Train-mode passes inside do not count: every BatchNorm buffer is put back afterwards."""
    norms = [m for m in model.modules() if isinstance(m, nn.BatchNorm1d)]
    saved = [{k: v.clone() for k, v in n.named_buffers()} for n in norms]
    try:
        yield
    finally:
        for norm, buffers in zip(norms, saved, strict=True):
            for k, v in buffers.items():
                getattr(norm, k).copy_(v)
