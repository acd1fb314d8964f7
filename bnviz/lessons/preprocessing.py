"""Data preprocessing (seed 003): center, normalize, PCA, whiten; fitted on the training split.

Pure numpy + scikit-learn (PCA, bundled digits and photos); the fitted transforms themselves are
bnviz.datasets.fit, which a run's `preprocess` setting uses too. The training comparison, PCA as
dimensionality reduction and the image patches live in bnviz.lessons.preprocessing_data.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from bnviz.config import Validated, setting
from bnviz.datasets import KINDS, fit
from bnviz.lessons.two_weights import Problem, iterate, loss_at

PANELS = ("original", *KINDS)  # the lecture figure's panels, left to right


def preprocess(x: np.ndarray, kind: str, eps: float = 1e-5) -> np.ndarray:
    """x (N, D) centered / normalized / rotated onto its principal axes / whitened."""
    return fit(x, kind, eps)(x)


def fit_apply(x_train: np.ndarray, x_test: np.ndarray, kind: str, eps: float = 1e-5):
    """(train transformed, test transformed with the training statistics, the Transform)."""
    tf = fit(x_train, kind, eps)
    return tf(x_train), tf(x_test), tf


# ---------------------------------------------------------------------------- the 2-D picture


@dataclass(frozen=True)
class CloudConfig(Validated):
    """Settings of the 2-D picture: a correlated, offset, stretched Gaussian cloud."""

    corr: float = setting(0.8, lo=-0.99, hi=0.99)  # strong enough to tilt the cloud
    offset_x: float = setting(4.0, lo=-20.0, hi=20.0)  # far from 0: centering has work to do
    offset_y: float = setting(3.0, lo=-20.0, hi=20.0)
    scale_x: float = setting(2.0, lo=0.1, hi=10.0, log=True)  # unequal: normalizing has work
    scale_y: float = setting(0.5, lo=0.1, hi=10.0, log=True)
    n: int = setting(300, lo=20, hi=5000)
    eps: float = setting(1e-5, lo=0.0, hi=10.0)  # whitening's floor on a variance
    seed: int = setting(0, lo=0, hi=2**31 - 1)


@dataclass(frozen=True)
class ImagesView(Validated):
    """The Images view's patch, in the share link (audit 23: a student's link opened on the
    seed's patch, not the one the teacher had picked). Not a setting of the 2-D picture."""

    patch: int | None = setting(None, lo=0, hi=10_000)  # None: the seed's (textured_patch)


def cloud(cfg: CloudConfig) -> np.ndarray:
    """(n, 2) points with the config's correlation, scales and offset."""
    rng = np.random.default_rng([cfg.seed, 3])
    sx, sy, r = cfg.scale_x, cfg.scale_y, cfg.corr
    cov = np.array([[sx * sx, r * sx * sy], [r * sx * sy, sy * sy]])
    return rng.standard_normal((cfg.n, 2)) @ np.linalg.cholesky(cov).T + [
        cfg.offset_x,
        cfg.offset_y,
    ]


@dataclass(frozen=True)
class Panel:
    """One panel of the lecture figure: the points and their covariance matrix."""

    kind: str  # one of PANELS
    points: np.ndarray  # (n, 2)
    mean: np.ndarray  # (2,)
    cov: np.ndarray  # (2, 2) population covariance


def panels(cfg: CloudConfig) -> list[Panel]:
    """Original, centered, normalized, PCA and whitened versions of the cloud."""
    x = cloud(cfg)
    out = []
    for kind in PANELS:
        z = x if kind == "original" else preprocess(x, kind, cfg.eps)
        out.append(Panel(kind, z, z.mean(0), np.cov(z, rowvar=False, bias=True)))
    return out


# ---------------------------------------------------------------------------- loss contours


def linear_problem(X: np.ndarray, y: np.ndarray) -> Problem:
    """The least-squares problem in two weights (no bias) on features X (n, 2)."""
    n = len(X)
    H, b, c = X.T @ X / n, X.T @ y / n, float(y @ y) / (2 * n)
    w_star = np.linalg.solve(H, b)
    return Problem(X, y, "linear", H, b, c, w_star, c - 0.5 * float(b @ w_star), np.zeros(2))


def contour_problems(cfg: CloudConfig, noise: float = 0.1) -> dict[str, Problem]:
    """The two-weight model on the raw, centered and whitened cloud (the same targets).

    The targets depend on the centered features, y = x̃·(1, -1) + noise; only the features
    the model sees change. Its loss is ½ wᵀHw - bᵀw + c with H = XᵀX/n: for raw features
    H = Σ + μμᵀ, so the offset μ stretches and tilts the bowl along μ; centering leaves Σ.
    """
    x = cloud(cfg)
    rng = np.random.default_rng([cfg.seed, 4])
    y = (x - x.mean(0)) @ np.array([1.0, -1.0]) + noise * rng.standard_normal(len(x))
    feats = {"original": x, "center": preprocess(x, "center"), "whiten": preprocess(x, "whiten")}
    return {k: linear_problem(f, y) for k, f in feats.items()}


def bowl_shape(p: Problem) -> tuple[float, float]:
    """(condition number κ, tilt of the long axis in degrees from the w₁ axis, in [0, 90])."""
    lam, vec = np.linalg.eigh(p.hessian)
    long_axis = vec[:, 0]  # the flat direction (smallest curvature) is the long axis
    angle = np.degrees(np.arctan2(abs(long_axis[1]), abs(long_axis[0])))
    return float(lam[1] / lam[0]), float(angle)


@dataclass(frozen=True)
class Path:
    """Gradient descent from w = 0 on one bowl, at its own best fixed rate."""

    weights: np.ndarray  # (steps + 1, 2)
    lr: float
    steps_to_converge: int | None  # first step with loss - min <= 1 % of the start's


def descend(p: Problem, steps: int = 500) -> Path:
    """Plain GD from the origin at lr = 2/(λmin + λmax), the best fixed rate on a quadratic
    (the error shrinks by (κ - 1)/(κ + 1) per step: one step when κ = 1)."""
    lam = np.linalg.eigvalsh(p.hessian)
    lr = 2 / (lam[0] + lam[1])
    path = iterate(p, np.zeros(2), [lr], steps)[:, 0]
    gap = loss_at(p, path) - p.loss_star
    hits = np.nonzero(gap <= 0.01 * gap[0])[0]
    return Path(path, float(lr), int(hits[0]) if len(hits) else None)


# ---------------------------------------------------------------------------- presets

PRESETS: dict[str, dict] = {
    # the lecture figure: every step changes the picture
    "lecture": dict(corr=0.8, offset_x=4.0, offset_y=3.0, scale_x=2.0, scale_y=0.5),
    # offset only (no correlation, equal scales): centering alone makes the bowl round
    "offset_only": dict(corr=0.0, offset_x=8.0, offset_y=8.0, scale_x=1.0, scale_y=1.0),
    # nearly collinear features: whitening with a tiny eps blows up the quiet direction
    "collinear": dict(corr=0.99, offset_x=0.0, offset_y=0.0, scale_x=1.0, scale_y=1.0),
}  # fmt: skip


def preset(name: str, base: CloudConfig | None = None) -> CloudConfig:
    """The config of a preset (other settings from base)."""
    return (base or CloudConfig()).replace(**PRESETS[name])


# ---------------------------------------------------------------------------- claims


def bowl_report(cfg: CloudConfig) -> dict[str, tuple[float, int | None]]:
    """(κ, gradient-descent steps to within 1 %) of the raw, centered and whitened bowls."""
    probs = contour_problems(cfg)
    return {k: (bowl_shape(p)[0], descend(p).steps_to_converge) for k, p in probs.items()}


def _lecture(cfg: CloudConfig) -> bool:
    pan = {p.kind: p for p in panels(cfg)}
    k = {name: kappa for name, (kappa, _) in bowl_report(cfg).items()}
    return (
        np.allclose(pan["center"].cov, pan["original"].cov)
        and np.allclose(np.diag(pan["normalize"].cov), 1)
        and abs(pan["pca"].cov[0, 1]) < 1e-9
        and np.allclose(pan["whiten"].cov, np.eye(2), atol=1e-3)
        and k["center"] > max(20, k["original"])  # here even more stretched than raw
        and k["whiten"] < 1.01
    )


def _steps(n: int | None) -> float:
    return math.inf if n is None else n


def _offset_only(cfg: CloudConfig) -> bool:
    r = bowl_report(cfg)
    (k_raw, s_raw), (k_center, s_center) = r["original"], r["center"]
    return k_raw > 100 and k_center < 1.3 and _steps(s_raw) > 100 and _steps(s_center) <= 2


def _collinear(cfg: CloudConfig) -> bool:
    k = {name: kappa for name, (kappa, _) in bowl_report(cfg).items()}
    gains = fit(cloud(cfg), "whiten", cfg.eps).gains()
    return (
        abs(k["center"] / k["original"] - 1) < 0.02
        and k["whiten"] < 1.01
        and (gains[-1] / gains[0] > 5)
    )


# preset -> does its sentence (preprocessing.preset.<name>_what) hold for these settings?
CLAIMS = {"lecture": _lecture, "offset_only": _offset_only, "collinear": _collinear}
