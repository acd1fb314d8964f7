"""Input standardization: loss contours and descent paths of a 2-weight model (seeds 001, 002).

With raw features x2 is ~scale times x1, so the loss is a long thin ellipse in (w1, w2):
the largest stable learning rate is set by the steep direction and the flat one crawls.
Standardized features make the ellipse round. Everything here is pure numpy.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Literal

import numpy as np

from bnviz.config import Validated, setting
from bnviz.lessons.two_weights import (
    Grid,
    Problem,
    contour_grid,
    iterate,
    loss_at,
    make_data,
    problem,
    standardized,
)

__all__ = [  # the lesson's API; the math lives in two_weights
    "PRESETS", "Descent", "Grid", "Problem", "StandardizationConfig", "Sweep", "View",
    "contour_grid", "crossings", "descent", "loss_at", "lr_limit", "lr_sweep", "make_data",
    "preset_config", "preset_values", "problem", "standardized",
]  # fmt: skip

Optimizer = Literal["gd", "momentum", "adam"]
Model = Literal["linear", "logistic"]

# The sweep runs every learning rate for a fixed budget of its own: linear GD/momentum paths
# cost log2(steps) matrix products, so they get the most (both panels ~0.25 s); step-by-step
# loops get what keeps both panels' sweeps near 0.5 s (Adam, linear) and 0.5-1.3 s (logistic),
# measured on a busy 2-core box.
SWEEP_STEPS = {"exact": 20_000, "adam": 5_000, "logistic": 1_000}
SWEEP_POINTS = {"exact": 40, "adam": 30, "logistic": 20}
ADAM_LRS = (1e-4, 1.0)  # Adam's step is ~lr in weight units whatever the curvature: one range

MAX_STEPS = 20_000  # the longest descent a link may ask for; View.upto's default: the end
CONVERGED = 0.01  # converged: loss - min <= 1 % of the start's loss - min
DIVERGED = 1e6  # diverged: loss > 1e6 x the start's loss (or not finite)


@dataclass(frozen=True)
class StandardizationConfig(Validated):
    """Settings of the input-standardization page; both panels share all but the learning rate."""

    scale: float = setting(100.0, lo=1.0, hi=1000.0, log=True)  # x2 ≈ 100·x1, as in seed 001
    offset: float = setting(0.0, lo=-100.0, hi=100.0)  # added to both raw inputs: centering alone
    lr: float = setting(1.96e-4, lo=1e-7, hi=10.0, log=True)  # raw: 0.98 × 2/λmax ≈ 0.98 × 2/100²
    lr_std: float = setting(0.5, lo=1e-7, hi=10.0, log=True)  # standardized: a straight path
    same_lr: bool = False  # True: both panels use lr (standardized then crawls at the raw's lr)
    steps: int = setting(200, lo=1, hi=MAX_STEPS)  # 200: the raw panel still crawls; it needs ~1e4
    optimizer: Optimizer = "gd"  # plain GD shows the zig-zag; momentum/Adam are the cures
    beta: float = setting(0.9, lo=0.0, hi=0.999)  # momentum (Adam's β1): the usual 0.9 (seed 002)
    w1_0: float = setting(-2.0, lo=-10.0, hi=10.0)  # start: far along the long axis...
    w2_0: float = setting(0.0, lo=-10.0, hi=10.0)  # ...with w2 = 0 the same model on both panels
    noise: float = setting(0.1, lo=0.0, hi=2.0)  # target noise std (logistic: label-flip rate)
    n: int = setting(200, lo=20, hi=5000)  # samples: enough for a stable Hessian, cheap loss
    seed: int = setting(0, lo=0, hi=2**31 - 1)
    model: Model = "linear"  # linear: exact quadratic bowl; logistic: the same story, curved

    def lr_for(self, standardize: bool) -> float:
        """The learning rate of one panel."""
        return self.lr_std if standardize and not self.same_lr else self.lr

    def descent_args(self, standardize: bool) -> dict:
        """Keyword arguments of descent() for one panel."""
        return dict(
            scale=self.scale, standardize=standardize, lr=self.lr_for(standardize),
            steps=self.steps, optimizer=self.optimizer, beta=self.beta,
            start=(self.w1_0, self.w2_0), noise=self.noise, n=self.n, seed=self.seed,
            model=self.model, offset=self.offset,
        )  # fmt: skip

    def sweep_args(self, standardize: bool) -> dict:
        """Keyword arguments of lr_sweep() for one panel: its own step budget, not `steps`."""
        exact = self.model == "linear" and self.optimizer != "adam"
        kind = "exact" if exact else "adam" if self.model == "linear" else "logistic"
        points = SWEEP_POINTS[kind]
        lrs = np.geomspace(*ADAM_LRS, points).tolist() if self.optimizer == "adam" else None
        return dict(
            scale=self.scale, lrs=lrs, points=points, standardize=standardize,
            optimizer=self.optimizer, steps=SWEEP_STEPS[kind], beta=self.beta,
            start=(self.w1_0, self.w2_0), noise=self.noise, n=self.n, seed=self.seed,
            model=self.model, offset=self.offset,
        )  # fmt: skip


@dataclass(frozen=True)
class View(Validated):
    """How the page shows the paths, outside the descent's settings (the link carries both)."""

    upto: int = setting(MAX_STEPS, lo=0, hi=MAX_STEPS)  # the step drawn to; past `steps`: the end
    equal_aspect: bool = False  # equal axis units: the raw bowl as thin as it is


# ---------------------------------------------------------------------------- descent


def _first(mask: np.ndarray) -> list[int | None]:
    """Per column of a (steps + 1, L) mask: the first row that is True, or None."""
    return [int(np.argmax(col)) if col.any() else None for col in mask.T]


def _outcome(losses: np.ndarray, loss_star: float) -> tuple[list, list]:
    """Per column of losses (steps + 1, L): (steps to converge, step of divergence) or None."""
    with np.errstate(invalid="ignore"):
        bad = ~np.isfinite(losses) | (losses > DIVERGED * np.abs(losses[0]))
        good = losses - loss_star <= CONVERGED * (losses[0] - loss_star)
    div = _first(bad)
    end = np.array([len(losses) if d is None else d for d in div])
    return _first(good & (np.arange(len(losses))[:, None] < end)), div


@dataclass(frozen=True)
class Descent:
    """One panel: the descent path on one problem and what limits it."""

    path: np.ndarray  # (steps + 1, 2) weights; nan after divergence
    losses: np.ndarray  # (steps + 1,) nan after divergence
    hessian: np.ndarray  # (2, 2) linear: XᵀX/n exactly; logistic: at the optimum
    eigenvalues: np.ndarray  # (2,) ascending
    kappa: float  # condition number λmax / λmin
    lambda_max: float
    lr_max_stable: float  # 2/λmax: GD's limit (momentum's is 2(1+β)/λmax; logistic: near w*)
    w_star: np.ndarray  # (2,) the optimum
    loss_star: float
    steps_to_converge: int | None  # first step with loss - min <= 1 % of the start's
    diverged: bool
    diverged_at: int | None  # first step with a non-finite loss or > 1e6 × the start's
    problem: Problem = dataclasses.field(repr=False)
    lr: float = 0.0
    optimizer: str = "gd"
    standardize: bool = False

    @property
    def lr_ratio(self) -> float:
        """The learning rate as a multiple of 2/λmax (GD diverges above 1)."""
        return self.lr / self.lr_max_stable

    @property
    def progress(self) -> float:
        """The share of the start's distance to the minimum covered by the last step (NaN
        after divergence): "under 4 % of the way" in 200 steps on the default raw panel."""
        start, end = (float(np.linalg.norm(self.path[i] - self.w_star)) for i in (0, -1))
        return 1 - end / start if start else 1.0


PLAIN_GD_LIMIT = 20_000  # steps plain GD is given when momentum is compared with it


def plain_gd_steps(cfg: StandardizationConfig) -> int | None:
    """Steps plain gradient descent needs on the raw panel at cfg's learning rate (None: not
    within PLAIN_GD_LIMIT): what momentum is compared with ("about 10x faster")."""
    plain = cfg.replace(optimizer="gd", steps=PLAIN_GD_LIMIT)
    return descent(**plain.descent_args(False)).steps_to_converge


def _spectrum(H: np.ndarray) -> tuple[np.ndarray, float, float]:
    """(ascending eigenvalues, κ, 2/λmax) of a symmetric 2x2 Hessian."""
    lam = np.linalg.eigvalsh(H)
    return lam, float(lam[1] / lam[0]), float(2 / lam[1])


def descent(
    scale: float = 100.0, standardize: bool = False, lr: float = 1.96e-4, steps: int = 200,
    optimizer: str = "gd", beta: float = 0.9, start=None, noise: float = 0.1, n: int = 200,
    seed: int = 0, model: str = "linear", offset: float = 0.0,
) -> Descent:  # fmt: skip
    """Run one optimizer from `start` (default (-2, 0)) on the raw or standardized problem.

    lr_max_stable is 2/λmax of the Hessian: exact for GD on the linear (quadratic) loss; for the
    logistic loss the Hessian at the optimum is used, so it is the limit near the minimum.
    """
    p = problem(scale, standardize, noise, n, seed, model, offset)
    start = (-2.0, 0.0) if start is None else start
    path = iterate(p, start, [lr], steps, optimizer, beta)[:, 0]
    with np.errstate(all="ignore"):
        losses = loss_at(p, path)
    (conv,), (div,) = _outcome(losses[:, None], p.loss_star)
    if div is not None:
        path[div + 1 :], losses[div + 1 :] = np.nan, np.nan
    lam, kappa, lr_max = _spectrum(p.hessian)
    return Descent(
        path, losses, p.hessian, lam, kappa, float(lam[1]), lr_max, p.w_star, p.loss_star,
        conv, div is not None, div, p, lr, optimizer, standardize,
    )  # fmt: skip


# ---------------------------------------------------------------------------- learning-rate sweep


@dataclass(frozen=True)
class Sweep:
    """Steps to converge against the learning rate, for one problem."""

    lrs: np.ndarray  # (L,)
    steps_to_converge: np.ndarray  # (L,) float; nan when diverged or not within `steps`
    diverged: np.ndarray  # (L,) bool
    steps: int
    lr_max_stable: float  # 2/λmax of this problem
    standardize: bool


def lr_sweep(
    scale: float = 100.0, lrs=None, standardize: bool = False, optimizer: str = "gd",
    steps: int = 2000, beta: float = 0.9, start=None, noise: float = 0.1, n: int = 200,
    seed: int = 0, model: str = "linear", points: int = 40, offset: float = 0.0,
) -> Sweep:  # fmt: skip
    """Steps to converge for each learning rate (default: `points` from 1e-3 to 1.5 x 2/λmax)."""
    p = problem(scale, standardize, noise, n, seed, model, offset)
    _, _, lr_max = _spectrum(p.hessian)
    lrs = np.geomspace(1e-3, 1.5, points) * lr_max if lrs is None else np.asarray(lrs, float)
    start = (-2.0, 0.0) if start is None else start
    paths = iterate(p, start, lrs, steps, optimizer, beta)  # (steps + 1, L, 2)
    with np.errstate(all="ignore"):
        losses = loss_at(p, paths) if p.model == "linear" else _chunked_loss(p, paths)
    conv, div = _outcome(losses, p.loss_star)
    conv = np.array([np.nan if c is None else c for c in conv], dtype=float)
    diverged = np.array([d is not None for d in div])
    return Sweep(lrs, conv, diverged, steps, lr_max, standardize)


def _chunked_loss(p: Problem, paths: np.ndarray) -> np.ndarray:
    """Logistic loss along many paths without a (steps, L, n) array at once."""
    return np.concatenate([loss_at(p, c) for c in np.array_split(paths, 1 + len(paths) // 200)])


# ---------------------------------------------------------------------------- presets

# Learning rates are given as a multiple of the raw problem's 2/λmax, which depends on the data.
PRESETS: dict[str, dict] = {
    # below the limit: raw bounces across the valley, shrinking by |1 - 2·0.95| = 0.9 a step,
    # while it moves along it (κ ≈ 50: ~50 steps); standardized goes straight in 3-4 steps.
    # Scale 7, not 100: at κ ≈ 1e4 the bounces die within 1 % of the way along the valley and
    # the path draws a "T"; at κ ≈ 100 a step moves ~2 px along a 1280x720 panel, the bounces
    # merge into a solid wedge; at κ ≈ 50 over a dozen of them are each seen (CLAIMS["zigzag"])
    "zigzag": dict(scale=7.0, lr_factor=0.95, lr_std=0.5, steps=200, optimizer="gd"),
    # the same valley 5 % above the limit: the steep direction grows by |1 - lr·λmax| > 1 a step
    "diverge": dict(scale=7.0, lr_factor=1.05, lr_std=0.5, steps=200, optimizer="gd"),
    # momentum on the κ ≈ 1e4 valley at 0.99 x the limit: the zig-zag dies faster and the flat
    # direction speeds up ~10x over plain GD
    # (on the round bowl momentum has nothing to damp: it overshoots a little)
    "momentum": dict(scale=100.0, lr_factor=0.99, lr_std=0.02, steps=2000, optimizer="momentum",
                     beta=0.9),
    # centering alone: equal scales, both inputs + 5. The mean adds 25·[[1, 1], [1, 1]] to the
    # Hessian: a valley tilted 45° with κ ≈ 54 (seed 0; 1 + 2·5² = 51 for uncorrelated
    # features); raw GD bounces across it for ~110 steps, centered features take ~4
    "shifted": dict(scale=1.0, offset=5.0, lr_factor=0.99, lr_std=0.5, steps=300,
                    optimizer="gd"),
    # equal scales: standardizing changes nothing, both panels are the same
    "same": dict(scale=1.0, lr=0.5, lr_std=0.5, same_lr=True, steps=200, optimizer="gd"),
}  # fmt: skip


def lr_limit(cfg: StandardizationConfig, standardize: bool = False) -> float:
    """2/λmax of one panel's problem for these settings (the raw one by default)."""
    p = problem(cfg.scale, standardize, cfg.noise, cfg.n, cfg.seed, cfg.model, cfg.offset)
    return _spectrum(p.hessian)[2]


def preset_values(name: str, base: StandardizationConfig | None = None) -> dict:
    """The settings a preset sets, with its learning rate computed from the data."""
    base = base or StandardizationConfig()
    values = dict(PRESETS[name])
    factor = values.pop("lr_factor", None)
    if factor is not None:
        limit = lr_limit(dataclasses.replace(base, **values))
        values["lr"] = float(f"{factor * limit:.3g}")  # 3 digits: a readable share link
    return values


def preset_config(name: str, base: StandardizationConfig | None = None) -> StandardizationConfig:
    """The config of a preset (other settings from base)."""
    base = base or StandardizationConfig()
    return base.replace(**preset_values(name, base))


# ---------------------------------------------------------------------------- preset claims


def _panels(name: str, seed: int) -> tuple:
    cfg = preset_config(name, StandardizationConfig(seed=seed))
    return cfg, descent(**cfg.descent_args(False)), descent(**cfg.descent_args(True))


def crossings(d: Descent, grid: Grid, share: float = 0.05) -> int:
    """The steps on which the path visibly crosses the valley: its coordinate along the steep
    axis (relative to the minimum) changes sign and w2 jumps by at least `share` of the panel's
    height (grid: the panel's contours; w2 is the steep axis when x2 is the larger input)."""
    steep = np.linalg.eigh(d.hessian)[1][:, 1]
    side = np.sign((d.path - d.w_star) @ steep)
    jump = np.abs(np.diff(d.path[:, 1]))
    return int(np.sum((side[1:] != side[:-1]) & (jump >= share * np.ptp(grid.w2))))


def _zigzag(seed: int) -> bool:
    cfg, raw, std = _panels("zigzag", seed)  # "x₂ 7×, κ ≈ 50, 0.95 × 2/λmax", "more than a
    grid = contour_grid(raw.problem, raw.path)  # dozen" (zh: 十多次) crossings, "~50" vs "3–4"
    return (
        cfg.scale == 7 and abs(raw.kappa / 50 - 1) <= 0.05 and abs(raw.lr_ratio - 0.95) < 0.005
        and 12 < crossings(raw, grid) < 20 and not raw.diverged
        and raw.steps_to_converge is not None and 45 <= raw.steps_to_converge <= 55
        and 3 <= std.steps_to_converge <= 4
    )  # fmt: skip


def _momentum(seed: int) -> bool:
    cfg, raw, _ = _panels("momentum", seed)  # "100×", "0.99 ×", "about 10x faster",
    speedup = plain_gd_steps(cfg) / raw.steps_to_converge  # "within"
    said = cfg.scale == 100 and abs(raw.lr_ratio - 0.99) < 0.005
    return said and raw.steps_to_converge <= cfg.steps and 8 < speedup < 12


def _shifted(seed: int) -> bool:
    cfg, raw, std = _panels("shifted", seed)  # "κ about 50", "100–125 steps", "3–4 steps"
    said = (
        40 < raw.kappa < 60 and std.kappa < 1.5 and not raw.diverged
        and 100 <= raw.steps_to_converge <= 125 and std.steps_to_converge <= 4
        and 40 <= std.lr_max_stable / raw.lr_max_stable <= 60  # "rate about 50× smaller"
    )  # fmt: skip
    # the chart on the right: "at its best rate 35–45"; "at a rate both can take, raw is not
    # the slower one" (its 1 % is of a larger start, most of it in the steep direction, which
    # falls first), up to 0.95 × its limit, where the bounces take over (audit 31)
    sweep = lr_sweep(**cfg.sweep_args(False))
    shared = np.isfinite(sweep.steps_to_converge) & (sweep.lrs <= 0.95 * sweep.lr_max_stable)
    same = lr_sweep(**{**cfg.sweep_args(True), "lrs": sweep.lrs[shared]}).steps_to_converge
    slower = sweep.steps_to_converge[shared] > np.nan_to_num(same, nan=np.inf)
    return said and 35 <= np.nanmin(sweep.steps_to_converge) <= 45 and not slower.any()


def default_holds(seed: int) -> bool:
    """The page's opening sentence (standardization.look_for.default) for one seed: "κ ≈ 10,000",
    "under 4 % of the way" in 200 steps, "~10,000 steps" to converge, standardized "3–4"."""
    cfg = StandardizationConfig(seed=seed)
    raw, std = descent(**cfg.descent_args(False)), descent(**cfg.descent_args(True))
    long_run = descent(**cfg.replace(steps=20_000).descent_args(False))
    return (
        cfg.scale == 100 and cfg.steps == 200 and 9_500 < raw.kappa < 10_500
        and raw.steps_to_converge is None and 0 < raw.progress < 0.04
        and 9_000 <= long_run.steps_to_converge <= 11_000 and 3 <= std.steps_to_converge <= 4
    )  # fmt: skip


# preset -> check of its sentence (standardization.preset.<name>_what) for one seed;
# tests/test_claims_seeds.py runs every one over seeds 0-4
CLAIMS = {
    "zigzag": _zigzag,
    "diverge": lambda seed: (  # "the same valley": the zig-zag's scale
        (p := _panels("diverge", seed))[1].diverged
        and not p[2].diverged
        and p[0].scale == preset_config("zigzag").scale
    ),
    "momentum": _momentum,
    "shifted": _shifted,
    "same": lambda seed: (  # "both panels are identical"
        abs((p := _panels("same", seed))[1].kappa - p[2].kappa) < 1e-9 * p[2].kappa
        and p[1].steps_to_converge == p[2].steps_to_converge
    ),
}
