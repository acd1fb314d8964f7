"""Why BatchNorm helps: the deep linear network of the Deep Learning Book 8.7.1 (seed 004).

ŷ = x·w₁·w₂·…·w_l with one unit per layer and ∂J/∂ŷ = 1. One gradient step moves every
w_i at once, so ŷ changes by a polynomial in the learning rate whose order-k term is a sum of
products of k updates and l−k untouched weights: the first-order prediction −lr·Σg_i² is only
the first of l terms. With the BN reparametrization (h_{l−1} normalized over a batch,
ŷ = γ·ĥ + β) the lower weights drop out and the prediction is exact. Pure numpy and
fractions; the live views are in bnviz.lessons.why_bn_live.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from bnviz.config import Validated, setting

MAX_DEPTH = 100  # exact integers grow as depth²: one step ~25 ms at 50, ~0.26 s at 100 (busy box)
BATCH = (-1.0, 0.0, 1.0, 2.0)  # the BN step's batch; J is the output of the example x = 1
WITHIN = 2.0  # "safe": the actual change has the predicted sign and is within 2x of it


@dataclass(frozen=True)
class DeepLinearSettings(Validated):
    """Settings of the deep-linear-network view."""

    depth: int = setting(20, lo=1, hi=50)  # DLB's "l"; 50 still exact in float64 for w ≤ 2
    w: float = setting(1.2, lo=0.1, hi=3.0)  # every layer's weight (above 1: terms explode)
    spread: float = setting(0.0, lo=0.0, hi=0.5)  # weights drawn from w·(1 ± spread), seeded
    lr: float = setting(0.01, lo=1e-6, hi=10.0, log=True)
    batchnorm: bool = False  # the BN reparametrization of the last layer
    seed: int = setting(0, lo=0, hi=2**31 - 1)

    def weights(self) -> np.ndarray:
        """The depth weights: all w, or w·(1 + spread·U(−1, 1)) from a seeded generator."""
        rng = np.random.Generator(np.random.PCG64(self.seed))
        jitter = rng.uniform(-1.0, 1.0, self.depth) if self.spread else np.zeros(self.depth)
        return self.w * (1.0 + self.spread * jitter)


# The claims the presets reproduce (the page's sentences; tests check each).
PRESETS: dict[str, dict] = {
    # u = lr·w^(l−2) = 0.27: the 2nd-order term is (l−1)·u/2 = 2.5x the 1st.
    "swamp": dict(depth=20, w=1.2, spread=0.0, lr=0.01, batchnorm=False),
    # the same lr at w = 0.8: ŷ moves ~5000x less than at w = 1.
    "vanish": dict(depth=20, w=0.8, spread=0.0, lr=0.01, batchnorm=False),
    # the swamp preset with BN: the first-order prediction is the change.
    "bn": dict(depth=20, w=1.2, spread=0.0, lr=0.01, batchnorm=True),
}


def as_weights(depth: int, w: float | list[float] | np.ndarray) -> np.ndarray:
    """depth weights as float64: a scalar repeated, or a sequence of exactly depth values."""
    if not 1 <= depth <= MAX_DEPTH:
        raise ValueError(f"depth must be between 1 and {MAX_DEPTH}, got {depth}")
    arr = np.asarray(w, dtype=np.float64)
    arr = np.full(depth, float(arr)) if arr.ndim == 0 else arr
    if arr.shape != (depth,) or not np.all(np.isfinite(arr)):
        raise ValueError(f"need {depth} finite weights, got {np.shape(w)}")
    return arr


def dyadic(v: float) -> tuple[int, int]:
    """A float as m / 2**e exactly (m, e integers, e ≥ 0): every float is one."""
    q = Fraction(v)
    return q.numerator, q.denominator.bit_length() - 1


def ratio_float(numer: int, shift: int) -> float:
    """numer / 2**shift correctly rounded (Python's int division), ±inf past float64's range."""
    try:
        return numer / (1 << shift)
    except OverflowError:
        return math.inf if numer > 0 else -math.inf


# ---------------------------------------------------------------------------- without BN


@dataclass(frozen=True)
class DeepLinearStep:
    """One gradient step of ŷ = x·∏w_i: prediction, exact change, and its order-k terms."""

    w: np.ndarray  # (depth,) weights before the step
    lr: float
    x: float
    y: float  # ŷ before the step
    grads: np.ndarray  # (depth,) g_i = ∂ŷ/∂w_i = x·∏_{j≠i} w_j
    predicted: float  # first-order change: −lr·Σ g_i²
    actual: float  # x·∏(w_i − lr·g_i) − x·∏w_i, exact (rational arithmetic), then rounded
    terms: np.ndarray  # (depth,) order 1..depth in lr; they sum to actual
    overflow: bool  # some value passed float64's range: those entries are ±inf or nan

    @property
    def depth(self) -> int:
        """Number of layers."""
        return len(self.w)

    @property
    def ratio(self) -> float:
        """actual / predicted (1 when the first-order prediction is right)."""
        return self.actual / self.predicted if self.predicted else math.nan


def leave_one_out(values: np.ndarray, scale: float = 1.0) -> np.ndarray:
    """scale·∏_{j≠i} values_j for every i, from prefix and suffix products (zeros allowed)."""
    ones = np.ones(1)
    with np.errstate(over="ignore", invalid="ignore"):
        prefix = np.cumprod(np.concatenate([ones, values[:-1]]))
        suffix = np.cumprod(np.concatenate([ones, values[::-1][:-1]]))[::-1]
        return scale * prefix * suffix


def order_terms(x: float, w: np.ndarray, delta: np.ndarray) -> np.ndarray:
    """Order-1..n terms of x·∏(w_i + δ_i) − x·∏w_i: elementary symmetric sums, by layers.

    After layer i, c[k] = x·Σ over k-subsets S of layers ≤ i of ∏_{S} δ·∏_{rest} w: one
    multiply-add per entry (no power sums, no division); with w, g > 0 all products of an order
    share one sign, so nothing cancels inside a term.
    """
    c = np.zeros(len(w) + 1)
    c[0] = x
    with np.errstate(over="ignore", invalid="ignore"):
        for i, (wi, di) in enumerate(zip(w, delta, strict=True)):
            c[1 : i + 2] = c[1 : i + 2] * wi + c[0 : i + 1] * di
            c[0] *= wi
    return c[1:]


def exact_change(x: float, w: np.ndarray, lr: float) -> tuple[float, float]:
    """(first-order prediction, actual change) of one step, exact, then rounded once.

    Every float is an integer over a power of two, so with E the largest weight exponent,
    w_i = W_i/2^E, x = X/2^ex, lr = L/2^el and g_i = G_i/2^(ex+E(n−1)), G_i = X·∏_{j≠i} W_j:
    all in Python integers (exact, and unlike Fractions no gcd per operation: ~ms at 50).
    """
    (xm, xe), (lm, le) = dyadic(x), dyadic(lr)
    pairs = [dyadic(float(v)) for v in w]
    e_w = max(e for _, e in pairs)
    ints = [m << (e_w - e) for m, e in pairs]
    n = len(ints)
    prefix = [1]
    for v in ints[:-1]:
        prefix.append(prefix[-1] * v)
    suffix = [1]
    for v in reversed(ints[1:]):
        suffix.append(suffix[-1] * v)
    grads = [xm * p * q for p, q in zip(prefix, reversed(suffix), strict=True)]
    step_e = le + xe + e_w * (n - 1)  # lr·g_i = L·G_i / 2^step_e
    shift = max(e_w, step_e)  # new_i = N_i / 2^shift
    new = xm
    for v, g in zip(ints, grads, strict=True):
        new *= (v << (shift - e_w)) - ((lm * g) << (shift - step_e))
    old = (xm * prefix[-1] * ints[-1]) << (n * (shift - e_w))
    predicted = -lm * sum(g * g for g in grads)
    return (
        ratio_float(predicted, le + 2 * (xe + e_w * (n - 1))),
        ratio_float(new - old, xe + n * shift),
    )


def deep_linear_step(
    depth: int, w: float | list[float], lr: float, x: float = 1.0
) -> DeepLinearStep:
    """One step w_i ← w_i − lr·g_i of ŷ = x·∏w_i (∂J/∂ŷ = 1), split into orders of lr.

    Float64 holds every value while it stays below 1.8e308; past that (e.g. depth 50 with
    w = 3 and lr = 0.1: the top term is ~(lr·3⁴⁹)⁵⁰) the entries are ±inf/nan and
    `overflow` is set.
    """
    weights = as_weights(depth, w)
    grads = leave_one_out(weights, x)
    terms = order_terms(x, weights, -lr * grads)
    pred_f, act_f = exact_change(x, weights, lr)
    with np.errstate(over="ignore", invalid="ignore"):
        y = float(x * np.prod(weights))
    finite = np.all(np.isfinite(terms)) and np.all(np.isfinite(grads)) and math.isfinite(y)
    overflow = not (finite and math.isfinite(pred_f) and math.isfinite(act_f))
    return DeepLinearStep(weights, lr, x, y, grads, pred_f, act_f, terms, bool(overflow))


# ---------------------------------------------------------------------------- with BN


@dataclass(frozen=True)
class BNStep:
    """The same step with h_{l−1} normalized over a batch and ŷ = γ·ĥ + β (γ = w_l, β = 0).

    J is ŷ of the example x = 1 of the batch BATCH. ĥ depends on w₁…w_{l−1} only through
    the sign of their product (eps = 0), so their gradient is 0 and J is linear in (γ, β):
    the first-order prediction is the whole change, at any learning rate.
    """

    lr: float
    y: float  # J = ŷ of the example x = 1, before the step
    h_hat: np.ndarray  # (B,) normalized h_{l−1}
    grads: np.ndarray  # (depth + 1,) ∂J/∂w₁…w_{l−1}, ∂J/∂γ, ∂J/∂β
    predicted: float  # −lr·Σ grads²
    actual: float  # change of J after the step
    terms: np.ndarray  # (depth,) order 1 = actual, higher orders 0 (J is linear in γ, β)
    lower_shift: float  # max |Δŷ| over the batch when w₁…w_{l−1} take the no-BN update
    sign_flip: bool  # that update flipped the sign of ∏w_{<l} (the rare case where ĥ changes)

    @property
    def ratio(self) -> float:
        """actual / predicted."""
        return self.actual / self.predicted if self.predicted else math.nan


def normalized(batch: np.ndarray, lower: np.ndarray, eps: float = 0.0) -> np.ndarray:
    """ĥ of h = batch·∏lower: (h − mean)/sqrt(var + eps), biased variance, as BN in training.

    With P = ∏lower, ĥ = sign(P)·(x − x̄)/sqrt(var(x) + eps/P²): the same number, computed
    with |P| in logs so a product past float64's range (depth 50 after a huge step) is fine.
    """
    sign = np.prod(np.sign(lower))
    with np.errstate(over="ignore", divide="ignore"):
        eps_scaled = eps * np.exp(-2.0 * np.sum(np.log(np.abs(lower)))) if eps else 0.0
    centred = sign * (batch - batch.mean())
    return centred / np.sqrt(batch.var() + eps_scaled)


def bn_grads(batch: np.ndarray, w: np.ndarray, target: int, eps: float) -> np.ndarray:
    """∂J/∂(w₁…w_{l−1}, γ, β) for J = γ·ĥ_target + β (analytic; torch checks it in tests)."""
    lower, gamma = w[:-1], w[-1]
    h_hat = normalized(batch, lower, eps)
    p, centred, var = np.prod(lower), batch[target] - batch.mean(), batch.var()
    dh_dp = centred * eps / (p * p * var + eps) ** 1.5  # 0 when eps = 0: scale invariance
    lower_grads = gamma * dh_dp * leave_one_out(lower)
    return np.concatenate([lower_grads, [h_hat[target], 1.0]])


def bn_step(depth: int, w: float | list[float], lr: float, batch=BATCH, eps: float = 0.0) -> BNStep:
    """One gradient step of the BN-reparametrized network (see BNStep)."""
    weights = as_weights(depth, w)
    batch = np.asarray(batch, dtype=np.float64)
    target = int(np.argmin(np.abs(batch - 1.0)))
    lower, gamma, beta = weights[:-1], weights[-1], 0.0
    h_hat = normalized(batch, lower, eps)
    grads = bn_grads(batch, weights, target, eps)
    new_lower = lower - lr * grads[:-2]
    d_gamma, d_beta = -lr * grads[-2], -lr * grads[-1]
    h_new = normalized(batch, new_lower, eps)
    # (γ+dγ)ĥ' + β+dβ − (γĥ + β), grouped so that nothing large cancels
    actual = d_gamma * h_new[target] + gamma * (h_new[target] - h_hat[target]) + d_beta
    plain_update = new_weights_without_bn(weights, lr, batch[target])[:-1]
    shift = np.max(np.abs(gamma * (normalized(batch, plain_update, eps) - h_hat)))
    terms = np.zeros(depth)
    terms[0] = actual
    return BNStep(
        lr, float(gamma * h_hat[target] + beta), h_hat, grads, float(-lr * np.sum(grads**2)),
        float(actual), terms, float(shift),
        bool(np.prod(np.sign(plain_update)) != np.prod(np.sign(lower))),
    )  # fmt: skip


def new_weights_without_bn(w: np.ndarray, lr: float, x: float) -> np.ndarray:
    """The weights after the step of the network without BN (the update the lower layers get)."""
    return w - lr * leave_one_out(w, x)


def step_for(s: DeepLinearSettings) -> DeepLinearStep | BNStep:
    """The step the page shows for its settings."""
    if s.batchnorm:
        return bn_step(s.depth, s.weights(), s.lr)
    return deep_linear_step(s.depth, s.weights(), s.lr)


# ---------------------------------------------------------------------------- safe learning rate


def mean_power(u: np.ndarray, n: np.ndarray) -> np.ndarray:
    """actual/predicted for equal weights: mean of (1 − u)^k over k < n, u = lr·x·w^(n−2).

    Equals (1 − (1 − u)^n)/(n·u); written with expm1/log1p so small u keeps its digits.
    """
    u, n = np.asarray(u, dtype=np.float64), np.asarray(n, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = -np.expm1(n * np.log1p(-u)) / (n * u)
    return np.where(u == 0, 1.0, out)


def safe_u(depths: np.ndarray, iters: int = 80) -> np.ndarray:
    """Largest u in (0, 1] with mean_power(u, n) ≥ 1/2, by bisection (inf for depth 1).

    For equal positive weights the ratio only falls as u grows (it is 1/n at u = 1), so it
    never exceeds 2: the change has the right sign and falls short, until it is half.
    """
    n = np.asarray(depths, dtype=np.float64)
    lo, hi = np.zeros_like(n), np.ones_like(n)
    for _ in range(iters):
        mid = (lo + hi) / 2
        ok = mean_power(mid, n) >= 1 / WITHIN
        lo, hi = np.where(ok, mid, lo), np.where(ok, hi, mid)
    return np.where(n <= 1, np.inf, lo)


@dataclass(frozen=True)
class SafeLrCurve:
    """Largest safe learning rate against depth, per weight; with BN it has no limit."""

    depths: np.ndarray  # (D,)
    weights: tuple[float, ...]  # (W,)
    lr: np.ndarray  # (W, D) without BN; inf at depth 1 (ŷ = x·w₁ is linear in w₁)
    lr_bn: np.ndarray  # (D,) with BN: inf (J is linear in γ, β; lower weights get no gradient)


def safe_lr_curve(
    depths=tuple(range(1, 51)), weights=(0.8, 1.0, 1.2), x: float = 1.0
) -> SafeLrCurve:
    """lr* = u*(depth)/(x·w^(depth−2)): the change keeps its sign and stays within 2x."""
    if x <= 0 or min(weights) <= 0:
        raise ValueError("the closed form needs x > 0 and positive weights")
    d = np.asarray(depths, dtype=np.float64)
    u = safe_u(d)
    with np.errstate(over="ignore"):
        lr = np.stack([u / (x * np.power(float(w), d - 2)) for w in weights])
    return SafeLrCurve(d.astype(int), tuple(float(w) for w in weights), lr, np.full(len(d), np.inf))


def lr_sweep(depth: int, w: float | list[float], lrs, batchnorm: bool = False) -> np.ndarray:
    """(2, len(lrs)): predicted and actual change for each learning rate."""
    steps = [bn_step(depth, w, lr) if batchnorm else deep_linear_step(depth, w, lr) for lr in lrs]
    return np.array([[s.predicted for s in steps], [s.actual for s in steps]])


# ---------------------------------------------------------------------------- the presets' claims


def _swamp(step: DeepLinearStep | BNStep) -> bool:
    """2nd-order term 2–3x the 1st and of opposite sign; ŷ falls 4–6x less than predicted."""
    t1, t2 = step.terms[0], step.terms[1]
    return bool(
        2 < abs(t2 / t1) < 3 and t1 * t2 < 0 and step.actual < 0 and 1 / 6 < step.ratio < 1 / 4
    )


def _vanish(step: DeepLinearStep | BNStep) -> bool:
    """ŷ moves over 1000x less than with every weight 1, and the prediction is right."""
    unit = deep_linear_step(len(step.terms), 1.0, step.lr)
    return bool(abs(step.actual) * 1000 < abs(unit.actual) and 0.99 < step.ratio <= 1.0)


def _bn(step: DeepLinearStep | BNStep) -> bool:
    """The BN step: no-BN update of the lower weights moves ŷ < 1e-6; actual = predicted."""
    return bool(
        isinstance(step, BNStep)
        and step.lower_shift < 1e-6
        and math.isclose(step.actual, step.predicted, rel_tol=1e-12)
    )


# Each preset's sentence (why_bn.preset.<name>_what) as a test on the step the page shows;
# tests/test_why_bn.py checks it over seeds 0-4, tests/test_page_why_bn.py through the page.
CLAIMS = {"swamp": _swamp, "vanish": _vanish, "bn": _bn}
