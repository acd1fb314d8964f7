"""Every preset sentence of the initialization, standardization, activations and running
statistics pages holds for seeds 0-4 (engine level): each lesson module has a CLAIMS table,
preset -> check(seed), and every `<lesson>.preset.<name>_what` string must have its check.
The lab's presets: tests/test_lab_claims.py (lab.CLAIMS, over seeds 0-4). The why-BN page's
live views: why_bn_live.LIVE_CLAIMS on the runs the page starts (smoothness here, ~0.5 s a seed;
the trio's in tests/test_why_bn_live.py).

The preset tests of tests/test_presets_e2e.py apply the same checks (`page_holds`) to the runs
the page itself started (seed 0).

Bounded: the initialization sweep uses n = 250 samples instead of the page's 1000 (its claims
are per-layer ratios and shares, which do not depend on n, and dL/dW, scaled by √(1000/n);
seed 0 at n = 1000 is checked in tests/test_initialization.py). The trained claims cost, per
seed on an idle core: dead ReLUs ~4 x 1000 Adam steps, running statistics ~4 x 300 steps,
regularization 5 x 600 steps (a few seconds each).
"""

import pytest

from bnviz.i18n import strings, t
from bnviz.lessons import activations as A
from bnviz.lessons import batchnorm_lab as lab
from bnviz.lessons import initialization as I
from bnviz.lessons import regularization as R
from bnviz.lessons import running_stats as RS
from bnviz.lessons import standardization as S
from bnviz.lessons import why_bn_live as W
from bnviz.runner import train_sync

SEEDS = range(5)
LESSONS = {"initialization": I, "standardization": S, "activations": A, "running_stats": RS}
CASES = [(lesson, name) for lesson, module in LESSONS.items() for name in module.CLAIMS]


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_every_preset_sentence_has_a_claim_check(lang):
    for lesson, module in LESSONS.items():
        prefix = f"{lesson}.preset."
        said = {k[len(prefix) : -len("_what")] for k in strings(lang) if k.startswith(prefix)
                and k.endswith("_what")}  # fmt: skip
        assert said == set(module.CLAIMS), lesson
        assert set(module.PRESETS) <= set(module.CLAIMS), lesson  # every pill
    assert set(lab.PRESETS) <= set(lab.CLAIMS)


def test_quoted_numbers_are_the_checked_ones():
    assert "0.00005" in t("activations.preset.sigmoid_kills_what")
    assert "0.0475" in t("initialization.preset.cs231n_small_what")


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("lesson, preset", CASES)
def test_preset_sentence_holds(lesson, preset, seed):
    assert LESSONS[lesson].CLAIMS[preset](seed), (lesson, preset, seed)


@pytest.mark.parametrize("seed", SEEDS)
def test_standardization_opening_sentence_holds(seed):
    said = t("standardization.look_for.default")
    assert all(n in said for n in ("100×", "κ ≈ 10,000", "under 4 %", "~10,000", "3–4"))
    assert S.default_holds(seed), seed


def test_running_stats_regularization_effect_flips_sign_across_seeds():
    assert R.claim_seeds([R.gaps(s) for s in SEEDS])  # "narrower for some seeds, wider for others"


@pytest.mark.parametrize("seed", SEEDS)
def test_why_bn_smoothness_sentence_holds_on_the_pages_live_pair(seed):
    snaps = {n: train_sync(c) for n, c in W.smooth_pair(W.SMOOTH.replace(seed=seed)).items()}
    assert W.LIVE_CLAIMS["smooth"](snaps), seed  # why_bn.look_for.smooth
    assert not W.LIVE_CLAIMS["smooth"]({"plain": snaps["bn"], "bn": snaps["plain"]})
