"""Every preset sentence of the hyperparameter page holds for seeds 0-4 (the page's own sweeps,
trained in the test's thread with train_sweep; model i is the scheduler's model i).

The BN-grid claim (72 six-layer models a seed) takes ~2 s a seed since the sweep engine writes
its backward pass by hand (~100 s before); bench/bn_grid.py prints its counts.
"""

import numpy as np
import pytest

from bnviz.lessons import hyperparams_views as V
from bnviz.sweep import train_sweep


class Done:
    """A finished sweep shaped like the scheduler's snapshot (what the claims read)."""

    def __init__(self, spec, train: bool = True):
        self.configs, self.steps = spec.configs(), spec.steps
        if not train:  # a claim about where the trials are drawn needs no training
            return
        r = trained(spec)
        self.configs, self.steps = r.configs, spec.steps
        self.final_loss, self.final_acc = r.final_loss, r.final_acc
        self.train_loss, self.test_acc = r.train_loss, r.test_acc


_TRAINED: dict[str, object] = {}


def trained(spec):
    """train_sweep's result for a spec, trained once in this process: two tests read the same
    sweeps (the repeats at 9 trials, the what-matters preset), each pair in one xdist group."""
    key = repr(spec)
    if key not in _TRAINED:
        _TRAINED[key] = train_sweep(spec.base, [dict(c) for c in spec.changes], spec.steps)
    return _TRAINED[key]


PRESETS = list(V.CLAIMS)
SHARED = {"what_matters": "hp_what_matters"}  # preset -> the xdist group of its readers


@pytest.mark.parametrize(
    "preset",
    [
        pytest.param(p, marks=pytest.mark.xdist_group(SHARED[p])) if p in SHARED else p
        for p in PRESETS
    ],
)
def test_preset_claim_holds_for_seeds_0_to_4(preset):
    values = {k: v for k, v in V.PRESETS[preset].items() if k != "view"}
    for seed in range(5):
        cfg = V.DEFAULT.replace(**values, seed=seed)
        spec = V.specs(V.PRESETS[preset]["view"], cfg)["sweep"]
        snap = Done(spec, train=preset != "log_scale")  # its claim is about the draws only
        assert V.CLAIMS[preset](snap), (preset, seed)


def test_zoom_claim_holds_for_seeds_0_to_4():
    for seed in range(5):
        cfg = V.DEFAULT.replace(seed=seed)
        first = Done(V.specs("coarse", cfg)["round1"])
        spec, (lo, hi) = V.fine_spec(first, cfg)
        second = Done(spec)
        assert V.claim_coarse(first, second), seed
        lr = np.array([c.lr for c in second.configs])
        assert (lr >= lo[0] * (1 - 1e-6)).all() and (lr <= hi[0] * (1 + 1e-6)).all()
        # a zoom stays inside the first round's box (audit 33: seed 0 sampled lr 1.6, scale 22)
        wide_lo, wide_hi = V.WIDE_BOX
        assert (lo >= np.array(wide_lo) * (1 - 1e-9)).all(), (seed, lo)
        assert (hi <= np.array(wide_hi) * (1 + 1e-9)).all(), (seed, hi)


def test_latest_is_the_final_value_once_finished():
    snap = Done(V.specs("grid", V.DEFAULT.replace(steps=20))["sweep"])
    np.testing.assert_array_equal(V.latest(snap), snap.train_loss[:, -1])
    np.testing.assert_allclose(V.latest(snap), snap.final_loss, rtol=1e-6)
    assert V.best(np.array([np.nan, 0.3, 0.1])) == 2


@pytest.mark.parametrize(
    "trials", [pytest.param(9, marks=pytest.mark.xdist_group("hp_repeats")), 25]
)
def test_repeats_claim_holds_for_seeds_0_to_4(trials):
    """Random finds the lower loss on 25-75 % of the repeat seeds; the grid's best is 1.0."""
    for seed in range(5):
        cfg = V.DEFAULT.replace(trials=trials, seed=seed)
        snaps = [Done(spec) for spec in V.repeat_specs(cfg).values()]
        assert V.claim_repeats(snaps), (trials, seed, V.repeat_tally(snaps))


@pytest.mark.xdist_group("hp_repeats")
def test_the_prose_count_of_random_wins_and_the_good_rates_are_the_measured_ones():
    """'random ahead on only about half of them: 6–13 of 20 (seeds 0–4)': 9 trials, engine
    level. The count moves with the matmul library's last-bit rounding (7-9, 6-7 and with
    MKL_CBWR=COMPATIBLE 10-13 on two machines), so the test allows the sentence's range."""
    from bnviz.i18n import lesson_text

    for lang in ("en", "zh"):
        share = {"en": "95 %", "zh": "95%"}[lang]  # "至少 95% 的模型": a share of the models
        assert all(n in lesson_text("hyperparams", lang) for n in ("6–13", "0.02", share, "0.9"))
    for seed in range(5):
        cfg = V.DEFAULT.replace(trials=9, seed=seed)
        snaps = [Done(s) for s in V.repeat_specs(cfg).values()]
        wins, _, total = V.repeat_tally(snaps)
        assert total == 20 and 6 <= wins <= 13, (seed, wins)
        # "learning rates from about 0.02 up to 1.0 nearly all train well (test accuracy above
        # 0.9 for at least 95 % of the models at those rates)": measured 98-99 %, the lowest
        # 0.81-0.85 (view 1's sweep is the first seed's models here)
        lr = np.concatenate([[c.lr for c in s.configs] for s in snaps])
        acc = np.concatenate([s.final_acc for s in snaps])[lr >= 0.02]
        assert len(acc) > 100 and (acc > 0.9).mean() >= 0.95, (seed, np.sort(acc)[:5])


@pytest.mark.xdist_group("hp_what_matters")
def test_importance_ranks_the_learning_rate_first_on_most_seeds():
    """hyperparams.preset.what_matters_what: "first on most seeds" (3 of seeds 0-4 at least;
    every seed's share is CLAIMS["what_matters"])."""
    values = {k: v for k, v in V.PRESETS["what_matters"].items() if k != "view"}
    first = 0
    for seed in range(5):
        cfg = V.DEFAULT.replace(**values, seed=seed)
        snap = Done(V.specs(V.PRESETS["what_matters"]["view"], cfg)["sweep"])
        first += next(iter(V.importance_of(snap))) == "lr"
    assert first >= 3, first
