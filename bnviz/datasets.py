"""Datasets: pure numpy generators of 2-D toy sets, scikit-learn's bundled 8x8 digits, real
MNIST from its files where a user has them, and the preprocessings a run's inputs can get
(fitted on the training split)."""

from __future__ import annotations

import functools
import gzip
import math
import os
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bnviz.config import SEED_DATASET, SEED_INPUT_SCALES, RunConfig

TWO_D = ("spirals", "moons", "circles", "xor", "gaussians")
KINDS = ("center", "normalize", "pca", "whiten")  # what fit() can learn
CONSTANT = 1e-8  # a feature with std below this (a blank digits pixel) is left unscaled
WHITEN_EPS = 1e-3  # a run's whitening: √(variance + eps) (inputs scaled ~1, like digits/16)


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


# ---------------------------------------------------------------------------- MNIST

MNIST_ENV = "BNVIZ_MNIST"  # the folder of MNIST's four files, where they are not in MNIST_HOME
MNIST_HOME = Path(__file__).resolve().parent.parent / "data" / "mnist"
MNIST_FILES = {  # split: (images, labels), as yann.lecun.com named them (each may end in .gz)
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}


def mnist_dir() -> Path:
    """Where this server looks for MNIST's files: $BNVIZ_MNIST, else data/mnist/."""
    return Path(os.environ.get(MNIST_ENV) or MNIST_HOME).expanduser()


def _mnist_file(folder: Path, name: str) -> Path | None:
    return next((p for p in (folder / name, folder / f"{name}.gz") if p.is_file()), None)


def mnist_missing() -> list[str]:
    """The names of MNIST's files not in mnist_dir() (none: MNIST can be trained on)."""
    folder = mnist_dir()
    names = [n for pair in MNIST_FILES.values() for n in pair]
    return [n for n in names if _mnist_file(folder, n) is None]


def available(dataset: str) -> bool:
    """Whether this server can make `dataset` (MNIST only where its files are)."""
    return dataset != "mnist" or not mnist_missing()


def _idx_dims(path: Path, blob: bytes) -> tuple[tuple[int, ...], int]:
    """(dimensions, where the data starts) from the start of an IDX file of unsigned bytes."""
    if len(blob) < 4 or blob[:3] != b"\0\0\x08":
        raise ValueError(f"{path}: not an IDX file of unsigned bytes")
    head = 4 + 4 * blob[3]
    if len(blob) < head:
        raise ValueError(f"{path}: cut short in its header")
    return struct.unpack(f">{blob[3]}I", blob[4:head]), head


def _open_idx(path: Path):
    return (gzip.open if path.suffix == ".gz" else open)(path, "rb")


def read_idx(path: Path) -> np.ndarray:
    """An IDX file of unsigned bytes (MNIST's format; gzipped if it ends in .gz) as an array."""
    with _open_idx(path) as fh:
        blob = fh.read()
    dims, head = _idx_dims(path, blob)
    if len(blob) - head != math.prod(dims):
        raise ValueError(f"{path}: {len(blob) - head} bytes of data for dimensions {dims}")
    return np.frombuffer(blob, np.uint8, offset=head).reshape(dims)


def n_features(dataset: str) -> int:
    """A dataset's input dimension, without making it (MNIST: its files' first bytes)."""
    if dataset in TWO_D:
        return 2
    if dataset == "digits":
        return 64
    path = _mnist_file(mnist_dir(), MNIST_FILES["train"][0])
    if path is None:
        raise FileNotFoundError(f"MNIST's files are not in {mnist_dir()}")
    with _open_idx(path) as fh:
        dims, _ = _idx_dims(path, fh.read(4 + 4 * 255))
    return math.prod(dims[1:])


@functools.cache
def _mnist(folder: Path) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """{split: (images (N, H·W) uint8, labels (N,) int64)} from the files in `folder`."""
    out = {}
    for split_name, (images, labels) in MNIST_FILES.items():
        paths = [_mnist_file(folder, n) for n in (images, labels)]
        if None in paths:
            raise FileNotFoundError(f"MNIST's {images} or {labels} is not in {folder}")
        x, y = (read_idx(p) for p in paths)
        if x.ndim != 3 or y.ndim != 1 or len(x) != len(y) or y.max(initial=0) > 9:
            raise ValueError(f"{folder}: {images} {x.shape} and {labels} {y.shape} do not pair")
        out[split_name] = (x.reshape(len(x), -1), y.astype(np.int64))
    return out


def mnist_sample(n: int, test_fraction: float, rng: np.random.Generator):
    """n MNIST examples, split as split() splits: the test part drawn from MNIST's test file,
    the rest from its training file (seeded, without repeats); pixels scaled to [0, 1]."""
    data = _mnist(mnist_dir())
    n_test = max(1, round(n * test_fraction))
    parts = []
    for split_name, k in (("train", n - n_test), ("test", n_test)):
        x, y = data[split_name]
        idx = rng.choice(len(x), min(k, len(x)), replace=False)
        parts += [(x[idx] / np.float32(255)).astype(np.float32), y[idx]]
    return tuple(parts)


# ---------------------------------------------------------------------------- preprocessing


@dataclass(frozen=True)
class Transform:
    """A preprocessing fitted on training data; call it on any split (training statistics)."""

    kind: str
    mean: np.ndarray  # (D,) training mean
    std: np.ndarray  # (D,) training std (population), 1 where constant
    components: np.ndarray  # (D, D) rows: principal axes, by decreasing variance
    variances: np.ndarray  # (D,) population variance along each axis, decreasing
    eps: float

    def __call__(self, x: np.ndarray) -> np.ndarray:
        """x (N, D) -> the transformed (N, D)."""
        z = np.asarray(x, dtype=np.float64) - self.mean
        if self.kind == "center":
            return z
        if self.kind == "normalize":
            return z / self.std
        rotated = z @ self.components.T  # coordinates along the principal axes
        if self.kind == "pca":
            return rotated
        return rotated / np.sqrt(self.variances + self.eps)

    def gains(self) -> np.ndarray:
        """Whitening's factor on each principal axis, 1/√(variance + eps): large on quiet axes."""
        return self.gains_for(self.eps)

    def gains_for(self, eps: float) -> np.ndarray:
        """Whitening's factor on each principal axis with another eps."""
        return 1.0 / np.sqrt(self.variances + eps)


def fit(x_train: np.ndarray, kind: str, eps: float = 1e-5) -> Transform:
    """The transform of `kind` with the statistics of x_train (N, D)."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
    x = np.asarray(x_train, dtype=np.float64)
    n, d = x.shape
    std = x.std(0)
    std = np.where(std > CONSTANT, std, 1.0)
    components, variances = np.eye(d), x.var(0)
    if kind in ("pca", "whiten"):
        from sklearn.decomposition import PCA  # heavy import, only when asked for

        pca = PCA(n_components=min(n, d), svd_solver="full").fit(x)
        components = pca.components_
        variances = pca.explained_variance_ * (n - 1) / n  # sklearn divides by n - 1
        if len(variances) < d:  # fewer samples than features: the rest has no variance
            raise ValueError("PCA needs at least as many samples as features")
    return Transform(kind, x.mean(0), std, components, variances, float(eps))


def distort(x: np.ndarray, offset: float, spread: float, seed: int) -> np.ndarray:
    """Each feature j as scale_j·x_j + offset: scales log-uniform over a `spread`-fold range
    (a badly calibrated sensor per feature), the same for every example."""
    rng = np.random.default_rng([seed, SEED_INPUT_SCALES])
    scale = np.exp(rng.uniform(-0.5, 0.5, x.shape[1]) * np.log(spread))
    return x * scale + offset


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
    std = np.where(std > CONSTANT, std, 1.0)  # constant pixels of the digits stay constant
    return (x_train - mean) / std, (x_test - mean) / std


def _distorted(x: np.ndarray, cfg: RunConfig) -> np.ndarray:
    """x (float32) through distort() with cfg's offset and spread; x itself when they do
    nothing (the inputs stay bit for bit)."""
    if cfg.input_offset == 0 and cfg.input_spread == 1:
        return x
    return distort(x.astype(np.float64), cfg.input_offset, cfg.input_spread, cfg.seed).astype(
        np.float32
    )


def make_dataset(cfg: RunConfig) -> Dataset:
    """The dataset of a run, entirely determined by the config and its seed."""
    rng = np.random.default_rng(
        [cfg.seed, SEED_DATASET]
    )  # its own stream: data do not move with init
    if cfg.dataset == "mnist":  # its own test split: a sample of each file
        x_tr, y_tr, x_te, y_te = mnist_sample(cfg.n_samples, cfg.test_fraction, rng)
        x_tr, x_te = (_distorted(x, cfg) for x in (x_tr, x_te))
        n_classes = 10
    else:
        if cfg.dataset == "digits":
            x, y = _digits()
            n_classes = 10
        else:
            x, y = GENERATORS[cfg.dataset](cfg.n_samples, cfg.noise, rng)
            n_classes = 2
        x = _distorted(np.asarray(x, np.float32), cfg)
        x_tr, y_tr, x_te, y_te = split(x, np.asarray(y), cfg.test_fraction, rng)
    kind = cfg.preprocess or ("normalize" if cfg.standardize else "raw")
    if kind == "normalize":  # standardize's float32 numbers: one run, whichever way it is said
        x_tr, x_te = standardize(x_tr, x_te)
    elif kind != "raw":
        tf = fit(x_tr, kind, WHITEN_EPS)
        x_tr, x_te = tf(x_tr), tf(x_te)
    if cfg.train_limit is not None:  # a tiny subset to overfit (scaled like the full set)
        x_tr, y_tr = x_tr[: cfg.train_limit], y_tr[: cfg.train_limit]
    f32 = np.float32
    return Dataset(cfg.dataset, x_tr.astype(f32), y_tr, x_te.astype(f32), y_te, n_classes)
