"""Preprocessing: center/normalize/PCA/whiten against independent numpy and sklearn oracles."""

import numpy as np
import pytest
import torch
from sklearn.preprocessing import StandardScaler

from bnviz.lessons import preprocessing as P
from bnviz.lessons import preprocessing_data as D

SEEDS = range(5)


def data(seed=0, n=400, d=5):
    """Correlated, offset, unequally scaled features: every transform has work to do."""
    rng = np.random.default_rng(seed)
    mix = rng.standard_normal((d, d)) * np.geomspace(0.1, 10, d)
    return rng.standard_normal((n, d)) @ mix + rng.uniform(-20, 20, d)


def cov(z):
    return np.cov(z, rowvar=False, bias=True)


def eig_desc(x):
    """Independent PCA: eigenvalues (descending) and eigenvectors (columns) of the covariance."""
    lam, vec = np.linalg.eigh(cov(x))
    return lam[::-1], vec[:, ::-1]


# ---------------------------------------------------------------------------- the four kinds


@pytest.mark.parametrize("seed", SEEDS)
def test_whitened_training_covariance_is_the_identity(seed):
    x = data(seed)
    z = P.preprocess(x, "whiten", eps=0.0)
    np.testing.assert_allclose(cov(z), np.eye(x.shape[1]), atol=1e-6)
    np.testing.assert_allclose(z.mean(0), 0, atol=1e-9)


def test_eps_shrinks_each_whitened_variance_to_lambda_over_lambda_plus_eps():
    x, eps = data(), 0.5
    lam, _ = eig_desc(x)
    np.testing.assert_allclose(np.diag(cov(P.preprocess(x, "whiten", eps))), lam / (lam + eps))


@pytest.mark.parametrize("seed", SEEDS)
def test_pca_covariance_is_diagonal_sorted_and_the_eigenvalues(seed):
    x = data(seed)
    c = cov(P.preprocess(x, "pca"))
    lam, vec = eig_desc(x)
    np.testing.assert_allclose(c - np.diag(np.diag(c)), 0, atol=1e-8 * lam[0])
    assert np.all(np.diff(np.diag(c)) <= 0)
    np.testing.assert_allclose(np.diag(c), lam, rtol=1e-8)
    # the axes are the eigenvectors (up to sign): |cos| = 1
    axes = P.fit(x, "pca").components
    np.testing.assert_allclose(np.abs(np.sum(axes * vec.T, axis=1)), 1, atol=1e-8)


def test_normalize_matches_sklearns_standard_scaler_and_has_unit_variance():
    x = data()
    z = P.preprocess(x, "normalize")
    np.testing.assert_allclose(z, StandardScaler().fit_transform(x), atol=1e-10)
    np.testing.assert_allclose(z.var(0), 1, atol=1e-10)


def test_center_only_moves_the_mean():
    x = data()
    z = P.preprocess(x, "center")
    np.testing.assert_allclose(z.mean(0), 0, atol=1e-9)
    np.testing.assert_allclose(cov(z), cov(x), rtol=1e-10)


@pytest.mark.parametrize("kind", P.KINDS)
def test_the_test_split_is_transformed_with_the_training_statistics(kind):
    x = data(n=600)
    x_tr, x_te = x[:400], x[400:] + 3.0  # a shifted test split: refitting would hide it
    _, z_te, _ = P.fit_apply(x_tr, x_te, kind, eps=1e-3)
    m, s = x_tr.mean(0), x_tr.std(0)
    lam, vec = eig_desc(x_tr)
    sign = np.sign(np.sum(P.fit(x_tr, "pca").components * vec.T, axis=1))
    expected = {
        "center": x_te - m,
        "normalize": (x_te - m) / s,
        "pca": (x_te - m) @ vec * sign,
        "whiten": (x_te - m) @ vec * sign / np.sqrt(lam + 1e-3),
    }[kind]
    np.testing.assert_allclose(z_te, expected, rtol=1e-7, atol=1e-7)
    assert np.abs(z_te.mean(0)).max() > 0.1  # not re-centered on its own statistics


def test_unknown_kind_is_refused():
    with pytest.raises(ValueError, match="kind"):
        P.preprocess(data(), "zca")


# ---------------------------------------------------------------------------- 2-D picture and bowls


def test_panels_show_the_lecture_figure_covariances():
    cfg = P.CloudConfig(eps=0.0)
    pan = {p.kind: p for p in P.panels(cfg)}
    assert list(pan) == list(P.PANELS)
    np.testing.assert_allclose(pan["original"].mean, [cfg.offset_x, cfg.offset_y], atol=0.3)
    np.testing.assert_allclose(pan["center"].cov, pan["original"].cov)
    np.testing.assert_allclose(np.diag(pan["normalize"].cov), 1)
    assert abs(pan["pca"].cov[0, 1]) < 1e-9
    np.testing.assert_allclose(pan["whiten"].cov, np.eye(2), atol=1e-9)


@pytest.mark.parametrize("seed", SEEDS)
def test_presets_hold(seed):
    """The preset sentences in preprocessing.toml."""
    bowl = {n: P.contour_problems(P.preset(n).replace(seed=seed)) for n in P.PRESETS}
    kappa = {n: {k: P.bowl_shape(p)[0] for k, p in b.items()} for n, b in bowl.items()}
    # offset only: the raw bowl is stretched > 100:1, centering alone makes it round
    assert kappa["offset_only"]["original"] > 100 and kappa["offset_only"]["center"] < 1.3
    # lecture: centering leaves the correlation's stretch; only whitening rounds the bowl
    assert kappa["lecture"]["center"] > 20 and kappa["lecture"]["whiten"] < 1.01
    # collinear: centering changes nothing, whitening rounds it with a > 5x gain on the quiet axis
    col = kappa["collinear"]
    assert abs(col["center"] / col["original"] - 1) < 0.02 and col["whiten"] < 1.01
    gains = P.fit(P.cloud(P.preset("collinear").replace(seed=seed)), "whiten").gains()
    assert gains[-1] / gains[0] > 5
    # gradient descent at each bowl's best fixed rate, from w = 0
    steps = {n: {k: P.descend(p).steps_to_converge for k, p in b.items()} for n, b in bowl.items()}
    assert steps["offset_only"]["original"] > 100 and steps["offset_only"]["center"] <= 2
    assert all(s["whiten"] == 1 for s in steps.values())
    for name in P.PRESETS:  # the same claims as one function each (the page test uses them)
        assert P.CLAIMS[name](P.preset(name).replace(seed=seed)), name
    assert not P.CLAIMS["offset_only"](P.preset("lecture").replace(seed=seed))  # can fail
    assert not P.CLAIMS["lecture"](P.preset("offset_only").replace(seed=seed))


def test_descend_uses_the_best_fixed_rate_and_one_step_on_a_round_bowl():
    p = P.contour_problems(P.CloudConfig())["whiten"]
    path = P.descend(p, steps=3)
    lam = np.linalg.eigvalsh(p.hessian)
    assert path.lr == pytest.approx(2 / (lam[0] + lam[1]))
    np.testing.assert_allclose(path.weights[1], np.linalg.solve(p.hessian, p.b), atol=1e-3)


# ---------------------------------------------------------------------------- real data


@pytest.mark.parametrize("seed", SEEDS)
def test_ten_components_of_digits_are_enough(seed):
    torch.set_num_threads(1)
    acc = D.accuracy_vs_k([2, 10], seed=seed)
    assert acc[0] < 0.75 and acc[1] > 0.9
    explained = D.explained_variance(D.digits_split(seed)[0])  # the page's: the training split
    assert D.pca_claim(explained, [2, 10], acc)
    assert not D.pca_claim(explained, [2, 10], acc[::-1])


def test_pca_on_digits_explained_variance_and_reconstruction():
    x, _ = D.digits()
    ev = D.explained_variance(x)
    assert np.all(np.diff(ev) >= -1e-12) and abs(ev[-1] - 1) < 1e-9
    assert 0.7 < ev[9] < 0.8  # 10 of 64 components keep ~3/4 of the variance
    rec = D.reconstructions(x, x[:5], [1, 10, 64])
    err = np.abs(rec - x[:5]).mean((1, 2))
    assert err[0] > err[1] > err[2] and err[2] < 1e-9


def test_the_mean_image_of_photos_is_nearly_flat():
    p = D.photo_patches()
    assert p.shape == (520, 32, 32, 3)
    m = D.mean_image(p)
    np.testing.assert_allclose(m.channel_mean, p.reshape(-1, 3).mean(0))
    assert np.all(m.flatness < 0.05) and m.largest_gap < 0.05
    assert D.images_claim(m)
    c = D.centered_patch(p, 0)
    np.testing.assert_allclose(
        c["original"] - c["channel"], np.broadcast_to(m.channel_mean, c["channel"].shape)
    )


def test_whitening_amplifies_noise_less_with_a_larger_eps():
    """The noise sentence in preprocessing.toml: ~80x at eps 1e-5, ~3x at eps 0.1."""
    p = D.photo_patches(8)
    gains = D.noise_gains(p, (1e-5, 1e-3, 1e-1))
    whiten = P.fit(p[::8].reshape(-1, 192), "whiten", 1e-3)  # the same, the long way
    flat = p[::8].reshape(-1, 192)[:64]
    noise = 0.01 * np.random.default_rng([0, 5]).standard_normal(flat.shape)
    direct = np.linalg.norm(whiten(flat + noise) - whiten(flat), axis=1).mean()
    assert D.noise_gains(p[::8], [1e-3])[0] == pytest.approx(
        direct / np.linalg.norm(noise, axis=1).mean(), rel=1e-9
    )
    assert gains[0] > gains[1] > gains[2]
    assert 60 < gains[0] < 110 and 2 < gains[2] < 4.5


# ---------------------------------------------------------------------------- a run's inputs


def test_a_runs_inputs_are_distorted_then_preprocessed_with_training_statistics():
    from bnviz.config import RunConfig
    from bnviz.datasets import WHITEN_EPS, distort, make_dataset

    base = RunConfig(dataset="digits", input_offset=5.0, input_spread=30.0, seed=3)
    raw = make_dataset(base.replace(preprocess="raw"))
    plain = make_dataset(RunConfig(dataset="digits", standardize=False, seed=3))
    # the same split; each pixel j is scale_j·x_j + 5 with scales over a 30-fold range
    seen = plain.x_train.max(0) > 0  # pixels that are ever inked
    top = plain.x_train.argmax(0)
    cols = np.arange(64)
    scales = (raw.x_train[top, cols] - 5.0)[seen] / plain.x_train[top, cols][seen]
    np.testing.assert_allclose(raw.x_train[:, seen] - 5.0, plain.x_train[:, seen] * scales,
                               rtol=1e-4, atol=1e-4)  # fmt: skip
    assert 10 < scales.max() / scales.min() <= 30
    np.testing.assert_allclose(raw.x_train, distort(plain.x_train, 5.0, 30.0, 3), rtol=1e-5)
    x_tr, x_te = raw.x_train.astype(np.float64), raw.x_test.astype(np.float64)
    for kind in ("center", "whiten"):
        data = make_dataset(base.replace(preprocess=kind))
        mean = x_tr.mean(0)
        if kind == "center":
            np.testing.assert_allclose(data.x_test, x_te - mean, atol=1e-4)  # training mean
        else:  # the independent oracle: eigenvectors of the training covariance
            lam, vec = eig_desc(x_tr)
            expect = (x_te - mean) @ vec / np.sqrt(lam + WHITEN_EPS)
            np.testing.assert_allclose(np.abs(data.x_test), np.abs(expect), atol=2e-3)
            c = cov(data.x_train.astype(np.float64))
            np.testing.assert_allclose(c, np.diag(lam / (lam + WHITEN_EPS)), atol=1e-4)
    normalize = make_dataset(base.replace(preprocess="normalize"))
    standard = make_dataset(base)  # standardize=True says the same: the same numbers
    np.testing.assert_array_equal(normalize.x_train, standard.x_train)


def test_default_inputs_are_unchanged_by_the_new_settings():
    from bnviz.config import RunConfig
    from bnviz.datasets import _digits, make_dataset, split, standardize

    for cfg in (RunConfig(), RunConfig(dataset="digits", seed=2)):
        got = make_dataset(cfg)
        rng = np.random.default_rng([cfg.seed, 7])
        if cfg.dataset == "digits":
            x, y = _digits()
        else:
            from bnviz.datasets import spirals

            x, y = spirals(cfg.n_samples, cfg.noise, rng)
        x_tr, _, x_te, _ = split(np.asarray(x, np.float32), np.asarray(y), 0.25, rng)
        want = standardize(x_tr, x_te)
        np.testing.assert_array_equal(got.x_train, want[0])
        np.testing.assert_array_equal(got.x_test, want[1])
