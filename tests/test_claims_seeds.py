"""Every preset sentence of the initialization, standardization, activations and running
statistics pages holds for seeds 0-4 (engine level): each lesson module has a CLAIMS table,
preset -> check(seed), and every `<lesson>.preset.<name>_what` string must have its check.
The lab's presets: tests/test_lab_claims.py (lab.CLAIMS, over seeds 0-4). The why-BN page's
live views: why_bn_live.LIVE_CLAIMS on the runs the page starts (smoothness here, ~0.5 s a seed;
the trio's in tests/test_why_bn.py).

The preprocessing page's live preset (preprocessing_data.RUN_CLAIMS) is checked on its four runs
trained here for each seed (~1 s per run); its cloud presets in tests/test_preprocessing.py.

The preset tests of tests/test_presets_e2e.py apply the same checks (`page_holds`) to the runs
the page itself started (seed 0).

Every check builds the page's own runs: the initialization sweep the page's n = 1000 samples
(it used 250, another network per seed), running statistics the page's 1000-step runs (it used
300-step ones; stop 54). The trained claims cost, per seed on an idle core: dead ReLUs ~4 x 1000
Adam steps, running statistics ~4 x 1000 steps, regularization 5 x 600 steps (a few seconds
each).
"""

import functools
from pathlib import Path

import pytest
import torch

from bnviz.i18n import strings, t
from bnviz.lessons import activations as A
from bnviz.lessons import batchnorm_lab as lab
from bnviz.lessons import initialization as I
from bnviz.lessons import normalization as NZ
from bnviz.lessons import preprocessing as P
from bnviz.lessons import preprocessing_data as D
from bnviz.lessons import regularization as R
from bnviz.lessons import running_stats as RS
from bnviz.lessons import standardization as S
from bnviz.lessons import why_bn_live as W
from bnviz.stepper import train_sync

SEEDS = range(5)
LESSONS = {"initialization": I, "standardization": S, "activations": A, "running_stats": RS,
           "normalization": NZ}  # fmt: skip
CASES = [(lesson, name) for lesson, module in LESSONS.items() for name in module.CLAIMS]
CHECKED_IN = {  # lessons whose preset sentences are checked over seeds 0-4 in their own file
    "lab": "test_lab_claims.py",
    "babysitting": "test_babysitting.py",
    "hyperparams": "test_hyperparams_claims.py",
    "why_bn": "test_why_bn.py",
    "preprocessing": "test_claims_seeds.py",  # below
}


def test_every_lesson_that_says_a_preset_sentence_has_its_checks_named_here():
    """A new lesson's `<lesson>.preset.<name>_what` sentences are checked: in LESSONS (CLAIMS =
    {preset: check(seed) -> bool}) or in a file named in CHECKED_IN (README, "Adding a
    lesson")."""
    said = {k.split(".")[0] for k in strings("en") if ".preset." in k and k.endswith("_what")}
    assert not said - set(LESSONS) - set(CHECKED_IN), said - set(LESSONS) - set(CHECKED_IN)
    for lesson, file in CHECKED_IN.items():
        assert "CLAIMS" in (Path(__file__).parent / file).read_text(), (lesson, file)


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_every_preset_sentence_has_a_claim_check(lang):
    for lesson, module in LESSONS.items():
        prefix = f"{lesson}.preset."
        said = {k[len(prefix) : -len("_what")] for k in strings(lang) if k.startswith(prefix)
                and k.endswith("_what")}  # fmt: skip
        assert said == set(module.CLAIMS), lesson
        assert set(module.PRESETS) <= set(module.CLAIMS), lesson  # every pill
    assert set(lab.PRESETS) <= set(lab.CLAIMS)
    prefix = "preprocessing.preset."
    said = {k[len(prefix) : -len("_what")] for k in strings(lang) if k.startswith(prefix)
            and k.endswith("_what")}  # fmt: skip
    assert said == set(P.CLAIMS) | set(D.RUN_CLAIMS) == set(P.PRESETS) | set(D.RUN_PRESETS)


def test_quoted_numbers_are_the_checked_ones():
    assert "4.5×10⁻⁵" in t("activations.preset.sigmoid_kills_what")  # as the marked points say
    assert "0.00005" in t("activations.preset.sigmoid_kills_what")  # the notes' rounding
    assert "0.0475" in t("initialization.preset.cs231n_small_what")
    low, high = A.ZIGZAG_STEPS  # the zig-zag's steps and rates (audit 33), in both languages
    for lang in ("en", "zh"):
        said = t("activations.preset.zigzag_what", lang)
        assert f"{low}–{high}" in said and f"{A.ZIGZAG_LARGE_STEPS}" in said, lang
        assert f"{A.ZIGZAG_LARGE_LR:g}" in said, lang


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("lesson, preset", CASES)
def test_preset_sentence_holds(lesson, preset, seed):
    assert LESSONS[lesson].CLAIMS[preset](seed), (lesson, preset, seed)


@pytest.mark.parametrize("seed", SEEDS)
def test_standardization_opening_sentence_holds(seed):
    said = t("standardization.look_for.default")
    assert all(n in said for n in ("100×", "κ ≈ 10,000", "under 4 %", "~10,000", "3–4"))
    assert S.default_holds(seed), seed


def test_running_stats_cumulative_single_units_can_come_close():
    """preset.cumulative_what's "in layer 1 only 1.1–3×, and single units come as close": in BN
    layer 1 some unit is no further off than m = 0.1's on CLOSE_SEEDS of seeds 0-4."""
    said = t("running_stats.preset.cumulative_what")
    assert "single units come as close" in said
    for low, high in (RS.CUMULATIVE_DEEP, RS.CUMULATIVE_FIRST):
        assert f"{low:g}–{high:g}×" in said, (low, high)
    assert f"at least {RS.CUMULATIVE_EVERY:g}×" in said
    least = [RS.closest_unit(RS.claim_run(None, s), RS.claim_run(0.1, s), 0) for s in SEEDS]
    assert sum(r <= 1 for r in least) >= RS.CLOSE_SEEDS, least


def test_running_stats_batch_noise_falls_as_the_view_says():
    """noise_what's "measured 9.8–12.3 over seeds 0–4 and units 1–8" in the first BN layer and
    "1–19×" deeper (audit 33: "10–12" above a chart reading 9.9× on seed 2)."""
    first, deeper = [], []
    for seed in SEEDS:
        noise = RS.batch_noise(RS.DEFAULT.replace(seed=seed))
        first += list(noise.falls(0))
        deeper += [f for layer in range(1, len(noise.mean_std[0])) for f in noise.falls(layer)]
    for (low, high), falls in ((RS.NOISE_FIRST, first), (RS.NOISE_DEEPER, deeper)):
        assert f"{low:g}–{high:g}" in t("running_stats.noise_what"), (low, high)
        assert low - 0.05 <= min(falls) and max(falls) < high + 0.05, (min(falls), max(falls))


def test_running_stats_regularization_effect_flips_sign_across_seeds():
    assert R.claim_seeds([R.gaps(s) for s in SEEDS])  # "narrower for some seeds, wider for others"


@pytest.mark.parametrize("seed", SEEDS)
def test_why_bn_smoothness_sentence_holds_on_the_pages_live_pair(seed):
    snaps = {n: train_sync(c) for n, c in W.smooth_pair(W.SMOOTH.replace(seed=seed)).items()}
    assert W.LIVE_CLAIMS["smooth"](snaps), seed  # why_bn.look_for.smooth
    assert not W.LIVE_CLAIMS["smooth"]({"plain": snaps["bn"], "bn": snaps["plain"]})


@functools.cache
def input_runs(seed: int) -> dict:
    """The preprocessing comparison's four runs of one seed, trained to the end."""
    torch.set_num_threads(1)
    return {kind: train_sync(cfg) for kind, cfg in D.run_configs(seed).items()}


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("preset", sorted(D.RUN_CLAIMS))
def test_preprocessing_live_preset_sentence_holds(preset, seed):
    snaps = input_runs(seed)
    assert D.RUN_CLAIMS[preset](snaps), {k: D.steps_to_target(s) for k, s in snaps.items()}
    broken = {**snaps, "raw": snaps["center"]}  # the check can fail: raw reaching 90 %
    assert not D.RUN_CLAIMS[preset](broken)


def test_preprocessing_prose_on_the_comparison_holds_for_seeds_0_to_4():
    """assets/lessons/*/preprocessing.md: raw saturates most tanh units from the first step and
    nearly all by the end; whitening reaches 90 % within 20 steps of normalizing, ahead on some
    seeds and behind on others."""
    order = []
    for seed in SEEDS:
        snaps = input_runs(seed)
        saturated = snaps["raw"].telemetry["saturated"][:, 0]
        assert saturated[0] > 0.5 and saturated[-1] > 0.9, (seed, saturated[[0, -1]])
        white, norm = D.steps_to_target(snaps["whiten"]), D.steps_to_target(snaps["normalize"])
        assert abs(white - norm) <= 20, (seed, white, norm)
        order.append((white > norm) - (white < norm))
    assert {-1, 1} <= set(order), order


@pytest.mark.parametrize("seed", SEEDS)
def test_running_stats_train_vs_eval_sentence_holds(seed):
    """running_stats.look_for.modes on the view's two default runs: from step 10 on both
    modes are at 88 % test accuracy or more and within 12 points of each other. (An audit: the
    sentence said "watch the two accuracies meet" over curves at 1.0 from the first point.)"""
    import numpy as np

    for cfg in RS.run_configs(RS.DEFAULT.replace(seed=seed), RS.View()).values():
        modes = RS.mode_series(train_sync(cfg, cfg.steps))
        later = modes.step >= 10
        both = np.stack([modes.running_acc[later], modes.batch_acc[later]])
        assert later.sum() > 10 and both.min() >= 0.88, (seed, both.min())
        assert np.abs(both[0] - both[1]).max() <= 0.12, seed
