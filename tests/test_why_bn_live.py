"""Why-BN live views: the injected BN noise option, and each claim over seeds 0-4.

The seed sweeps train small nets (150-600 steps); together they take ~2-3 min on a busy box.
"""

import numpy as np
import pytest
import torch

from bnviz.config import RunConfig
from bnviz.i18n import t
from bnviz.lessons import why_bn_layers as layers
from bnviz.lessons import why_bn_live as live
from bnviz.nets import BNNoise, build_mlp
from bnviz.runner import train_sync
from bnviz.stepper import Stepper
from bnviz.train import Trainer

SEEDS = range(5)

# ---------------------------------------------------------------------------- the noise option


def test_bn_noise_is_seeded_time_varying_and_off_in_eval():
    cfg = RunConfig(depth=2, width=8, norm="batchnorm", bn_noise=0.5, seed=3)
    x = torch.randn(16, 2, generator=torch.Generator().manual_seed(0))
    a, b = build_mlp(cfg), build_mlp(cfg)
    assert isinstance(a.blocks[0].noise, BNNoise)
    first = a(x)
    assert torch.equal(first, b(x))  # same seed, same noise
    assert not torch.allclose(first, a(x))  # redrawn every forward
    fresh, clean = build_mlp(cfg).eval(), build_mlp(cfg.replace(bn_noise=0.0)).eval()
    assert torch.equal(fresh(x), clean(x))  # eval: no noise, same weights and buffers


def test_bn_noise_is_reset_without_bn_and_absent_when_zero():
    assert RunConfig(bn_noise=0.7).canonical().bn_noise == 0.0
    assert RunConfig(norm="batchnorm", bn_noise=0.7).canonical().bn_noise == 0.7
    assert build_mlp(RunConfig(norm="batchnorm")).blocks[0].noise is None


def test_bn_noise_statistics_match_the_stated_ranges():
    gen = torch.Generator().manual_seed(0)
    noise = BNNoise(0.5, gen)
    state = gen.get_state()
    shift = noise(torch.zeros(4, 1000))  # z = 0: the output is the shift alone
    gen.set_state(state)
    scale = noise(torch.ones(4, 1000)) - shift  # the same draw on z = 1
    assert torch.equal(shift[0], shift[3])  # one draw per unit, shared by the batch
    assert shift.abs().max() <= 0.5 and shift[0].std() > 0.25
    assert scale.min() >= np.exp(-0.5) - 1e-6 and scale.max() <= np.exp(0.5) + 1e-6
    assert scale[0].std() > 0.2


# ---------------------------------------------------------------------------- claims


@pytest.fixture(scope="module")
def trios():
    return [live.train_trio(live.BASE.replace(seed=s), live.NOISE) for s in SEEDS]


def test_noise_claim_bn_with_noise_trains_about_as_well_as_bn(trios):
    """ "≥ 0.97, within 0.03 of BN, on seeds 0-4; on some machines one seed falls to 0.86"."""
    assert sum(live.noise_trains_as_well(snaps) for snaps in trios) >= 4
    for snaps in trios:
        acc = {k: live.final_acc(s) for k, s in snaps.items()}
        assert acc["bn"] >= 0.97 and acc["bn_noise"] >= live.NOISE_WORST
        assert acc["plain"] <= acc["bn"] and acc["plain"] > 0.45  # "without BN 0.49-1.0"
    plain = np.mean([live.final_acc(t["plain"]) for t in trios])
    assert plain < 0.9 and sum(live.final_acc(t["plain"]) < live.AT_CHANCE for t in trios) >= 1


def test_live_trio_claims_hold_on_the_pages_runs_over_seeds():
    steadier = 0
    for s in SEEDS:  # the page's configs: BASE with telemetry every 10 steps (~1 s per seed)
        snaps = live.train_trio(live.LIVE.replace(seed=s))
        assert live.noise_claim(snaps) and live.shift_claim(snaps), s
        moves = {k: np.median(live.input_movement(v)["move"]) for k, v in snaps.items()}
        assert 1.5 * moves["bn"] < moves["bn_noise"] < 7.5 * moves["bn"]  # "1.5 to 7.5x"
        steadier += moves["plain"] > 10 * moves["bn"]
    assert steadier >= 2  # "over 10x less, except on the 1-3 seeds whose net saturates"
    swapped = dict(snaps, bn=snaps["plain"], plain=snaps["bn"])
    assert not live.noise_claim(swapped) and not live.shift_claim(swapped)


def test_input_movement_is_the_mean_quantile_change_per_step():
    snap = live.train_trio(live.LIVE.replace(steps=40))["plain"]
    m = live.input_movement(snap)
    from bnviz.telemetry import Q15, Q50, Q85

    q = snap.telemetry["pre_q"][:, -1][:, [Q15, Q50, Q85]]
    assert np.allclose(m["move"][0], np.abs(q[1] - q[0]).mean() / 10)
    assert len(m["step"]) == len(q) - 1 and m["q_step"][0] == 0


@pytest.fixture(scope="module")
def shifts():
    return [live.covariate_shift(live.BASE.replace(seed=s), steps=150, every=10) for s in SEEDS]


def test_shift_claim_bn_steadies_the_deep_input_and_noise_unsteadies_it(shifts):
    """The text's per-unit numbers, through per_unit_ratios: what the view's box shows."""
    for r in shifts:
        med = {k: {m: float(np.median(v)) for m, v in d.items()} for k, d in r.items()}
        said = live.per_unit_ratios(r)
        # "8 to 27 times more": 8.2-26.5 under four rounding modes (8.2: scalar kernels)
        assert 8 <= said["noise_more"] < 27.5
        assert med["bn_noise"]["std_shift"] > med["plain"]["std_shift"]
        assert med["bn"]["first_layer_effect"] < 0.03
    moving = [said for said in map(live.per_unit_ratios, shifts) if said["moving"]]
    assert len(moving) >= 2  # on 1-3 seeds the no-BN net saturates and stops moving at all
    for said in moving:
        # "its mean moves 4 to 31 times less" where the net without BN trains (which seeds
        # that is varies with the rounding mode: 4.3-31.0 under four)
        assert 4 <= said["mean_less"] < 31.5
    effects = [said["effect_less"] for said in moving]
    assert sum(x > 10 for x in effects) >= len(effects) - 1  # "10x or more, on all but one"


@pytest.mark.parametrize("name", ["plain", "bn", "bn_noise"])
def test_the_smoothness_metric_never_changes_the_training(name):
    """A run paying for the metric has the losses and accuracies of the same run without it."""
    cfg = live.noise_trio(live.SMOOTH.replace(steps=80, eval_every=10, seed=1))[name]
    paid, bare = train_sync(cfg), train_sync(cfg.replace(metrics=()))
    assert np.array_equal(paid.losses["loss"], bare.losses["loss"]) and len(bare.losses["loss"])
    assert np.array_equal(paid.evals["test_acc"], bare.evals["test_acc"])
    assert len(paid.evals["smooth_beta_eff"]) == 9 and "smooth_beta_eff" not in bare.evals


def test_the_smoothness_metric_is_fig4_at_each_evaluation_on_the_probe_batch():
    """Each evaluation's row equals smoothness() of a separate Trainer stopped at that step."""
    cfg = live.SMOOTH.replace(norm="batchnorm", steps=50, eval_every=25, seed=2)
    rows = live.smoothness_rows(train_sync(cfg))
    assert list(rows["step"]) == [0, 25, 50]
    tr = Trainer(cfg.replace(metrics=()))
    for i, s in enumerate(rows["step"]):
        while tr.step_count < s:
            tr.step()
        want = live.smoothness(tr.model, *live.probe_batch(tr), lr=tr.lr)
        for key in live.SMOOTH_KEYS:
            assert rows[key][i] == pytest.approx(want[key], rel=1e-5), (s, key)
    assert rows["loss_range"][0] > 0 and np.all(rows["loss_max"] >= rows["loss_min"])


def test_smoothness_rows_are_empty_before_the_first_evaluation_and_without_the_metric():
    for cfg in (live.SMOOTH.replace(norm="batchnorm", steps=1), live.BASE.replace(steps=1)):
        rows = live.smoothness_rows(Stepper("x", cfg).snapshot())
        assert set(rows) == {"step", *live.SMOOTH_KEYS} and not any(map(len, rows.values()))


def test_smoothness_leaves_the_model_untouched_and_is_zero_change_at_a_flat_point():
    model = build_mlp(RunConfig(depth=2, width=8, norm="batchnorm"))
    x = torch.randn(32, 2, generator=torch.Generator().manual_seed(1))
    y = (x[:, 0] > 0).long()
    before = [t.clone() for t in model.state_dict().values()]
    out = live.smoothness(model, x, y, lr=0.1)
    assert all(torch.equal(a, b) for a, b in zip(before, model.state_dict().values(), strict=True))
    assert out["loss_max"] >= out["loss_min"] and out["beta_eff"] > 0
    assert set(out) == {"loss_min", "loss_max", "loss_range", "grad_change", "beta_eff"}


def test_lower_claim_linear_lower_layers_do_nothing_tanh_ones_do():
    for s in SEEDS:
        cfg = layers.LOWER_BASE.replace(seed=s)
        lin = [layers.lower_layers("linear", f, cfg) for f in (False, True)]
        tanh = [layers.lower_layers("tanh", f, cfg) for f in (False, True)]
        assert lin[0]["lower_change"] > 0.1 and lin[1]["lower_change"] == 0.0
        assert abs(lin[0]["test_acc"] - lin[1]["test_acc"]) <= 0.03
        assert all(0.5 <= r["test_acc"] <= 0.63 for r in lin)  # "0.5–0.63 on the spirals"
        assert all(r["test_acc"] > 0.85 for r in tanh)
        rows = {("linear", f): lin[f] for f in (0, 1)} | {("tanh", f): tanh[f] for f in (0, 1)}
        assert layers.lower_claim({(a, bool(f)): r for (a, f), r in rows.items()}), s


def test_outside_share_is_what_bn_outputs_in_training_and_leaves_the_net_as_it_was():
    tr = Trainer(layers.GAMMA_BASE.replace(norm="batchnorm", activation="sigmoid"))
    tr.model.eval()
    before = {k: v.clone() for k, v in tr.model.state_dict().items()}
    share = layers._outside_share(tr)
    assert not tr.model.training
    after = tr.model.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)
    assert np.all(share > 0.03)  # every layer, with the batch's statistics


def test_gamma_beta_claim_sigmoid_units_leave_the_linear_region():
    for s in SEEDS:
        r = layers.gamma_beta(layers.GAMMA_BASE.replace(seed=s))
        # BN's outputs at initialization, normalized by the batch: near a normal's 4.6 % in
        # every layer (eval mode's starting running statistics read 0 % in layers 2 and 3)
        assert np.all(r["outside_init"] > 0.03) and np.all(r["outside_init"] < 0.05)
        assert np.all(r["outside_trained"] > 0.15) and np.all(r["outside_trained"] < 0.55)
        assert np.all(np.abs(r["gamma"]).mean(1) > 1.2)
        assert layers.gamma_claim(r), s


def test_bias_claim_bias_before_bn_gets_no_gradient():
    for s in SEEDS:
        r = layers.bias_gradient(seed=s)
        assert r["bias_grad"].max() < 1e-12 * r["weight_grad"].min()
        assert r["weight_grad"].min() > 1e-4
        assert r["bias_moved"] < 1e-12  # "and it moves by" (the paragraph under the chart)
    torch.manual_seed(123)  # the global RNG's state changes nothing: one seed, one chart
    again = layers.bias_gradient(seed=SEEDS[-1])
    np.testing.assert_array_equal(again["weight_grad"], r["weight_grad"])


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_the_live_charts_before_their_first_measurement_say_they_wait(lang):
    """Audit 21: paused at step 2, the covariate-shift view's two charts were empty axes (0 to
    6; a log axis to 10^4) under status lines saying "step 2": they now say what they wait for,
    and stop saying it once there is a point (one point: drawn as a dot, bnviz/ui/plot.py)."""
    from bnviz.figures import why_bn_live as live_figs

    snaps = live.train_trio(live.LIVE.replace(steps=1))  # one sample each: no movement yet
    moves = {n: live.input_movement(s) for n, s in snaps.items()}
    waiting = t("why_bn.live.no_data", lang)
    for fig in (
        live_figs.movement_figure(moves, lang=lang),
        live_figs.bands_figure(moves, lang=lang),
    ):
        assert waiting in [a.text for a in fig.layout.annotations], fig.layout.title.text
    snaps = live.train_trio(live.LIVE.replace(steps=20))
    moves = {n: live.input_movement(s) for n, s in snaps.items()}
    for fig in (
        live_figs.movement_figure(moves, lang=lang),
        live_figs.bands_figure(moves, lang=lang),
        live_figs.trio_figure(snaps, lang=lang),
        live_figs.accuracy_figure(snaps, lang=lang),
    ):
        assert waiting not in [a.text for a in fig.layout.annotations], fig.layout.title.text
