"""Hyperparameter-search lesson: designs, sampling scales, coarse to fine, fANOVA importance."""

import numpy as np
import pytest

from bnviz.lessons import hyperparams as H


@pytest.mark.parametrize("n", [9, 25])
def test_grid_tests_sqrt_n_learning_rates_random_tests_n(n):
    grid = H.grid_design(n)
    rand = H.random_design(n, seed=0)
    assert grid.shape == rand.shape == (n, 2)
    assert len(np.unique(grid[:, 0])) == int(np.sqrt(n))
    assert len(np.unique(rand[:, 0])) == n
    lo, hi = H.LR_RANGE
    assert (rand[:, 0] >= lo).all() and (rand[:, 0] <= hi).all()
    with pytest.raises(ValueError, match="square"):
        H.grid_design(10)


def test_uniform_lr_puts_about_90_percent_in_the_top_decade_log_spreads_evenly():
    for seed in range(5):
        lin = H.decade_shares(H.lr_samples(4000, seed, "linear"))
        log = H.decade_shares(H.lr_samples(4000, seed, "log"))
        assert lin[-1] > 0.88 and lin[:2].sum() < 0.02
        np.testing.assert_allclose(log, 0.25, atol=0.03)
    np.testing.assert_allclose(H.expected_decade_shares("linear")[-1], 0.9 / 0.9999, rtol=1e-9)
    np.testing.assert_allclose(H.expected_decade_shares("log"), 0.25)


def test_momentum_sampled_through_one_minus_beta_and_its_window():
    beta = H.momentum_samples(3000, seed=0)
    assert beta.min() >= 0.9 and beta.max() <= 0.999
    # as many in [0.9, 0.99] as in [0.99, 0.999]: each is one decade of 1 − β
    assert abs((beta < 0.99).mean() - 0.5) < 0.05
    w = H.averaging_window([0.9, 0.9005, 0.999, 0.9995])
    assert w[1] / w[0] == pytest.approx(1.005, rel=1e-3)  # +0.5 %
    assert w[3] / w[2] == pytest.approx(2.0, rel=1e-9)  # doubled


def test_coarse_to_fine_box_surrounds_the_best_trials_and_is_smaller():
    pts = H.random_design(25, seed=1)
    score = (np.log10(pts[:, 0]) + 2) ** 2  # best lr = 0.01; the second axis irrelevant
    score[0] = np.nan  # a diverged trial is never picked
    lo, hi = H.coarse_to_fine(pts, score, best=3)
    best = pts[np.argsort(np.nan_to_num(score, nan=np.inf))[:3]]
    assert (best >= lo).all() and (best <= hi).all()
    assert np.log10(hi[0] / lo[0]) < np.log10(H.LR_RANGE[1] / H.LR_RANGE[0])
    fine = H.sample_box(lo, hi, 50, seed=0)
    assert (fine >= lo).all() and (fine <= hi).all()


def test_fanova_finds_the_parameter_that_matters():
    rng = np.random.default_rng(0)
    params = {"lr": 10 ** rng.uniform(-4, 0, 60), "adam_eps": 10 ** rng.uniform(-10, -6, 60)}
    values = (np.log10(params["lr"]) + 2) ** 2 + 0.01 * rng.standard_normal(60)
    values[3] = np.nan
    imp = H.importance(params, values, seed=0)
    assert list(imp) == ["lr", "adam_eps"] and imp["lr"] > 0.9
    assert sum(imp.values()) == pytest.approx(1.0)
    assert H.notes_tier("lr") == 0 and H.notes_tier("adam_eps") == 3 and H.notes_tier("x") == 4


def test_lr_scale_grid_and_good_share():
    changes = H.lr_scale_grid([0.01, 0.1], [0.5, 1.0, 2.0])
    assert len(changes) == 6 and changes[1] == {"lr": 0.1, "init": "scaled", "init_scale": 0.5}
    assert H.good_share(np.array([0.95, np.nan, 0.5, 0.9])) == (2, 4)


def test_importance_of_a_real_random_sweep_ranks_every_parameter():
    from bnviz.config import RunConfig
    from bnviz.sweep import train_sweep

    base = RunConfig(dataset="moons", n_samples=300, depth=2, width=8, optimizer="momentum",
                     steps=40, eval_every=40)  # fmt: skip
    changes = H.random_sweep_changes(24, seed=0)
    assert {c["batch_size"] for c in changes} <= set(H.BATCH_SIZES)
    betas = np.array([c["momentum"] for c in changes])
    assert betas.min() >= 0.9 and betas.max() <= 0.999
    result = train_sweep(base, changes)
    imp = H.sweep_importance(result.configs, result.final_loss)
    assert set(imp) == set(H.IMPORTANCE_PARAMS)
    assert sum(imp.values()) == pytest.approx(1.0)


@pytest.mark.parametrize("trials", [9, 25])
def test_view_1_is_repeated_on_consecutive_seeds_in_two_sweeps_within_the_caps(trials):
    from bnviz.lessons import hyperparams_views as V
    from bnviz.sweep import MAX_MODELS

    s = V.DEFAULT.replace(trials=trials, seed=7)
    specs = V.specs("grid", s)
    assert set(specs) == {"sweep", "repeats1", "repeats2"}
    n = V.REPEATS[trials]
    configs = [c for k in ("repeats1", "repeats2") for c in specs[k].configs()]
    assert len(configs) == 2 * trials * n and all(len(specs[k].configs()) <= MAX_MODELS
                                                  for k in specs)  # fmt: skip
    assert [c.seed for c in configs[:: 2 * trials]] == list(range(7, 7 + n))
    assert configs[: 2 * trials] == list(specs["sweep"].configs())  # the first seed: view 1's
    grid_lrs = {c.lr for i, c in enumerate(configs) if i % (2 * trials) < trials}
    rand_lrs = [c.lr for i, c in enumerate(configs) if i % (2 * trials) >= trials]
    assert len(grid_lrs) == np.sqrt(trials) and len(set(rand_lrs)) == trials * n  # redrawn
    big = V.specs("grid", s.replace(steps=20_000))  # 50 x 20k fits, the repeats do not
    assert set(big) == {"sweep"}


def test_repeat_tally_counts_seeds_where_random_finds_the_lower_loss():
    from types import SimpleNamespace

    from bnviz.config import RunConfig
    from bnviz.lessons import hyperparams_views as V

    lrs = [0.01, 0.1, 1.0, 0.02, 0.3, 0.5]  # per seed: a grid of 3, then 3 random trials
    configs = [RunConfig(seed=s, lr=lr) for s in (0, 1, 2) for lr in lrs]
    loss = np.array(
        [
            [0.5, 0.2, 0.1, 0.3, 0.05, 0.4],  # random wins; grid best at its top
            [0.5, 0.1, 0.2, 0.3, 0.2, np.nan],  # grid wins (best: 0.1, not top)
            [np.nan, np.nan, np.nan, 0.9, 1.0, 2.0],
        ]
    )  # grid diverged: random wins
    snap = SimpleNamespace(configs=configs, final_loss=loss.ravel())  # fmt: skip
    assert V.repeat_tally([snap]) == (2, 1, 3)
    assert V.repeat_tally([snap, snap]) == (4, 2, 6)
    assert [V.repeat_verdict(w, 20) for w in (4, 5, 15, 16)] == ["grid", "even", "even", "random"]


def test_a_sweep_s_configs_and_key_are_made_once_per_view_and_settings():
    """A page run of the lesson asked 15 times for its three sweeps' configs and keys (630
    validated configs each time: 1.0 s of the page's first 1.2 s) and made the sweeps anew on
    every run. Now each is made once; the page gets a copy of the view's sweeps (it adds
    round 2), and a spec with its memo is still equal to, hashes and pickles as, a fresh one."""
    import pickle

    from bnviz.lessons import hyperparams_views as V
    from bnviz.sweep import SweepSpec

    cfg = V.DEFAULT.replace(seed=3)
    first = V.specs("grid", cfg)
    spec = first["sweep"]
    assert spec.configs() is spec.configs() and spec.key() is spec.key()
    first["round2"] = spec
    again = V.specs("grid", cfg)
    assert again["sweep"] is spec and "round2" not in again
    fresh = SweepSpec(spec.base, spec.changes, spec.steps)
    assert fresh == spec and hash(fresh) == hash(spec) and fresh.key() == spec.key()
    assert pickle.loads(pickle.dumps(spec)) == spec
    bare = SweepSpec(spec.base, spec.changes, spec.steps)
    bare.__dict__.pop("_configs")  # as made before: pickled without the memo, no bigger
    assert len(pickle.dumps(spec)) == len(pickle.dumps(bare))
    assert pickle.loads(pickle.dumps(spec)).key() == spec.key()
