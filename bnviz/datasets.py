"""Datasets: pure numpy generators of 2-D toy sets, and scikit-learn's bundled 8x8 digits."""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from bnviz.config import SEED_DATASET, RunConfig

TWO_D = ("spirals", "moons", "circles", "xor", "gaussians")


@dataclass(frozen=True)
class Dataset:
    """Train/test arrays: x (N, D) float32, y (N,) int64 class labels."""

    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    n_classes: int

    @property
    def n_features(self) -> int:
        """Input dimension."""
        return self.x_train.shape[1]


# ---------------------------------------------------------------------------- 2-D generators


def spirals(n: int, noise: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Two interleaved spirals (the TensorFlow Playground set)."""
    y = np.arange(n) % 2
    r = rng.uniform(0.05, 1.0, n)
    theta = 3.5 * np.pi * r + np.pi * y
    x = np.stack([r * np.cos(theta), r * np.sin(theta)], axis=1)
    return x + noise * 0.25 * rng.standard_normal((n, 2)), y


def moons(n: int, noise: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Two half circles, one shifted into the other."""
    y = np.arange(n) % 2
    t = rng.uniform(0, np.pi, n)
    x = np.where(
        y[:, None] == 0,
        np.stack([np.cos(t), np.sin(t)], 1),
        np.stack([1 - np.cos(t), 0.5 - np.sin(t)], 1),
    )
    return x + noise * rng.standard_normal((n, 2)), y


def circles(n: int, noise: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """A disc inside a ring."""
    y = np.arange(n) % 2
    r = np.where(y == 0, rng.uniform(0, 0.5, n), rng.uniform(0.7, 1.0, n))
    t = rng.uniform(0, 2 * np.pi, n)
    x = np.stack([r * np.cos(t), r * np.sin(t)], 1)
    return x + noise * 0.5 * rng.standard_normal((n, 2)), y


def xor(n: int, noise: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Four quadrants, opposite ones in the same class."""
    x = rng.uniform(-1, 1, (n, 2))
    x += np.sign(x) * 0.05  # a small gap along the axes
    y = (x[:, 0] * x[:, 1] > 0).astype(np.int64)
    return x + noise * 0.5 * rng.standard_normal((n, 2)), y


def gaussians(n: int, noise: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Two Gaussian blobs whose overlap grows with the noise."""
    y = np.arange(n) % 2
    centers = np.array([[-1.0, -1.0], [1.0, 1.0]])
    return centers[y] + (0.3 + 1.5 * noise) * rng.standard_normal((n, 2)), y


GENERATORS = {
    "spirals": spirals,
    "moons": moons,
    "circles": circles,
    "xor": xor,
    "gaussians": gaussians,
}


@functools.cache
def _digits() -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's bundled 1797 8x8 digits, pixels scaled to [0, 1]."""
    from sklearn.datasets import load_digits  # heavy import, only when digits are asked for

    bunch = load_digits()
    return (bunch.data / 16.0).astype(np.float32), bunch.target.astype(np.int64)


# ---------------------------------------------------------------------------- assembly


def split(x: np.ndarray, y: np.ndarray, test_fraction: float, rng: np.random.Generator):
    """A seeded shuffle and split into train and test."""
    order = rng.permutation(len(x))
    n_test = max(1, round(len(x) * test_fraction))
    test, train = order[:n_test], order[n_test:]
    return x[train], y[train], x[test], y[test]


def standardize(x_train: np.ndarray, x_test: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Zero mean, unit std per feature, with the training set's statistics."""
    mean = x_train.mean(0)
    std = x_train.std(0)
    std = np.where(std > 1e-8, std, 1.0)  # constant pixels of the digits stay constant
    return (x_train - mean) / std, (x_test - mean) / std


def make_dataset(cfg: RunConfig) -> Dataset:
    """The dataset of a run, entirely determined by the config and its seed."""
    rng = np.random.default_rng(
        [cfg.seed, SEED_DATASET]
    )  # its own stream: data do not move with init
    if cfg.dataset == "digits":
        x, y = _digits()
        n_classes = 10
    else:
        x, y = GENERATORS[cfg.dataset](cfg.n_samples, cfg.noise, rng)
        n_classes = 2
    x_tr, y_tr, x_te, y_te = split(np.asarray(x, np.float32), np.asarray(y), cfg.test_fraction, rng)
    if cfg.standardize:
        x_tr, x_te = standardize(x_tr, x_te)
    if cfg.train_limit is not None:  # a tiny subset to overfit (scaled like the full set)
        x_tr, y_tr = x_tr[: cfg.train_limit], y_tr[: cfg.train_limit]
    f32 = np.float32
    return Dataset(cfg.dataset, x_tr.astype(f32), y_tr, x_te.astype(f32), y_te, n_classes)
