"""Babysitting: the new settings (weight decay, training subset, first-layer weights) and the
six checks' preset claims, for seeds 0-4, at engine level."""

import math

import numpy as np
import pytest
import torch

from bnviz import train as train_module
from bnviz.config import RunConfig
from bnviz.datasets import make_dataset
from bnviz.figures import babysitting as FB
from bnviz.i18n import t
from bnviz.lessons import babysitting as B
from bnviz.runner import train_sync
from bnviz.train import Trainer

SEEDS = range(5)


@pytest.fixture(autouse=True)
def one_thread():
    torch.set_num_threads(1)


def run(check, name, seed):
    return train_sync(B.config(check, name, seed))


# ---------------------------------------------------------------------------- engine settings


def old_make_optimizer(cfg, params):
    """make_optimizer as it was before weight_decay existed (bf43aea)."""
    if cfg.optimizer == "adam":
        return torch.optim.Adam(params, lr=cfg.lr, fused=True)
    momentum = cfg.momentum if cfg.optimizer == "momentum" else 0.0
    return torch.optim.SGD(params, lr=cfg.lr, momentum=momentum)


@pytest.mark.parametrize("optimizer", ["sgd", "momentum", "adam"])
def test_default_runs_are_bit_identical_to_before_the_new_settings(optimizer, monkeypatch):
    cfg = RunConfig(dataset="moons", optimizer=optimizer, lr=0.05, steps=40, norm="batchnorm")
    new = train_sync(cfg)
    monkeypatch.setattr(train_module, "make_optimizer", old_make_optimizer)
    old = train_sync(cfg)
    assert np.array_equal(new.losses["loss"], old.losses["loss"])
    assert np.array_equal(new.evals["test_acc"], old.evals["test_acc"])


def test_weight_decay_adds_wd_times_w_to_the_gradient():
    cfg = RunConfig(dataset="moons", optimizer="sgd", lr=0.1, weight_decay=0.3, depth=1)
    tr = Trainer(cfg)
    before = [p.detach().clone() for p in tr.model.parameters()]
    tr.step()
    grads = [p.grad for p in tr.model.parameters()]
    for w0, g, w1 in zip(before, grads, tr.model.parameters(), strict=True):
        torch.testing.assert_close(w1.detach(), w0 - 0.1 * (g + 0.3 * w0))


def test_train_limit_keeps_the_first_examples_and_the_whole_test_set():
    full = make_dataset(RunConfig(dataset="digits"))
    tiny = make_dataset(RunConfig(dataset="digits", train_limit=20))
    assert tiny.x_train.shape == (20, 64)
    np.testing.assert_array_equal(tiny.x_train, full.x_train[:20])
    np.testing.assert_array_equal(tiny.x_test, full.x_test)


def test_first_layer_weights_are_kept_bounded_with_the_newest_last():
    cfg = RunConfig(dataset="digits", depth=1, width=32, steps=900, eval_every=25)
    tr = Trainer(cfg)
    tr.record_eval()
    for _ in range(cfg.steps):
        tr.step()
    tr.record_eval()
    view = tr.first_layer.view()
    assert view["w"].shape[1:] == (16, 64) and len(view["step"]) <= 16
    assert view["step"][0] == 0 and view["step"][-1] == 900
    assert np.all(np.diff(view["step"]) > 0)
    np.testing.assert_array_equal(view["w"][-1], tr.model.linears()[0].weight[:16].detach())


# ---------------------------------------------------------------------------- the six checks


@pytest.mark.parametrize("seed", SEEDS)
def test_first_loss_is_ln_c_with_small_weights_and_far_above_with_large(seed):
    small, large = run("init_loss", "small", seed), run("init_loss", "large", seed)
    assert abs(B.first_loss(small) - math.log(10)) < 0.01
    assert B.first_loss(large) > 10 * B.expected_first_loss()
    assert B.CLAIMS["init_loss"]({"small": small, "large": large})


@pytest.mark.parametrize("seed", SEEDS)
def test_twenty_examples_are_memorized(seed):
    snap = run("overfit", "tiny", seed)
    assert B.final(snap, "train_acc") == 1.0 and B.final(snap, "train_loss") < 0.01
    assert B.CLAIMS["overfit"]({"tiny": snap})


@pytest.mark.parametrize("seed", SEEDS)
def test_four_learning_rates_four_shapes(seed):
    snaps = {name: run("lr", name, seed) for name in B.PRESETS["lr"]}
    assert B.smoothed_loss(snaps["too_low"])[-1] > 2.0
    assert B.final(snaps["good"], "train_loss") < 0.05
    high = snaps["high"]
    assert high.state == "finished" and B.final(high, "train_loss") > 1.0
    far = snaps["far_too_high"]
    assert far.state == "diverged" and far.diverged_at <= 10
    assert B.CLAIMS["lr"](snaps)


def test_the_high_rate_mini_batch_curve_dips_below_1_5_on_some_seeds():
    """lr_what: "ends above 1 (...; the mini-batch curve dips below 1.5 on some seeds)"."""
    from bnviz.i18n import t

    said = t("babysitting.preset.lr_what", "en")
    assert f"ends above {B.HIGH_LR_ENDS_ABOVE:g} (" in said
    assert f"dips below {B.HIGH_LR_DIPS_BELOW:g} on some seeds" in said
    dipped = [B.minibatch_dips(run("lr", "high", seed)) for seed in SEEDS]
    assert sum(dipped) >= B.HIGH_LR_DIPPED, dipped


@pytest.mark.parametrize("seed", SEEDS)
def test_weight_decay_narrows_the_train_validation_gap(seed):
    plain, decay = run("gap", "no_decay", seed), run("gap", "decay", seed)
    assert B.final(plain, "train_acc") == 1.0 and B.final(plain, "test_acc") < 0.91
    assert B.gap(plain) > 0.1
    assert B.final(decay, "test_acc") > B.final(plain, "test_acc")
    assert B.gap(decay) < B.gap(plain)
    assert B.CLAIMS["gap"]({"no_decay": plain, "decay": decay})


@pytest.mark.parametrize("seed", SEEDS)
def test_update_ratio_diagnosis_follows_the_learning_rate(seed):
    snaps = {name: run("ratio", name, seed) for name in B.PRESETS["ratio"]}
    for name, status in (("too_low", "too_low"), ("good", "ok"), ("too_high", "too_high")):
        rows = B.ratio_table(snaps[name])
        assert len(rows) == 3 and {r.status for r in rows} == {status}, name
        if name != "good":  # the advice's factor points to the good rate, 100x away (20-100x)
            assert all(20 <= B.lr_factor(r.log_ratio) <= 100 for r in rows), name
    assert B.CLAIMS["ratio"](snaps)


def test_the_advice_says_how_far_to_move_the_learning_rate():
    assert B.lr_factor(-5.0) == 100 and B.lr_factor(-1.2) == 60 and B.lr_factor(-3.7) == 5
    row = B.RatioRow(0, -5.0, "too_low", "raise_lr")
    assert FB.advice_text(row, "en") == "raise the learning rate (about 100×)"
    assert FB.advice_text(row, "zh") == "把学习率提高到约 100 倍"


def test_ratio_diagnosis_thresholds():
    assert B.diagnose_ratio(-1.0) == ("too_high", "lower_lr")
    assert B.diagnose_ratio(-3.0) == ("ok", "keep")
    assert B.diagnose_ratio(-5.0) == ("too_low", "raise_lr")
    assert B.diagnose_ratio(math.nan) == ("none", "check")


@pytest.mark.parametrize("seed", SEEDS)
def test_first_layer_weights_go_from_noise_to_smooth_strokes(seed):
    snap = run("weights", "watch", seed)
    start, end = B.weight_images(snap, 0), B.weight_images(snap, -1)
    assert start.shape == (16, 8, 8)
    assert 0.85 < B.roughness(start) < 1.15 and B.roughness(end) < 0.8
    frames = B.strip(snap)  # the page's strip: its first and last numbers are these two
    assert [f.step for f in frames] == [0, 300, 600, 900, 1200, 1500]
    assert frames[0].roughness == B.roughness(start) and frames[-1].roughness == B.roughness(end)
    assert not any(f.live for f in frames)
    assert B.CLAIMS["weights"]({"watch": snap})


def test_roughness_of_noise_is_one_and_of_a_ramp_is_small():
    noise = np.random.default_rng(0).standard_normal((200, 8, 8))
    assert abs(B.roughness(noise) - 1) < 0.05
    ramp = np.broadcast_to(np.arange(8.0), (1, 8, 8))
    assert B.roughness(ramp) < 0.2


def test_every_check_has_a_claim_and_its_runs():
    assert set(B.CLAIMS) == set(B.CHECKS) == set(B.PRESETS)
    s = B.BabysitSettings(weight_decay=0.1, seed=3)
    gap = B.run_configs("gap", s)
    assert gap["decay"].weight_decay == 0.1 and gap["no_decay"].weight_decay == 0.0
    assert gap["no_decay"] == B.config("gap", "no_decay", 3)
    assert B.run_configs("gap")["decay"] == B.config("gap", "decay", 0)  # the preset's 0.03


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_overfitting_charts_share_their_step_axis_and_a_one_row_legend(lang):
    """Check 2's two charts side by side: the loss ran to step 199, the accuracy to 200, and
    the accuracy legend named the run twice (two rows): its plot ended ~40 px higher."""
    snaps = {"tiny": run("overfit", "tiny", 0)}
    loss = FB.loss_curves_figure(snaps, lang=lang, title="overfit_title")
    acc = FB.accuracy_figure(snaps, lang=lang)
    assert list(loss.layout.xaxis.range) == list(acc.layout.xaxis.range) == [0, 200]
    assert loss.data[0].showlegend  # a lone run keeps its legend row, as the chart beside
    # named by its rate only (its name is in the status line): the whole name was cut at 1280
    assert loss.data[0].name.startswith(FB._tr("fig.lr_only", lang, lr="0.01")), loss.data[0].name
    names = [tr.name for tr in acc.data]
    assert names == [FB._tr("fig.train_acc", lang), FB._tr("fig.test_acc", lang)]
    two = FB.accuracy_figure({**snaps, "good": snaps["tiny"]}, lang=lang)
    assert all(" · " in tr.name for tr in two.data)  # several runs: each named


def test_the_ratio_sentence_names_the_band_the_table_calls_ok():
    """Audit 33: "about 1e-3 (ok)" beside an "ok" layer at 3.2e-3; the table's ok is within 10x."""
    low, high = B.RATIO_OK
    assert B.RATIO_TARGET - low == high - B.RATIO_TARGET == 1  # 10x either side of 1e-3
    assert "within 10× of 1e-3 (ok)" in t("babysitting.preset.ratio_what", "en")
    assert "1e-3 的 10 倍范围内（合适）" in t("babysitting.preset.ratio_what", "zh")
