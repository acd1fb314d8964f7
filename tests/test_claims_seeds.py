"""Every preset sentence of the initialization, standardization and activations pages holds
for seeds 0-4 (engine level). The lab's presets: tests/test_lab_claims.py.

Bounded: the initialization sweep uses n = 250 samples instead of the page's 1000 (its claims
are per-layer ratios and shares, which do not depend on n, and dL/dW, scaled by √(1000/n);
seed 0 at n = 1000 is checked in tests/test_initialization.py); the rest is cheap numpy.
About 10-20 s in all on an idle core.
"""

import numpy as np
import pytest

from bnviz.i18n import t
from bnviz.lessons import activations as A
from bnviz.lessons import initialization as I
from bnviz.lessons import standardization as S

SEEDS = range(5)
SWEEP_N = 250


def init_run(name: str, seed: int):
    """(layer stds, saturated shares, dL/da stds, dL/dW stds) of a preset at n = SWEEP_N."""
    args = {**I.PRESETS[name], "seed": seed, "n": SWEEP_N}
    layers, grads = I.layer_stats(**args), I.gradient_stats(**args)
    return (
        np.array([s.std for s in layers]),
        np.array([s.saturated for s in layers]),
        np.array([g.std for g in grads]),
        np.array([g.weight_std for g in grads]),
    )


# ---------------------------------------------------------------------------- initialization


@pytest.mark.parametrize("seed", SEEDS)
def test_init_cs231n_small_shrinks_4_5x_and_dl_dw_is_flat(seed):
    std, _, da, dw = init_run("cs231n_small", seed)
    assert std[:3] == pytest.approx([0.213, 0.0475, 0.0106], rel=0.05)  # as the sentence quotes
    assert np.mean(std[:-1] / std[1:]) == pytest.approx(4.5, rel=0.05) and std[-1] < 1e-5
    assert da[0] / da[-1] == pytest.approx(1e-6, rel=0.6)  # "1 → about 1e-6"
    assert dw.max() < 1.2 * dw.min()
    # dL/dW sums over the samples: its std grows as √n; the page's n = 1000 shows ~4e-5
    assert dw.mean() * np.sqrt(1000 / SWEEP_N) == pytest.approx(4e-5, rel=0.25)


@pytest.mark.parametrize("seed", SEEDS)
def test_init_large_tanh_saturates_90_percent_and_the_gradient_explodes(seed):
    _, sat, da, _ = init_run("large_tanh", seed)
    assert sat == pytest.approx(0.9, abs=0.03)
    assert np.mean(da[:-1] / da[1:]) == pytest.approx(3.5, rel=0.1)  # "×3.5 per layer"
    assert da[0] / da[-1] == pytest.approx(7.6e4, rel=0.25)  # "1 → about 7.6e4"


@pytest.mark.parametrize("seed", SEEDS)
def test_init_xavier_and_he_presets(seed):
    tanh, _, _, _ = init_run("xavier_tanh", seed)
    assert tanh.min() > 0.2  # "the histograms stay wide from the first layer to the last"
    relu, _, _, _ = init_run("xavier_relu", seed)
    assert 0.6 < np.mean(relu[1:] / relu[:-1]) < 0.8  # "drops about 30 % per layer"
    he, _, _, _ = init_run("he_relu", seed)
    assert 0.8 < he[-1] / he[0] < 1.25  # "stays about the same through all 10 layers"


@pytest.mark.parametrize("seed", SEEDS)
def test_init_small_bn_every_layer_alike_and_xavier_falls(seed):
    bn, _, _, _ = init_run("small_bn", seed)
    assert bn == pytest.approx(0.63, abs=0.02)  # "std ≈ 0.63 from the first layer to the last"
    xavier, _, _, _ = init_run("xavier_tanh", seed)
    assert xavier[0] == pytest.approx(0.63, abs=0.02) and xavier[-1] == pytest.approx(
        0.23, abs=0.02
    )


# ---------------------------------------------------------------------------- standardization


def panels(name: str, seed: int):
    cfg = S.preset_config(name, S.StandardizationConfig(seed=seed))
    return cfg, S.descent(**cfg.descent_args(False)), S.descent(**cfg.descent_args(True))


@pytest.mark.parametrize("seed", SEEDS)
def test_standardization_presets(seed):
    _, raw, std = panels("zigzag", seed)  # "~10,000 steps" vs "a handful"
    assert 9_000 <= raw.steps_to_converge <= 11_000 and std.steps_to_converge <= 5
    assert raw.kappa == pytest.approx(1e4, rel=0.05)
    _, raw, std = panels("diverge", seed)  # "the raw problem blows up"
    assert raw.diverged and not std.diverged
    cfg, raw, _ = panels("momentum", seed)  # "about 10x faster", "converges within the steps"
    gd = S.descent(**cfg.replace(optimizer="gd", steps=20_000).descent_args(False))
    assert raw.steps_to_converge <= cfg.steps
    assert 8 < gd.steps_to_converge / raw.steps_to_converge < 12
    _, raw, std = panels("same", seed)  # "both panels are identical"
    assert raw.kappa == pytest.approx(std.kappa) and raw.steps_to_converge == std.steps_to_converge


# ---------------------------------------------------------------------------- activations


def test_activation_function_presets():
    sig = A.local_gradients("sigmoid")  # "f′(0) = 0.25, at x = ±10 0.00005"
    assert sig[0.0] == pytest.approx(0.25) and sig[10.0] == pytest.approx(5e-5, rel=0.1)
    assert "0.00005" in t("activations.preset.sigmoid_kills_what")
    leaky = A.summary("leaky_relu", leaky_slope=0.1)  # "no grey band, 0.1 on the left"
    assert leaky.flat == () and leaky.local[0] == pytest.approx(0.1)
    maxout = A.summary("maxout", maxout_k=4)  # "does not saturate and does not die"
    assert maxout.flat == () and min(maxout.local) > 0.1


@pytest.mark.parametrize("seed", SEEDS)
def test_activations_zigzag_preset(seed):
    cfg = A.ActivationSettings(**A.PRESETS["zigzag"], seed=seed)
    pos = A.zigzag(cfg.steps, cfg.lr, True, seed)
    cen = A.zigzag(cfg.steps, cfg.lr, False, seed)
    assert pos.same_sign == 1.0  # every step in quadrant I or III

    def detour(z):  # path length up to arrival / straight distance
        p = z.path[: z.steps_to_target]
        return np.linalg.norm(np.diff(p, axis=0), axis=1).sum() / np.linalg.norm(z.target)

    assert cen.steps_to_target is not None and detour(cen) < 1.5  # "much more directly"
    assert pos.steps_to_target is None or detour(pos) > 2 * detour(cen)
