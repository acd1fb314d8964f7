"""Hyperparameter search (seed 002): designs, sampling scales, coarse to fine, importance.

Pure computations; the sweeps that feed them come from `bnviz.sweep.train_sweep`.
"""

from __future__ import annotations

import math

import numpy as np

from bnviz.config import RunConfig

LR_RANGE = (1e-4, 1.0)
EPS_RANGE = (1e-10, 1e-6)  # Adam's ε: the setting that barely matters (Bergstra & Bengio's point)
BETA_EXP = (-3.0, -1.0)  # 1 − β = 10^r: β from 0.9 to 0.999
# The notes' ranking (seed 002): tiers, most important first.
NOTES_RANKING: tuple[tuple[str, ...], ...] = (
    ("lr",),
    ("momentum", "width", "batch_size"),
    ("depth", "lr_decay"),
    ("adam_beta1", "adam_beta2", "adam_eps"),
)


def _log_uniform(lo: float, hi: float, n: int, rng: np.random.Generator) -> np.ndarray:
    """n values 10^r with r uniform in [log10 lo, log10 hi]."""
    return 10.0 ** rng.uniform(math.log10(lo), math.log10(hi), n)


def grid_design(n: int, lr=LR_RANGE, other=EPS_RANGE) -> np.ndarray:
    """(n, 2) points of a √n x √n grid, log-spaced on both axes: only √n distinct lrs."""
    k = math.isqrt(n)
    if k * k != n:
        raise ValueError(f"a square grid needs a square number of trials, got {n}")
    a = np.geomspace(*lr, k)
    b = np.geomspace(*other, k)
    return np.stack(np.meshgrid(a, b, indexing="ij"), -1).reshape(-1, 2)


def random_design(n: int, seed: int, lr=LR_RANGE, other=EPS_RANGE) -> np.ndarray:
    """(n, 2) log-uniform random points: n distinct lrs for the same budget."""
    rng = np.random.default_rng([seed, 2012])
    return np.stack([_log_uniform(*lr, n, rng), _log_uniform(*other, n, rng)], 1)


def lr_samples(n: int, seed: int, scale: str, lo: float = 1e-4, hi: float = 1.0) -> np.ndarray:
    """n learning rates drawn uniformly ("linear") or as 10^r, r uniform ("log")."""
    rng = np.random.default_rng([seed, 3])
    if scale == "linear":
        return rng.uniform(lo, hi, n)
    return _log_uniform(lo, hi, n, rng)


def decade_shares(values: np.ndarray, lo: float = 1e-4, hi: float = 1.0) -> np.ndarray:
    """Share of values in each decade [10^k, 10^(k+1)) from lo to hi: (decades,)."""
    edges = np.geomspace(lo, hi, round(math.log10(hi / lo)) + 1)
    counts, _ = np.histogram(values, edges)
    return counts / max(len(values), 1)


def expected_decade_shares(scale: str, lo: float = 1e-4, hi: float = 1.0) -> np.ndarray:
    """The exact shares: linear puts (10^(k+1) − 10^k)/(hi − lo) in each; log an equal share."""
    edges = np.geomspace(lo, hi, round(math.log10(hi / lo)) + 1)
    if scale == "linear":
        return np.diff(edges) / (hi - lo)
    return np.full(len(edges) - 1, 1.0 / (len(edges) - 1))


def momentum_samples(n: int, seed: int, r=BETA_EXP) -> np.ndarray:
    """β = 1 − 10^r with r uniform in r: as many samples near 0.999 as near 0.9."""
    rng = np.random.default_rng([seed, 4])
    return 1.0 - 10.0 ** rng.uniform(*r, n)


def averaging_window(beta) -> np.ndarray:
    """How many past gradients momentum averages over: 1 / (1 − β)."""
    return 1.0 / (1.0 - np.asarray(beta, dtype=np.float64))


def coarse_to_fine(
    points: np.ndarray,
    scores: np.ndarray,
    best: int = 3,
    margin: float = 0.5,
    within: tuple | None = None,
):
    """The second box: around the `best` lowest-score points, in log10 space, widened by margin
    and kept `within` the first round's box ((lo, hi), each (d,)) if given: a zoom that sampled
    a learning rate of 1.6 after a first round up to 1 read as searching wider (audit 33).

    points (n, d) positive, scores (n,) (lower is better; NaN = diverged, never picked).
    Returns (lo, hi), each (d,), in the original units.
    """
    order = np.argsort(np.where(np.isfinite(scores), scores, np.inf))[:best]
    logs = np.log10(points[order])
    lo, hi = logs.min(0), logs.max(0)
    pad = margin * np.maximum(hi - lo, 0.1)
    lo, hi = 10.0 ** (lo - pad), 10.0 ** (hi + pad)
    if within is not None:
        lo, hi = np.maximum(lo, within[0]), np.minimum(hi, within[1])
    return lo, hi


def sample_box(lo: np.ndarray, hi: np.ndarray, n: int, seed: int) -> np.ndarray:
    """(n, d) log-uniform points inside the box."""
    rng = np.random.default_rng([seed, 5])
    return 10.0 ** rng.uniform(np.log10(lo), np.log10(hi), (n, len(lo)))


def importance(params: dict[str, np.ndarray], values: np.ndarray, seed: int = 0) -> dict:
    """fANOVA importance of each parameter (Optuna's evaluator), summing to 1, largest first.

    params: name -> (n,) positive values (log-scaled distributions); values: (n,) objective
    (trials with a non-finite value are left out, like failed trials).
    """
    import optuna  # heavy import, only when asked

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    dists = {
        k: optuna.distributions.FloatDistribution(float(v.min()), float(v.max()), log=v.min() > 0)
        for k, v in params.items()
    }
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=seed))
    for i, value in enumerate(values):
        if np.isfinite(value):
            trial_params = {k: float(v[i]) for k, v in params.items()}
            study.add_trial(optuna.trial.create_trial(
                params=trial_params, distributions=dists, value=float(value)))  # fmt: skip
    evaluator = optuna.importance.FanovaImportanceEvaluator(seed=seed)
    return dict(optuna.importance.get_param_importances(study, evaluator=evaluator))


def notes_tier(name: str) -> int:
    """0-based tier of a hyperparameter in the notes' ranking (len(NOTES_RANKING) if absent)."""
    for i, tier in enumerate(NOTES_RANKING):
        if name in tier:
            return i
    return len(NOTES_RANKING)


def lr_scale_grid(lrs, scales) -> list[dict]:
    """Sweep changes for the lr x init-scale heatmap (rows: init scale, columns: lr)."""
    return [{"lr": float(a), "init": "scaled", "init_scale": float(s)} for s in scales for a in lrs]


def good_share(final_acc: np.ndarray, threshold: float = 0.9) -> tuple[int, int]:
    """(settings reaching the accuracy threshold, all settings); diverged (NaN) never count."""
    acc = np.nan_to_num(np.asarray(final_acc, dtype=np.float64), nan=-1.0)
    return int((acc >= threshold).sum()), int(acc.size)


# A deep tanh net where BN widens the good region (the lab's default data, 6 hidden layers).
BN_GRID_BASE = RunConfig(
    dataset="moons", depth=6, width=32, activation="tanh", optimizer="sgd", steps=300,
    eval_every=25,  # the heatmaps fill in every 25 steps (evaluation draws no randomness)
)  # fmt: skip
BN_GRID_LRS = tuple(np.geomspace(1e-3, 3.0, 6))
BN_GRID_SCALES = tuple(np.geomspace(0.03, 10.0, 6))

BATCH_SIZES = (16, 32, 64, 128, 256)
IMPORTANCE_PARAMS = ("lr", "momentum", "batch_size", "init_scale")


def random_sweep_changes(n: int, seed: int) -> list[dict]:
    """n random settings for the importance view: lr and init scale log-uniform, β through
    1 − β = 10^r, batch size from BATCH_SIZES (base: optimizer "momentum")."""
    rng = np.random.default_rng([seed, 6])
    lrs = _log_uniform(1e-3, 1.0, n, rng)
    betas = 1.0 - 10.0 ** rng.uniform(*BETA_EXP, n)
    sizes = rng.choice(BATCH_SIZES, n)
    scales = _log_uniform(0.1, 10.0, n, rng)
    return [
        {"lr": float(a), "momentum": float(b), "batch_size": int(c), "init": "scaled",
         "init_scale": float(d)}
        for a, b, c, d in zip(lrs, betas, sizes, scales, strict=True)
    ]  # fmt: skip


def sweep_importance(configs, final_loss: np.ndarray, seed: int = 0) -> dict:
    """fANOVA importance of IMPORTANCE_PARAMS for a finished sweep's log10 final training loss.

    β enters as 1 − β (its natural log scale); diverged models (NaN) are left out. The loss
    on a log scale: final losses span 1e-6 to ~5, and on a linear scale the variance is that
    of the few unstable runs, whose losses change with float rounding: on seed 3, lr ranked
    1st, 2nd or 4th depending on the matmul library. On the log scale it is 1st on seeds 0-4
    for the sweep engine and for the single runs of train_sync (2nd once with MKL's matmul).
    """
    params = {k: np.array([getattr(c, k) for c in configs], dtype=np.float64) for k in
              IMPORTANCE_PARAMS}  # fmt: skip
    params["momentum"] = 1.0 - params["momentum"]
    loss = np.asarray(final_loss, dtype=np.float64)
    return importance(params, np.log10(np.maximum(loss, 1e-12)), seed)
