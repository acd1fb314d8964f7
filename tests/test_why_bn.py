"""The deep linear network of DLB 8.7.1: order-k terms against exact rational arithmetic and
torch; the BN reparametrization; the safe learning rate; the presets' sentences."""

import itertools
import math
from fractions import Fraction

import numpy as np
import pytest
import torch
from torch.nn import functional as F

from bnviz.lessons.why_bn import (
    BATCH,
    CLAIMS,
    PRESETS,
    DeepLinearSettings,
    bn_step,
    deep_linear_step,
    lr_sweep,
    safe_lr_curve,
    step_for,
)

# ---------------------------------------------------------------------------- independent oracles


def subset_terms(x: float, w: list[float], lr: float) -> list[Fraction]:
    """Order-k terms by brute force over all k-subsets of layers (exact; small depths only)."""
    qx, qlr, qw = Fraction(x), Fraction(lr), [Fraction(v) for v in w]
    n = len(qw)
    grads = [qx * math.prod(qw[:i] + qw[i + 1 :], start=Fraction(1)) for i in range(n)]
    out = []
    for k in range(1, n + 1):
        total = Fraction(0)
        for subset in itertools.combinations(range(n), k):
            chosen = set(subset)
            factors = [-qlr * grads[i] if i in chosen else qw[i] for i in range(n)]
            total += qx * math.prod(factors, start=Fraction(1))
        out.append(total)
    return out


def dyadic(v: float) -> tuple[int, int]:
    """A float as m / 2**e exactly (m, e integers, e ≥ 0)."""
    q = Fraction(v)
    return q.numerator, q.denominator.bit_length() - 1


def expand(x: float, w: list[float], lr: float) -> tuple[list[float], float]:
    """Order-k terms from plain polynomial multiplication of ∏(w_i − g_i·t), in integers.

    Every float is m/2^e, so with E = max e the weights are W_i/2^E, g_i = G_i/2^(E(n−1))
    (G_i = ∏_{j≠i} W_j) and x = 1: term_k = coef_k·lr^k / 2^(E(n−1)k + E(n−k)). Python ints
    are exact and, unlike Fractions, need no gcd per operation (50 layers in milliseconds).
    """
    assert x == 1.0
    e_max = max(dyadic(v)[1] for v in w)
    ints = [dyadic(v)[0] << (e_max - dyadic(v)[1]) for v in w]
    n = len(ints)
    grads = [math.prod(ints[:i] + ints[i + 1 :]) for i in range(n)]
    poly = [1]
    for wi, gi in zip(ints, grads, strict=True):
        poly = [a * wi - b * gi for a, b in zip([*poly, 0], [0, *poly], strict=True)]
    lr_m, lr_e = dyadic(lr)
    shifts = [lr_e * k + e_max * (n - 1) * k + e_max * (n - k) for k in range(1, n + 1)]
    numers = [poly[k] * lr_m**k for k in range(1, n + 1)]
    top = max(shifts)
    total = sum(m << (top - s) for m, s in zip(numers, shifts, strict=True))
    return [as_float(m, s) for m, s in zip(numers, shifts, strict=True)], as_float(total, top)


def as_float(numer: int, shift: int) -> float:
    """numer / 2**shift to float, without Fractions (truncated to 64 bits: error < 1e-19)."""
    extra = max(numer.bit_length() - 64, 0)
    return math.ldexp(float(numer >> extra if numer >= 0 else -(-numer >> extra)), extra - shift)


def torch_step(x: float, w: list[float], lr: float) -> tuple[np.ndarray, float, float]:
    """Gradients, first-order prediction and change of ŷ by torch autograd in float64."""
    wt = torch.tensor(w, dtype=torch.float64, requires_grad=True)
    y = x * wt.prod()
    (g,) = torch.autograd.grad(y, wt)
    with torch.no_grad():
        new = x * (wt - lr * g).prod()
    return g.numpy(), float(-lr * (g**2).sum()), float(new - y.detach())


# ---------------------------------------------------------------------------- without BN


def test_terms_equal_the_brute_force_subset_sums():
    rng = np.random.default_rng(0)
    for depth in (1, 2, 3, 5, 8):
        for _ in range(3):
            w = rng.uniform(-1.5, 1.5, depth).tolist()
            x, lr = float(rng.uniform(0.5, 2)), float(rng.uniform(0.01, 0.5))
            exact = subset_terms(x, w, lr)
            step = deep_linear_step(depth, w, lr, x)
            scale = float(sum(abs(q) for q in exact)) or 1.0
            for got, want in zip(step.terms, exact, strict=True):
                assert abs(got - float(want)) <= 1e-13 * scale


@pytest.mark.parametrize("depth", [1, 2, 7, 20, 35, 50])
@pytest.mark.parametrize("w", [0.8, 1.0, 1.2, "random"])
def test_terms_match_the_exact_polynomial_and_sum_to_actual(depth, w):
    rng = np.random.default_rng(depth)
    weights = rng.uniform(0.7, 1.3, depth).tolist() if w == "random" else [w] * depth
    gmax = max(abs(math.prod(weights) / v) for v in weights)
    for lr in (1e-4 / gmax, 0.05 / gmax, 0.5 / gmax / depth):  # u ≤ 1: no wild cancellation
        step = deep_linear_step(depth, weights, lr)
        exact, total = expand(1.0, weights, lr)
        for got, want in zip(step.terms, exact, strict=True):  # positive weights: one sign
            assert got == pytest.approx(want, rel=1e-12)
        assert step.actual == pytest.approx(total, rel=1e-15)  # exact, rounded once
        assert math.fsum(step.terms) == pytest.approx(step.actual, rel=1e-9)
        assert not step.overflow


def test_actual_prediction_and_gradients_match_torch():
    rng = np.random.default_rng(1)
    for depth in (2, 10, 30, 50):
        w = rng.uniform(0.8, 1.2, depth).tolist()
        for lr in (1e-3, 1e-2, 0.1):
            grads, predicted, actual = torch_step(1.5, w, lr)
            step = deep_linear_step(depth, w, lr, x=1.5)
            np.testing.assert_allclose(step.grads, grads, rtol=1e-12)
            assert step.predicted == pytest.approx(predicted, rel=1e-12)
            assert step.actual == pytest.approx(actual, rel=1e-9, abs=1e-12 * abs(step.y))


def test_first_order_is_the_prediction_and_depth_one_is_exact():
    step = deep_linear_step(12, 1.1, 1e-3)
    assert step.terms[0] == pytest.approx(step.predicted, rel=1e-12)
    one = deep_linear_step(1, 2.0, 0.3, x=1.5)  # ŷ = x·w is linear in w
    assert one.actual == pytest.approx(one.predicted, rel=1e-15) and one.ratio == 1.0


def test_overflow_is_flagged_not_hidden():
    big = deep_linear_step(50, 3.0, 0.1)
    assert big.overflow and np.isinf(big.actual) and not np.all(np.isfinite(big.terms))
    assert math.isfinite(big.predicted)  # −lr·Σg² ≈ −3e47 still fits
    assert not deep_linear_step(50, 2.0, 1e-12).overflow


def test_bad_depth_or_weights_are_refused():
    with pytest.raises(ValueError):
        deep_linear_step(0, 1.0, 0.1)
    with pytest.raises(ValueError):
        deep_linear_step(3, [1.0, 2.0], 0.1)


# ---------------------------------------------------------------------------- with BN


def torch_bn_grads(w: list[float], eps: float) -> np.ndarray:
    """∂J/∂(w₁…w_{l−1}, γ, β) of J = γ·BN(h)[x=1] + β with torch's own batch_norm."""
    lower = torch.tensor(w[:-1], dtype=torch.float64, requires_grad=True)
    gamma = torch.tensor(w[-1], dtype=torch.float64, requires_grad=True)
    beta = torch.tensor(0.0, dtype=torch.float64, requires_grad=True)
    batch = torch.tensor(BATCH, dtype=torch.float64)
    h = (batch * lower.prod()).view(-1, 1)
    h_hat = F.batch_norm(h, None, None, training=True, eps=eps).view(-1)
    j = gamma * h_hat[BATCH.index(1.0)] + beta
    grads = torch.autograd.grad(j, [lower, gamma, beta])
    return torch.cat([grads[0], grads[1].view(1), grads[2].view(1)]).numpy()


@pytest.mark.parametrize("eps", [1e-30, 1e-5])  # torch refuses eps = 0
def test_bn_gradients_match_torch(eps):
    rng = np.random.default_rng(2)
    for depth in (2, 5, 20):
        w = rng.uniform(0.8, 1.2, depth).tolist()
        got = bn_step(depth, w, 0.01, eps=eps).grads
        np.testing.assert_allclose(got, torch_bn_grads(w, eps), rtol=1e-9, atol=1e-15)


@pytest.mark.parametrize("w", [0.8, 1.0, 1.2])
def test_bn_lower_layers_do_not_move_the_output_and_prediction_is_exact(w):
    for depth in (2, 10, 20, 35, 50):
        for lr in (1e-3, 1e-2, 1.0, 1e3):
            step = bn_step(depth, w, lr)
            assert np.all(step.grads[:-2] == 0)
            assert step.actual == pytest.approx(step.predicted, rel=1e-12)
            assert math.fsum(step.terms) == step.actual
            if not step.sign_flip:  # the no-BN update of w₁…w_{l−1}, applied: ŷ stays
                assert step.lower_shift < 1e-6


def test_bn_lower_update_that_flips_a_sign_does_change_the_output():
    step = bn_step(20, 1.2, 1.0)  # u = 27 ≫ 1: every lower weight changes sign
    assert step.sign_flip and step.lower_shift > 1.0


# ---------------------------------------------------------------------------- safe learning rate


def test_safe_lr_is_where_the_change_falls_to_half_the_prediction():
    curve = safe_lr_curve(depths=(2, 3, 10, 20, 50))
    for wi, w in enumerate(curve.weights):
        for di, depth in enumerate(curve.depths):
            lr = curve.lr[wi, di]
            inside = deep_linear_step(int(depth), w, lr * 0.99)
            outside = deep_linear_step(int(depth), w, lr * 1.01)
            assert inside.actual < 0 and 0.5 <= inside.ratio <= 2.0
            assert not 0.5 <= outside.ratio <= 2.0
    assert np.all(np.isinf(curve.lr_bn))


def test_safe_lr_falls_with_depth_above_one_and_rises_below():
    c = safe_lr_curve()
    below, at, above = c.lr[:, 1:]
    assert np.all(np.diff(above) < 0) and np.all(np.diff(at) < 0)
    assert below[-1] > 100 * below[5]  # w = 0.8: lr must grow exponentially
    assert above[-1] < 1e-3 * at[-1]  # 1.2^-48 ≈ 1.6e-4


# ---------------------------------------------------------------------------- presets


def test_preset_swamp_second_order_swamps_the_first():
    step = step_for(DeepLinearSettings(**PRESETS["swamp"]))
    assert abs(step.terms[1]) > 2 * abs(step.terms[0])
    assert step.actual < 0 and step.ratio < 0.25  # ŷ falls 5x less than predicted


def test_preset_vanish_updates_vanish():
    step = step_for(DeepLinearSettings(**PRESETS["vanish"]))
    unit = deep_linear_step(step.depth, 1.0, step.lr)
    assert abs(step.actual) * 1000 < abs(unit.actual)
    assert 0.99 < step.ratio <= 1.0  # the prediction is right, the step is just tiny


def test_preset_bn_prediction_is_reality():
    s = DeepLinearSettings(**PRESETS["bn"])
    step = step_for(s)
    assert step.actual == pytest.approx(step.predicted, rel=1e-12)
    assert step.lower_shift < 1e-6
    plain = step_for(s.replace(batchnorm=False))
    assert plain.ratio < 0.25


def test_random_weights_are_seeded_and_spread():
    s = DeepLinearSettings(depth=10, w=1.0, spread=0.3, seed=3)
    assert np.array_equal(s.weights(), s.weights())
    assert not np.array_equal(s.weights(), s.replace(seed=4).weights())
    assert np.all(np.abs(s.weights() - 1.0) <= 0.3) and np.ptp(s.weights()) > 0.1


def test_lr_sweep_returns_prediction_and_change():
    out = lr_sweep(10, 1.2, [1e-4, 1e-2])
    assert out.shape == (2, 2) and out[0, 0] == pytest.approx(out[1, 0], rel=0.05)
    bn = lr_sweep(10, 1.2, [1e-4, 10.0], batchnorm=True)
    np.testing.assert_allclose(bn[0], bn[1], rtol=1e-12)


def test_bn_lower_update_matches_torch_batch_norm():
    """lower_shift recomputed with torch's batch_norm (eps = 1e-30) on the updated weights."""
    batch = torch.tensor(BATCH, dtype=torch.float64).view(-1, 1)
    for depth, w, lr in ((5, 1.2, 0.01), (20, 0.9, 0.05), (10, 1.2, 1.0)):
        step = bn_step(depth, w, lr)
        weights = torch.full((depth,), w, dtype=torch.float64)
        grads = torch.stack([weights[:i].prod() * weights[i + 1 :].prod() for i in range(depth)])
        new_lower = (weights - lr * grads)[:-1]

        def bn(lower):
            return F.batch_norm(batch * lower.prod(), None, None, training=True, eps=1e-30)

        shift = float((w * (bn(new_lower) - bn(weights[:-1]))).abs().max())
        assert step.lower_shift == pytest.approx(shift, abs=1e-9)


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_each_claim_holds_for_its_preset_only_over_seeds(name):
    for seed in range(5):  # spread 0: the seed must not matter
        shown = step_for(DeepLinearSettings(**PRESETS[name], seed=seed))
        assert CLAIMS[name](shown), (name, seed)
        others = [m for m in CLAIMS if m != name and CLAIMS[m](shown)]
        assert others == [], (name, others)  # each claim can fail
