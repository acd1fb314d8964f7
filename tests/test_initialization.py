"""Weight initialization lesson: the CS231n table, init formulas, BN, symmetry, figures."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from bnviz.config import ConfigError, from_query, to_query
from bnviz.figures import initialization as fig
from bnviz.i18n import strings, t
from bnviz.lessons import initialization as init
from bnviz.nets import init_weight_

# The notes' table (seed 003): std of hidden layers 1..5 for 0.01·randn and tanh, one draw.
NOTES_STD = [0.213081, 0.047551, 0.010630, 0.002378, 0.000532]
GAIN = 0.01 * math.sqrt(500)  # each layer multiplies the std by ~0.01·√fan_in (tanh ≈ identity)


def stds(**kwargs) -> np.ndarray:
    return np.array([s.std for s in init.layer_stats(**kwargs)])


# ---------------------------------------------------------------------------- the notes' table


def test_small_init_reproduces_the_notes_table():
    got = stds(**init.PRESETS["cs231n_small"])
    assert got[:5] == pytest.approx(NOTES_STD, rel=0.10)
    assert init.input_stats().std == pytest.approx(0.998388, rel=0.01)


@pytest.mark.parametrize("seed", [1, 2])
def test_small_init_shrinks_by_the_same_ratio_for_other_draws(seed):
    # The notes' numbers are one random draw: another seed must keep the first layer and the
    # layer-to-layer ratio (≈ 0.22), not the exact digits.
    got = stds(seed=seed)
    assert got[0] == pytest.approx(NOTES_STD[0], rel=0.10)
    assert got[1:6] / got[:5] == pytest.approx(np.full(5, GAIN), rel=0.10)
    assert got[-1] < 1e-5


def test_forward_matches_an_independent_numpy_version():
    # Same draws as the lesson (X first, then each W), computed in float64 numpy.
    gen = torch.Generator().manual_seed(3)
    x = torch.randn(200, 50, generator=gen).double().numpy()
    ws = [init_weight_(torch.empty(50, 50), "xavier", gen).double().numpy() for _ in range(3)]
    stats = init.layer_stats(depth=3, width=50, init="xavier", n=200, seed=3)
    h = x
    for w, s in zip(ws, stats, strict=True):
        h = np.tanh(h @ w.T)
        assert s.std == pytest.approx(h.std(ddof=1), rel=1e-4)
        assert s.mean == pytest.approx(h.mean(), abs=1e-5)
        assert s.saturated == pytest.approx(np.mean(np.abs(h) > 0.99), abs=1e-3)
        counts, _ = np.histogram(h, bins=s.edges)
        assert np.abs(counts - s.hist).sum() <= 4  # values on a bin edge may round either way


# ---------------------------------------------------------------------------- init formulas


@pytest.mark.parametrize(
    ("scheme", "expected"),
    [
        ("small", lambda fan_in: 0.01),
        ("large", lambda fan_in: 1.0),
        ("xavier", lambda fan_in: 1 / math.sqrt(fan_in)),
        ("he", lambda fan_in: math.sqrt(2 / fan_in)),
    ],
)
def test_weight_std_follows_the_formula(scheme, expected):
    weight = init_weight_(torch.empty(1000, 400), scheme, torch.Generator().manual_seed(0))
    assert weight.std().item() == pytest.approx(expected(400), rel=0.01)


def test_orthogonal_weights_are_orthonormal():
    w = init_weight_(torch.empty(300, 300), "orthogonal", torch.Generator().manual_seed(0))
    assert torch.allclose(w @ w.T, torch.eye(300), atol=1e-4)


# ---------------------------------------------------------------------------- the presets' claims


def test_he_keeps_relu_steady_while_xavier_collapses():
    he, xavier = stds(**init.PRESETS["he_relu"]), stds(**init.PRESETS["xavier_relu"])
    assert he.max() / he.min() < 1.3  # roughly constant over 10 layers
    # ReLU halves the variance each layer under Xavier: std × 1/√2 per layer.
    assert xavier[1:] / xavier[:-1] == pytest.approx(np.full(9, 1 / math.sqrt(2)), rel=0.06)
    assert xavier[-1] < 0.05 * he[-1]


def test_large_init_saturates_tanh():
    stats = init.layer_stats(**init.PRESETS["large_tanh"])
    assert all(s.saturated > 0.9 for s in stats)
    assert stats[-1].hist[0] + stats[-1].hist[-1] > 0.8 * stats[-1].hist.sum()  # piled at ±1


def test_saturation_is_nan_for_relu_and_counted_for_sigmoid():
    assert all(math.isnan(s.saturated) for s in init.layer_stats(activation="relu", init="he"))
    sig = init.layer_stats(activation="sigmoid", init="large")
    assert all(s.saturated > 0.5 for s in sig)


def test_batchnorm_makes_the_init_scale_irrelevant():
    small_bn = stds(**init.PRESETS["small_bn"])
    for other in ("xavier", "large"):
        assert small_bn == pytest.approx(stds(init=other, batchnorm=True), rel=0.01)
    without = stds(init="small"), stds(init="xavier")
    assert without[1][-1] / without[0][-1] > 1e4  # without BN the choice is everything


def test_zeros_never_break_the_symmetry():
    for activation, bn in [("tanh", False), ("relu", False), ("sigmoid", False), ("tanh", True)]:
        counts = init.distinct_units(depth=4, width=100, activation=activation, batchnorm=bn)
        assert counts == [1, 1, 1, 1]
    assert init.distinct_units(depth=3, width=100, init="xavier") == [100, 100, 100]


def test_histograms_share_bins_and_count_every_value():
    stats = init.layer_stats(depth=4, width=60, activation="relu", init="he", n=100)
    assert all(s.edges is stats[0].edges for s in stats)
    assert all(int(s.hist.sum()) == 100 * 60 for s in stats)
    assert stats[0].edges[0] == 0.0  # ReLU outputs start at 0
    tanh = init.layer_stats(depth=2, width=60, n=100)
    assert (tanh[0].edges[0], tanh[0].edges[-1]) == (-1.0, 1.0)
    with pytest.raises(ValueError):
        tanh[0].hist[0] = 5  # cached records are read-only


# ---------------------------------------------------------------------------- gradients


def test_gradients_vanish_with_small_init_and_hold_with_he():
    small = init.gradient_stats(**init.PRESETS["cs231n_small"])
    assert small[-1].std == pytest.approx(1.0, rel=0.02)  # the upstream gradient G
    assert small[0].std < 1e-4 * small[-1].std
    he = [g.std for g in init.gradient_stats(**init.PRESETS["he_relu"])]
    assert max(he) / min(he) < 1.5
    assert all(g.edges is small[0].edges for g in small)


def test_gradients_match_a_manual_backward_pass():
    # Upstream G is drawn after the weights; backprop by hand: δ = g·(1 - a²), g_prev = δ @ W.
    gen = torch.Generator().manual_seed(5)
    x = torch.randn(64, 30, generator=gen).double().numpy()
    ws = [init_weight_(torch.empty(30, 30), "xavier", gen).double().numpy() for _ in range(3)]
    g = torch.randn(64, 30, generator=gen).double().numpy()
    acts, h = [], x
    for w in ws:
        h = np.tanh(h @ w.T)
        acts.append(h)
    expected = [None] * 3
    for i in (2, 1, 0):
        delta = g * (1 - acts[i] ** 2)
        expected[i] = (g, delta.T @ (acts[i - 1] if i else x))  # (dL/da, dL/dW)
        g = delta @ ws[i]
    got = init.gradient_stats(depth=3, width=30, init="xavier", n=64, seed=5)
    for (grad, weight_grad), s in zip(expected, got, strict=True):
        assert s.std == pytest.approx(grad.std(ddof=1), rel=1e-4)
        assert s.weight_std == pytest.approx(weight_grad.std(ddof=1), rel=1e-4)


# ---------------------------------------------------------------------------- API and settings


def test_std_curves_start_at_the_input():
    curves = init.std_curves(("small", "xavier"), depth=3, width=40, n=80)
    assert set(curves) == {"small", "xavier"}
    assert all(len(c) == 4 for c in curves.values())
    assert curves["small"][0] == curves["xavier"][0] == init.input_stats(40, 80).std
    assert curves["small"][1:] == pytest.approx(stds(depth=3, width=40, n=80))


def test_bad_settings_raise_and_presets_are_valid():
    with pytest.raises(ConfigError):
        init.layer_stats(depth=0)
    with pytest.raises(ConfigError):
        init.layer_stats(init="random")
    for values in init.PRESETS.values():
        init.InitSettings(**values)


def test_settings_round_trip_through_the_url():
    cfg = init.InitSettings(depth=5, init="he", activation="relu", batchnorm=True)
    back, notes = from_query(init.InitSettings, to_query(cfg))
    assert back == cfg and notes == []
    _, notes = from_query(init.InitSettings, {"depth": "99"})
    assert [n.name for n in notes] == ["depth"]


def test_maxout_and_deep_large_relu_run():
    assert len(init.layer_stats(depth=2, width=20, activation="maxout", n=50)) == 2
    deep = init.layer_stats(depth=15, width=200, activation="relu", init="large", n=100)
    assert all(np.isfinite(s.std) for s in deep)


# ---------------------------------------------------------------------------- strings and figures


def _keys(lang: str) -> set[str]:
    return {k for k in strings(lang) if k.startswith("initialization.")}


def test_strings_exist_in_both_languages():
    assert _keys("en") == _keys("zh")
    for lang in ("en", "zh"):
        t("initialization.title", lang)
        for name in init.PRESETS:
            t(f"initialization.preset.{name}", lang)
            t(f"initialization.preset.{name}_what", lang)
        for scheme in init.INITS:
            t(f"initialization.init.{scheme}", lang)


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_figures_have_data_in_both_languages(lang):
    stats = init.layer_stats(**init.PRESETS["cs231n_small"])
    grid = fig.histogram_grid(stats, lang=lang)
    assert len(grid.data) == 10 and grid.layout.xaxis10.matches == "x"
    assert all(np.asarray(bar.y).sum() == pytest.approx(1.0, rel=1e-4) for bar in grid.data)
    assert grid.layout.title.text == t("initialization.fig.act_hist_title", lang)
    grads = fig.histogram_grid(init.gradient_stats(**init.PRESETS["cs231n_small"]), lang=lang)
    assert grads.layout.title.text == t("initialization.fig.grad_hist_title", lang)
    titles = [a.text for a in grid.layout.annotations if "σ" in a.text]
    sigmas = [text.split("σ = ")[1].split("<br>")[0] for text in titles]
    assert len(titles) == 10 and "×10⁻" in sigmas[-1]  # ~1e-5, written as a class reads it
    assert not [s for s in sigmas if "e" in s], sigmas  # never "3e−07"
    curves = init.std_curves(("zeros", "small", "xavier"))
    chart = fig.std_figure(curves, lang=lang)
    assert chart.layout.yaxis.type == "log" and len(chart.data) == 3
    assert np.isnan(np.asarray(chart.data[0].y, dtype=float)[1:]).all()  # zeros: off the log axis
    rows = fig.table_rows(stats, lang=lang, input_record=init.input_stats())
    assert len(rows) == 11 and rows[0][t("initialization.table.layer", lang)] == t(
        "initialization.table.input", lang
    )
    saturated = t("initialization.table.saturated", lang)
    assert rows[0][saturated] is None and rows[1][saturated] == pytest.approx(stats[0].saturated)
    relu = fig.table_rows(init.layer_stats(depth=2, width=40, n=80, activation="relu"), lang=lang)
    assert all(saturated not in row for row in relu)  # no column of blanks for ReLU


def test_compare_charts_share_one_axis_and_one_color_per_init():
    off = init.std_curves(("zeros", "small", "he"), depth=3, width=40, n=80)
    on = init.std_curves(("he", "small"), depth=3, width=40, n=80, batchnorm=True)
    lo, hi = fig.shared_log_range(off, on)
    smallest = min(v for c in (*off.values(), *on.values()) for v in c if v > 0)
    assert lo < math.log10(smallest) and hi > math.log10(max(max(c) for c in off.values()))
    assert fig.shared_log_range({"zeros": np.zeros(4)}) is None
    a = fig.std_figure(off, lang="en", y_range=(lo, hi), highlight="small")
    b = fig.std_figure(on, lang="en", bn=True, y_range=(lo, hi))
    assert list(a.layout.yaxis.range) == list(b.layout.yaxis.range) == [lo, hi]
    colors_a = {tr.name: tr.line.color for tr in a.data}
    colors_b = {tr.name: tr.line.color for tr in b.data}
    assert [n for n in colors_b if colors_b[n] != colors_a[n]] == []  # one color per init
    assert len(set(colors_a.values())) == 3
    assert a.data[1].line.width > a.data[2].line.width  # the chosen init stands out
    # both label the shared range alike: the chart with BN (data near 1) once labelled only
    # 0.5, 1 and 2, piled up at the top of an axis spanning 1e-7..1
    assert a.layout.yaxis.tickvals == b.layout.yaxis.tickvals
    assert min(b.layout.yaxis.tickvals) <= 10 ** (lo + 1)


def test_a_std_chart_with_bn_shows_its_layers_alike_not_a_collapse():
    """With BN every layer's std is about 0.63: plotly's own range (0.62 to 1) drew the input's
    1 falling to 0.63 down the whole chart, under "every layer looks alike" (audit 30). The
    axis spans at least MIN_DECADES; the input-to-layer-1 drop is a small part of its height."""
    curves = init.std_curves(("small", "xavier"), depth=4, width=40, n=80, batchnorm=True)
    chart = fig.std_figure(curves, lang="en", bn=True)
    lo, hi = chart.layout.yaxis.range
    assert hi - lo >= fig.MIN_DECADES
    data = np.log10([v for c in curves.values() for v in c if v > 0])
    assert lo < data.min() and hi > data.max()
    assert (data.max() - data.min()) / (hi - lo) < 0.3
    assert len(chart.layout.yaxis.tickvals) >= 2  # labelled across the span shown


def test_std_chart_keeps_its_plot_height_and_labels_that_fit_it():
    """Six inits with ReLU: a legend row each squeezed the plot to 60 px and its eleven labels
    (10¹² … 10⁻⁸) onto each other. The figure grows by its legend; its labels fit the plot."""
    curves = init.std_curves(init.INITS, depth=10, width=50, n=100, activation="relu")
    one = fig.std_figure({"he": curves["he"]}, lang="en")
    six = fig.std_figure(curves, lang="en")
    assert six.layout.height - one.layout.height == 5 * fig.LEGEND_ROW_PX
    ticks = six.layout.yaxis.tickvals
    assert 2 <= len(ticks) <= fig.STD_PLOT_PX // 28 + 1, ticks


# ---------------------------------------------------------------------------- what the prose says


def _paragraph(lang: str, marker: str) -> str:
    """The paragraph of the lesson prose that starts with `marker`."""
    from bnviz.i18n import lesson_text

    text = lesson_text("initialization", lang)
    return next(p for p in text.split("\n\n") if p.startswith(marker))


MARKERS = {
    "small": {"en": "**Too small", "zh": "**太小"},
    "large": {"en": "**Too large", "zh": "**太大"},
}


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_large_init_gradients_explode_as_the_prose_and_preset_say(lang):
    grads = init.gradient_stats(**init.PRESETS["large_tanh"])
    da = np.array([g.std for g in grads])  # layer 1 .. 10
    dw = np.array([g.weight_std for g in grads])
    assert (np.diff(da) < 0).all() and da[0] > 1e4 * da[-1]  # grows toward the input
    assert (np.diff(dw) < 0).all() and dw[0] > 1e4 * dw[-1]
    assert np.mean(da[:-1] / da[1:]) == pytest.approx(3.5, rel=0.1)
    prose = _paragraph(lang, MARKERS["large"][lang])
    what = t("initialization.preset.large_tanh_what", lang)
    word = {"en": "explod", "zh": "爆炸"}[lang]  # not "killed" / "almost 0" alone
    assert word in prose and word in what
    for quoted, value in [("4e5", dw[0]), ("3.5", da[-2] / da[-1])]:
        assert quoted in prose and float(quoted) == pytest.approx(value, rel=0.15)
    assert "7e4 to 8e4" in what or "7e4 到 8e4" in what  # the table's 7.8e4 on this seed
    assert ("7e4 to 8e4" in prose or "7e4 到 8e4" in prose) and 7e4 <= da[0] <= 8e4


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_small_init_dl_da_vanishes_but_dl_dw_is_flat_as_the_prose_says(lang):
    grads = init.gradient_stats(**init.PRESETS["cs231n_small"])
    da = np.array([g.std for g in grads])
    dw = np.array([g.weight_std for g in grads])
    assert da[0] < 1e-5 * da[-1]  # dL/da vanishes
    assert dw.max() < 1.2 * dw.min()  # dL/dW = a·δ: flat over the layers, not vanishing
    prose = _paragraph(lang, MARKERS["small"][lang])
    what = t("initialization.preset.cs231n_small_what", lang)
    for quoted, value in [("1e-6", da[0]), ("4e-5", dw.mean())]:
        assert quoted in prose and float(quoted) == pytest.approx(value, rel=0.5)
    assert "4e-5" in what and "dL/dW" in prose and "dL/dW" in what


def test_readme_quotes_the_notes_exactly_and_the_app_to_three_digits():
    from pathlib import Path

    readme = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")
    shown = [f"{s:.3g}" for s in stds(**init.PRESETS["cs231n_small"])[:3]]
    assert shown == ["0.213", "0.0475", "0.0106"]
    assert "0.213081, 0.047551, 0.010630" in readme and ", ".join(shown) in readme
    assert "0.0477" not in readme


def test_zeros_and_orthogonal_have_colors_a_projector_tells_apart():
    """Blue and turquoise (the palette's 1st and 6th) read as one color on a projector."""
    a = fig.std_figure(init.std_curves(init.INITS, depth=2, width=20, n=40), lang="en")
    colors = {tr.name.split(" ")[0]: tr.line.color for tr in a.data}
    assert len(set(colors.values())) == len(init.INITS)
    rgb = {k: np.array([int(c[i : i + 2], 16) for i in (1, 3, 5)]) for k, c in colors.items()}
    assert np.linalg.norm(rgb["zeros"] - rgb["orthogonal"]) > 120, colors
