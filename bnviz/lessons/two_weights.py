"""Two-weight models without bias: data, exact loss and gradient, optimizers, loss grids.

The pure numpy engine under the input-standardization lesson (bnviz.lessons.standardization).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

TRUE_W = np.array([1.0, -3.0])  # standardized units; from (-2, 0) both weights owe half the loss
ADAM_BETA2, ADAM_EPS = 0.999, 1e-8  # Adam's usual defaults (seed 002)
OPTIMIZERS, MODELS = ("gd", "momentum", "adam"), ("linear", "logistic")
RIDGE = 1e-3  # logistic: ½·1e-3·|w|² in standardized units keeps w* finite for separable data


# ---------------------------------------------------------------------------- the problem


@dataclass(frozen=True)
class Problem:
    """One least-squares or logistic problem in two weights, with its exact optimum."""

    X: np.ndarray  # (n, 2) features as the model sees them
    y: np.ndarray  # (n,) targets (linear) or 0/1 labels (logistic)
    model: str
    hessian: np.ndarray  # (2, 2) linear: XᵀX/n; logistic: at the optimum
    b: np.ndarray  # (2,) linear: Xᵀy/n (the gradient is H w - b)
    c: float  # linear: yᵀy/(2n)
    w_star: np.ndarray  # (2,)
    loss_star: float
    ridge: np.ndarray  # (2,) logistic: the loss has + ½ Σ ridge·w² (RIDGE x each column's var)


def make_data(scale=100.0, n=200, noise=0.1, seed=0, model="linear", offset=0.0):
    """Raw features z·(1, scale) + offset, z zero-mean N(0, 1), and targets: (X (n, 2), y (n,)).

    The targets depend on z only, so `offset` moves the inputs and nothing else: with no bias
    in the model, a non-zero mean adds offset²·[[1, 1], [1, 1]] to the Hessian XᵀX/n (tilted,
    ill-conditioned: κ ≈ 1 + 2·offset² at scale 1) and costs the raw panel some fit.
    """
    rng = np.random.default_rng(seed)
    z = rng.standard_normal((n, 2))
    eps, u, flip = rng.standard_normal(n), rng.random(n), rng.random(n)  # drawn for both models
    z = (z - z.mean(0)) / z.std(0)  # exactly unit scale, so λmax of the raw problem ≈ scale²
    X = z * np.array([1.0, scale]) + offset
    if model == "linear":
        return X, z @ TRUE_W + noise * eps
    labels = u < sigmoid(z @ TRUE_W)
    return X, (labels ^ (flip < min(noise, 0.5))).astype(float)


def standardized(X: np.ndarray) -> np.ndarray:
    """Each column as (x - mean) / std."""
    return (X - X.mean(0)) / X.std(0)


def sigmoid(m: np.ndarray) -> np.ndarray:
    """1 / (1 + e^-m) without overflow."""
    return 0.5 * (1.0 + np.tanh(0.5 * m))


def logistic_hessian(X: np.ndarray, w: np.ndarray, ridge: np.ndarray) -> np.ndarray:
    """Hessian of the logistic loss at w: Xᵀ diag(p(1-p)) X / n + diag(ridge)."""
    p = sigmoid(X @ w)
    return (X * (p * (1 - p))[:, None]).T @ X / len(X) + np.diag(ridge)


def _logistic_fit(p: Problem, iters: int = 100) -> np.ndarray:
    """Newton's method with step halving for the logistic optimum w*."""
    w = np.zeros(2)
    for _ in range(iters):
        grad = p.X.T @ (sigmoid(p.X @ w) - p.y) / len(p.y) + p.ridge * w
        step, t = np.linalg.solve(logistic_hessian(p.X, w, p.ridge), grad), 1.0
        while t > 1e-6 and _logistic_loss(p, w - t * step) > _logistic_loss(p, w):
            t /= 2
        w = w - t * step
        if np.abs(t * step).max() < 1e-12 * (1 + np.abs(w).max()):
            break
    return w


def problem(
    scale=100.0, standardize=False, noise=0.1, n=200, seed=0, model="linear", offset=0.0
) -> Problem:
    """The problem one panel shows, with its optimum and Hessian."""
    if model not in MODELS:
        raise ValueError(f"model must be one of {MODELS}, got {model!r}")
    X, y = make_data(scale, n, noise, seed, model, offset)
    X = standardized(X) if standardize else X
    if model == "linear":
        H, b, c = X.T @ X / n, X.T @ y / n, float(y @ y) / (2 * n)
        w_star = np.linalg.solve(H, b)
        loss_star = c - 0.5 * float(b @ w_star)
        return Problem(X, y, model, H, b, c, w_star, loss_star, np.zeros(2))
    ridge = RIDGE * X.var(0)  # the same penalty on both panels, in standardized units
    fit = Problem(X, y, model, np.eye(2), np.zeros(2), 0.0, np.zeros(2), 0.0, ridge)
    w_star = _logistic_fit(fit)
    loss_star = float(_logistic_loss(fit, w_star))
    H = logistic_hessian(X, w_star, ridge)
    return Problem(X, y, model, H, np.zeros(2), 0.0, w_star, loss_star, ridge)


def _logistic_loss(p: Problem, W: np.ndarray) -> np.ndarray:
    """Mean cross-entropy (plus the small ridge) for each row of W (..., 2)."""
    m = W @ p.X.T  # (..., n)
    return (np.logaddexp(0.0, m) - m * p.y).mean(-1) + 0.5 * (W * W) @ p.ridge


def loss_at(p: Problem, W: np.ndarray) -> np.ndarray:
    """The loss at weights W (..., 2); linear: exact, from the sufficient statistics."""
    W = np.asarray(W, dtype=float)
    if p.model == "linear":
        d = W - p.w_star  # loss* + ½ dᵀHd: no cancellation near the optimum
        H = p.hessian
        quad = H[0, 0] * d[..., 0] ** 2 + 2 * H[0, 1] * d[..., 0] * d[..., 1]
        return p.loss_star + 0.5 * (quad + H[1, 1] * d[..., 1] ** 2)
    return _logistic_loss(p, W)


def gradient(p: Problem, W: np.ndarray) -> np.ndarray:
    """The gradient of the loss at weights W (L, 2)."""
    if p.model == "linear":
        return W @ p.hessian - p.b
    return (sigmoid(W @ p.X.T) - p.y) @ p.X / len(p.y) + p.ridge * W  # (L, n) @ (n, 2)


# ---------------------------------------------------------------------------- optimizers


def iterate(p: Problem, W0, lrs, steps: int, optimizer: str = "gd", beta: float = 0.9):
    """Weights after 0..steps updates, for a batch of learning rates: (steps + 1, L, 2)."""
    if optimizer not in OPTIMIZERS:
        raise ValueError(f"optimizer must be one of {OPTIMIZERS}, got {optimizer!r}")
    if p.model == "linear" and optimizer in ("gd", "momentum"):
        return _linear_path(p, W0, lrs, steps, beta if optimizer == "momentum" else 0.0)
    return _loop_path(p, W0, lrs, steps, optimizer, beta)


def _linear_path(p: Problem, W0, lrs, steps: int, beta: float) -> np.ndarray:
    """GD (beta=0) or momentum on the quadratic: state (e, v) -> A (e, v), powers by doubling.

    With e = w - w*, the gradient is H e, so v' = βv + He and e' = (I - lr H) e - lr β v:
    the whole path is A^k s0, filled in log2(steps) matrix products instead of a step loop.
    """
    lr = np.asarray(lrs, dtype=float).reshape(-1, 1, 1)  # (L, 1, 1)
    L, eye, H = len(lr), np.eye(2), p.hessian
    A = np.zeros((L, 4, 4))  # per learning rate: [[I - lr·H, -lr·β·I], [H, β·I]]
    A[:, :2, :2], A[:, :2, 2:] = eye - lr * H, -lr * beta * eye
    A[:, 2:, :2], A[:, 2:, 2:] = H, beta * eye
    S = np.zeros((steps + 1, L, 4))  # (k, L, [e1, e2, v1, v2])
    S[0, :, :2] = np.asarray(W0, dtype=float) - p.w_star
    filled, P = 1, A  # invariant: P = A^filled
    with np.errstate(all="ignore"):  # diverging runs overflow to inf/nan on purpose
        while filled <= steps:
            take = min(filled, steps + 1 - filled)
            # (L, take, 4) @ (L, 4, 4): batched matmul, ~6x faster than the same einsum
            S[filled : filled + take] = (S[:take].swapaxes(0, 1) @ P.swapaxes(1, 2)).swapaxes(0, 1)
            P, filled = P @ P, filled + take
    return S[..., :2] + p.w_star


def _loop_path(p: Problem, W0, lrs, steps: int, optimizer: str, beta: float) -> np.ndarray:
    """Any optimizer on any loss, one step at a time: (steps + 1, L, 2)."""
    lr = np.asarray(lrs, dtype=float).reshape(-1, 1)  # (L, 1)
    W = np.broadcast_to(np.asarray(W0, dtype=float), (len(lr), 2)).copy()
    out = np.full((steps + 1, len(lr), 2), np.nan)
    out[0] = W
    m, v = np.zeros_like(W), np.zeros_like(W)
    with np.errstate(all="ignore"):  # diverging runs overflow to inf/nan on purpose
        for k in range(1, steps + 1):
            g = gradient(p, W)
            if optimizer == "gd":
                W = W - lr * g
            elif optimizer == "momentum":  # PyTorch's form: v = βv + g; w -= lr·v
                m = beta * m + g
                W = W - lr * m
            else:  # Adam, with β1 = beta
                m = beta * m + (1 - beta) * g
                v = ADAM_BETA2 * v + (1 - ADAM_BETA2) * g * g
                mhat, vhat = m / (1 - beta**k), v / (1 - ADAM_BETA2**k)
                W = W - lr * mhat / (np.sqrt(vhat) + ADAM_EPS)
            out[k] = W
            if k % 50 == 0 and not np.isfinite(W).any():
                break  # every run is gone: the rest stays nan
    return out


# ---------------------------------------------------------------------------- contours


@dataclass(frozen=True)
class Grid:
    """The loss over a grid of weights: z[i, j] = loss(w1[j], w2[i])."""

    w1: np.ndarray  # (R,)
    w2: np.ndarray  # (R,)
    z: np.ndarray  # (R, R) float32
    loss_star: float
    w_star: np.ndarray


def _half_spans(p: Problem, path, equal_aspect: bool, elongation: float) -> np.ndarray:
    """Half-widths (w1, w2) around w*: the path while its loss stays below 4x the start's (a
    diverging path leaves the frame), widened so the ellipse shows at least `elongation`:1
    when it is that long (in real units: a 100:1 ellipse is not squashed into a circle)."""
    gap = loss_at(p, path) - p.loss_star
    keep = np.isfinite(gap) & (gap <= 4 * gap[0])
    natural = 0.5 / np.sqrt(np.diag(p.hessian))  # each axis' own length scale: a floor
    h1, h2 = np.maximum(np.abs(path[keep] - p.w_star).max(0) * 1.15, natural)
    r = np.sqrt(p.hessian[1, 1] / p.hessian[0, 0])  # ellipse length along w1 / along w2
    if equal_aspect:
        return np.full(2, max(h1, h2))
    if r >= 1:
        return np.array([h1, max(h2, h1 * min(r, elongation) / r)])
    return np.array([max(h1, h2 * min(1 / r, elongation) * r), h2])


def contour_grid(
    p: Problem, path=None, *, resolution: int = 200, span=None, equal_aspect: bool = False,
    elongation: float = 3.0,
) -> Grid:  # fmt: skip
    """The loss on a resolution² grid centred on the optimum.

    Linear: loss* + ½ dᵀHd with d = w - w*, i.e. from XᵀX, Xᵀy, yᵀy alone (no pass over the
    samples); logistic: brute force over the samples.

    span: half-widths (w1, w2); default: cover `path` (or (-2, 0)), see _half_spans.
    """
    path = np.array([[-2.0, 0.0]]) if path is None else np.asarray(path, dtype=float)
    if span is None:
        with np.errstate(all="ignore"):
            span = _half_spans(p, path, equal_aspect, elongation)
    t = np.linspace(-1.0, 1.0, resolution)
    w1, w2 = p.w_star[0] + span[0] * t, p.w_star[1] + span[1] * t
    if p.model == "linear":  # loss* + ½ dᵀHd, separable but for one outer product
        d1, d2, H = w1 - p.w_star[0], w2 - p.w_star[1], p.hessian
        z = np.multiply.outer(H[0, 1] * d2, d1)
        z += 0.5 * H[1, 1] * d2[:, None] ** 2 + p.loss_star
        z += 0.5 * H[0, 0] * d1**2
    else:
        z = _logistic_grid(p, w1, w2)
    return Grid(w1, w2, z.astype(np.float32), p.loss_star, p.w_star)


def _logistic_grid(p: Problem, w1: np.ndarray, w2: np.ndarray, rows: int = 16) -> np.ndarray:
    """Mean cross-entropy on the grid, brute force over samples in float32 (R·R·n terms)."""
    X = p.X.astype(np.float32)
    a, ym = np.multiply.outer(w1, X[:, 0]).astype(np.float32), p.X.T @ p.y / len(p.y)
    z = np.empty((len(w2), len(w1)))
    for i in range(0, len(w2), rows):  # a few rows at a time: (rows, R, n) stays in cache
        m = np.multiply.outer(w2[i : i + rows], X[:, 1]).astype(np.float32)[:, None, :] + a
        z[i : i + rows] = np.logaddexp(np.float32(0), m).mean(-1)
    z -= np.add.outer(w2 * ym[1], w1 * ym[0])  # the -y·m part is linear in w
    return z + 0.5 * np.add.outer(p.ridge[1] * w2**2, p.ridge[0] * w1**2)
