"""Preprocessing on real data: training speed (live runs), PCA on digits, mean image vs
per-channel mean.

Digits and photos are scikit-learn's bundled ones; randomness only from seeded generators.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import torch
from sklearn.decomposition import PCA
from torch.nn import functional as F

from bnviz.config import RunConfig
from bnviz.lessons.preprocessing import fit, fit_apply
from bnviz.stepper import Snapshot

INPUTS = ("raw", "center", "normalize", "whiten")  # the training comparison's four inputs
PATCH = 32  # CIFAR-sized patches of the photos
EVAL_EVERY = 10  # steps between test-accuracy checks
# What the page shows (each checked by a test through the functions' defaults or these values):
PCA_KS = (1, 2, 3, 5, 10, 20, 40, 64)  # accuracy against k: ~4 s on a busy 2-core box
RECON_KS = (1, 3, 10, 30, 64)  # reconstructions: from a blur to the original
NOISE_EPS = (1e-5, 1e-4, 1e-3, 1e-2, 1e-1)  # whitening's noise gain: ~80x down to ~3x


# ---------------------------------------------------------------------------- digits


@functools.cache
def digits() -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's 1797 8x8 digits: pixels (N, 64) in [0, 16] and labels (N,)."""
    from sklearn.datasets import load_digits

    bunch = load_digits()
    x, y = bunch.data.astype(np.float64), bunch.target.astype(np.int64)
    x.flags.writeable = y.flags.writeable = False  # cached: shared by every caller
    return x, y


def digits_split(seed: int, test_fraction: float = 0.25):
    """(x_train, y_train, x_test, y_test): a seeded shuffle of the digits."""
    x, y = digits()
    order = np.random.default_rng([seed, 7]).permutation(len(x))
    n_test = round(len(x) * test_fraction)
    test, train = order[:n_test], order[n_test:]
    return x[train], y[train], x[test], y[test]


def train_mlp(x_tr, y_tr, x_te, y_te, *, steps=300, lr=0.1, hidden=32, batch=64, seed=0):
    """A 1-hidden-layer tanh net, SGD + momentum 0.9: test accuracy every EVAL_EVERY steps.

    Returns (steps (E,), test accuracy (E,)); NaN accuracy from the step the loss blows up.
    """
    gen = torch.Generator().manual_seed(seed)
    xt, yt = torch.tensor(x_tr, dtype=torch.float32), torch.tensor(y_tr)
    xe, ye = torch.tensor(x_te, dtype=torch.float32), torch.tensor(y_te)
    d, c = xt.shape[1], int(yt.max()) + 1
    w1 = (torch.randn(d, hidden, generator=gen) / d**0.5).requires_grad_()  # Xavier-like
    w2 = (torch.randn(hidden, c, generator=gen) / hidden**0.5).requires_grad_()
    b1, b2 = torch.zeros(hidden, requires_grad=True), torch.zeros(c, requires_grad=True)
    opt = torch.optim.SGD([w1, b1, w2, b2], lr=lr, momentum=0.9)
    at, acc = [], []
    for s in range(steps + 1):
        if s % EVAL_EVERY == 0:
            with torch.no_grad():
                logits = torch.tanh(xe @ w1 + b1) @ w2 + b2
                good = torch.isfinite(logits).all().item()
                at.append(s)
                acc.append((logits.argmax(1) == ye).float().mean().item() if good else np.nan)
        if s == steps:
            break
        idx = torch.randint(len(xt), (batch,), generator=gen)
        loss = F.cross_entropy(torch.tanh(xt[idx] @ w1 + b1) @ w2 + b2, yt[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
    return np.array(at), np.array(acc)


def steps_to(at: np.ndarray, acc: np.ndarray, target: float) -> int | None:
    """First evaluated step whose accuracy reaches target, or None."""
    hits = np.nonzero(np.nan_to_num(acc) >= target)[0]
    return int(at[hits[0]]) if len(hits) else None


# The training comparison, trained live through the scheduler: the same small tanh net on
# digits whose pixel j is scale_j·x_j + 5 (scales spread over 30x), fed raw, centered,
# normalized and whitened (statistics from the training split). Measured for seeds 0-4
# (tests/test_claims_seeds.py): raw stays near chance (8-21 %), centered reaches 90 % at step
# 100-220, normalized at 40-80, whitened at 50-60.
TRAIN_BASE = RunConfig(
    dataset="digits", input_offset=5.0, input_spread=30.0, depth=1, width=32, activation="tanh",
    init="xavier", optimizer="momentum", lr=0.02, momentum=0.9, batch_size=64, steps=300,
    log_every=50, eval_every=10,  # telemetry: the notes' saturation of raw inputs (every 10: +5 %)
)  # fmt: skip
TARGET = 0.9  # test accuracy the comparison counts steps to


def run_configs(seed: int = 0) -> dict[str, RunConfig]:
    """The four runs of the comparison, by input kind (the page's run slots)."""
    return {kind: TRAIN_BASE.replace(preprocess=kind, seed=seed) for kind in INPUTS}


def steps_to_target(snap: Snapshot, target: float = TARGET) -> int | None:
    """The first evaluated step at which a run's test accuracy reached target, or None."""
    evals = snap.evals
    if not len(evals.get("step", ())):
        return None
    return steps_to(np.asarray(evals["step"]), np.asarray(evals["test_acc"], float), target)


# ---------------------------------------------------------------------------- PCA on digits


def explained_variance(x: np.ndarray) -> np.ndarray:
    """Cumulative share of the variance kept by the first k components, k = 1..D."""
    return np.cumsum(PCA(svd_solver="full").fit(x).explained_variance_ratio_)


def reconstructions(x_train: np.ndarray, images: np.ndarray, ks) -> np.ndarray:
    """images (M, 64) rebuilt from their first k components: (len(ks), M, 64)."""
    tf = fit(x_train, "pca")
    z = (images - tf.mean) @ tf.components.T  # (M, D) coordinates on every axis
    return np.stack([z[:, :k] @ tf.components[:k] + tf.mean for k in ks])


def accuracy_vs_k(ks, seed: int = 0, steps: int = 300, lr: float = 0.05) -> np.ndarray:
    """Final test accuracy of the small net on the first k (normalized) components."""
    x_tr, y_tr, x_te, y_te = digits_split(seed)
    z_tr, z_te, _ = fit_apply(x_tr, x_te, "pca")
    scale = z_tr[:, :1].std()  # one scale for all components: relative variances stay
    out = []
    for k in ks:
        a, b = z_tr[:, :k] / scale, z_te[:, :k] / scale
        out.append(train_mlp(a, y_tr, b, y_te, steps=steps, lr=lr, seed=seed)[1][-1])
    return np.array(out)


# ---------------------------------------------------------------------------- photos


@functools.cache
def photo_patches(size: int = PATCH) -> np.ndarray:
    """Non-overlapping size×size×3 patches of the two bundled photos, in [0, 1]: (N, s, s, 3)."""
    from sklearn.datasets import load_sample_images

    out = []
    for img in load_sample_images().images:  # (427, 640, 3) uint8 each
        h, w = (img.shape[0] // size) * size, (img.shape[1] // size) * size
        tiles = img[:h, :w].reshape(h // size, size, w // size, size, 3).swapaxes(1, 2)
        out.append(tiles.reshape(-1, size, size, 3))
    patches = np.concatenate(out).astype(np.float64) / 255.0
    patches.flags.writeable = False  # cached: shared by every caller
    return patches


@dataclass(frozen=True)
class MeanImage:
    """AlexNet's mean image against VGG's per-channel mean, and how flat the former is."""

    mean_image: np.ndarray  # (s, s, 3)
    channel_mean: np.ndarray  # (3,)
    flatness: np.ndarray  # (3,) spread of the mean image over positions / spread of the pixels
    largest_gap: float  # max |mean image - channel mean| over every position and channel


def mean_image(patches: np.ndarray) -> MeanImage:
    """The two centerings' statistics of patches (N, s, s, 3)."""
    m = patches.mean(0)
    c = patches.mean((0, 1, 2))
    flat = m.std((0, 1)) / patches.std((0, 1, 2))
    return MeanImage(m, c, flat, float(np.abs(m - c).max()))


def textured_patch(patches: np.ndarray, seed: int) -> int:
    """The patch the images view opens on: the seed's in order of pixel spread, most first
    (audit 16: patch 0 is flat sky, and its three squares showed plain colour)."""
    spread = patches.std(axis=(1, 2, 3))
    return int(np.argsort(-spread, kind="stable")[seed % len(patches)])


def centered_patch(patches: np.ndarray, index: int) -> dict[str, np.ndarray]:
    """One patch as it is, minus the mean image, and minus the per-channel mean."""
    stats = mean_image(patches)
    p = patches[index]
    return {"original": p, "mean_image": p - stats.mean_image, "channel": p - stats.channel_mean}


def noise_gains(patches: np.ndarray, eps_values, sigma: float = 0.01, seed: int = 0) -> np.ndarray:
    """How much whitening enlarges a small pixel noise, |W(x+n) - W(x)| / |n|, for each eps.

    One PCA serves every eps: only the divisor √(variance + eps) changes.
    """
    flat = patches.reshape(len(patches), -1)
    base = fit(flat, "pca")
    noise = sigma * np.random.default_rng([seed, 5]).standard_normal(flat[:64].shape)
    change = base(flat[:64] + noise) - base(flat[:64])  # linear: the rotated noise
    size = np.linalg.norm(noise, axis=1).mean()
    out = [np.linalg.norm(change * base.gains_for(e), axis=1).mean() / size for e in eps_values]
    return np.array(out)


# ---------------------------------------------------------------------------- claims
# One definition of each view's sentence (preprocessing.look_for.<view>): the engine test checks
# it for seeds 0-4, the page test on what the page computed.


def training_claim(snaps: Mapping[str, Snapshot]) -> bool:
    """Every run trained to its end; raw never reaches the target; centered does; normalized
    and whitened no later."""
    if any(s.state != "finished" or s.step != s.steps for s in snaps.values()):
        return False
    t = {kind: steps_to_target(snap) for kind, snap in snaps.items()}
    return (
        t["raw"] is None
        and t["center"] is not None
        and None not in (t["normalize"], t["whiten"])
        and max(t["normalize"], t["whiten"]) <= t["center"]
    )


# presets that train live: name -> the view they open, and the claim their sentence makes
RUN_PRESETS = {"digits": "training"}
RUN_CLAIMS = {"digits": training_claim}


def pca_claim(explained: np.ndarray, ks, acc: np.ndarray) -> bool:
    """10 components keep about 3/4 of the variance; > 90 % accuracy on 10, < 75 % on 2."""
    by_k = dict(zip(ks, acc, strict=True))
    return 0.7 < explained[9] < 0.8 and by_k[10] > 0.9 and by_k[2] < 0.75


def images_claim(stats: MeanImage) -> bool:
    """The mean image is nearly flat and close to the per-channel mean everywhere."""
    return bool(np.all(stats.flatness < 0.05)) and stats.largest_gap < 0.05
