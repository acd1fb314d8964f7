"""Why-BN figure builders, asserted on fig.data / fig.layout (not pixels), in both languages."""

import numpy as np
import pytest

from bnviz.figures import why_bn as figs
from bnviz.i18n import t
from bnviz.lessons.why_bn import bn_step, deep_linear_step, safe_lr_curve


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_terms_bars_are_the_terms_with_prediction_and_actual_lines(lang):
    step = deep_linear_step(20, 1.2, 0.01)
    fig = figs.terms_figure(step, lang=lang)
    bars = fig.data[0]
    np.testing.assert_allclose(bars.y, np.abs(step.terms))
    assert list(bars.x) == list(range(1, 21))
    assert fig.layout.yaxis.type == "log"
    # odd orders lower ŷ (blue), even orders raise it (orange)
    assert (
        bars.marker.color[0] == figs.COLORS["bn"] and bars.marker.color[1] == figs.COLORS["plain"]
    )
    pred, act = fig.data[1], fig.data[2]
    assert pred.y[0] == pytest.approx(abs(step.predicted)) and act.y[0] == pytest.approx(
        38.259, 1e-4
    )


def test_bn_terms_show_only_the_first_order_and_overflow_is_announced():
    fig = figs.terms_figure(bn_step(20, 1.2, 0.01), lang="en")
    assert np.isfinite(fig.data[0].y[0]) and np.all(np.isnan(np.asarray(fig.data[0].y[1:], float)))
    assert fig.data[1].y[0] == pytest.approx(fig.data[2].y[0], rel=1e-12)
    # equal lines: the prediction's is drawn wider, under the actual change's (audit 28: it
    # was hidden under it, and read as a missing line)
    assert fig.data[1].line.width > 2 * fig.data[2].line.width
    # audit 35: one bar over nineteen empty orders read as a chart that failed to draw
    said = t("why_bn.fig.higher_zero", last=20)
    assert [a.text for a in fig.layout.annotations] == [said]
    plain = figs.terms_figure(deep_linear_step(20, 1.2, 0.01), lang="en")
    assert not [a for a in plain.layout.annotations if a.text == said]
    big = figs.terms_figure(deep_linear_step(50, 3.0, 0.1), lang="en")
    assert any("float64" in a.text for a in big.layout.annotations)
    assert len(big.data) == 2  # the actual change is infinite: no line for it


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_change_bars_are_signed_prediction_and_actual(lang):
    step = deep_linear_step(20, 1.2, 0.01)
    fig = figs.change_figure(step, lang=lang)
    np.testing.assert_allclose(fig.data[0].y, [step.predicted, step.actual])
    assert "0.187" in fig.layout.title.text
    assert list(fig.data[0].text) == ["−204", "−38.3"]  # a minus sign, as the axis writes it
    tiny = figs.change_figure(deep_linear_step(20, 0.8, 0.01), lang=lang)
    assert list(tiny.data[0].text) == ["−4.15×10⁻⁵"] * 2  # never "e−05"
    assert tiny.layout.yaxis.exponentformat == "power"  # "−1×10⁻⁵" as the bars write it
    lines = [d.name for d in figs.terms_figure(step, lang=lang).data[1:]]
    assert all("−" in name and "-" not in name.split()[-1] for name in lines), lines


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_safe_lr_lines_per_weight_on_log_axis_and_bn_on_top(lang):
    curve = safe_lr_curve()
    fig = figs.safe_lr_figure(curve, lang=lang, depth=20)
    assert len(fig.data) == 4 and fig.layout.yaxis.type == "log"
    np.testing.assert_allclose(fig.data[2].y[1:], curve.lr[2, 1:], rtol=1e-6)
    assert np.isnan(fig.data[0].y[0])  # depth 1: no limit, no point
    assert min(fig.data[3].y) > np.nanmax(curve.lr[np.isfinite(curve.lr)])
    assert fig.layout.shapes[0].x0 == 20
    # the house's legend under the plot: on the right, at a tablet's width or less, plotly put
    # it over the chart's title (audit 14)
    assert fig.layout.legend.orientation == "h" and fig.layout.legend.yref == "container"


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_prose_cites_the_three_sources(lang):
    from bnviz.i18n import lesson_text

    text = lesson_text("why_bn", lang)
    for needle in ("8.7.1", "Goodfellow", "2016", "Ioffe", "Szegedy", "2015", "Santurkar",
                   "Tsipras", "Ilyas", "Madry", "2018", "NeurIPS"):  # fmt: skip
        assert needle in text, needle


# ---------------------------------------------------------------------------- live views


@pytest.fixture(scope="module")
def short_runs():
    """Short real runs of the live lessons (seconds), the data the page draws."""
    from bnviz.lessons import why_bn_layers as layers
    from bnviz.lessons import why_bn_live as live
    from bnviz.runner import train_sync

    base = live.BASE.replace(steps=40, eval_every=20, log_every=10)
    return {
        "trio": live.train_trio(base),
        "shift": live.covariate_shift(base, steps=30, every=10),
        "smooth": {  # the live pair's evaluations, every 10 of 30 steps (4 rows)
            n: live.smoothness_rows(train_sync(c))
            for n, c in live.smooth_pair(live.SMOOTH.replace(steps=30, eval_every=10)).items()
        },
        "gamma": layers.gamma_beta(layers.GAMMA_BASE.replace(steps=20)),
        "bias": layers.bias_gradient(steps=5),
    }


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_live_figures_draw_every_run(short_runs, lang):
    from bnviz.figures import why_bn_live as lf

    trio = lf.trio_figure(short_runs["trio"], lang=lang)
    assert len(trio.data) == 3 and trio.layout.yaxis.type == "log"
    np.testing.assert_allclose(trio.data[0].y, short_runs["trio"]["plain"].losses["loss"], 1e-6)
    shift = lf.shift_figure(short_runs["shift"], "mean_shift", lang=lang)
    assert [len(tr.x) for tr in shift.data] == [3, 3, 3]
    np.testing.assert_allclose(shift.data[1].y, short_runs["shift"]["bn"]["mean_shift"], 1e-6)
    band = lf.smoothness_figure(short_runs["smooth"], "loss", lang=lang)
    assert len(band.data) == 4 and band.data[1].fill == "tonexty"
    assert np.all(np.asarray(band.data[0].y) >= np.asarray(band.data[1].y))
    beta = lf.smoothness_figure(short_runs["smooth"], "beta_eff", lang=lang, last=30)
    np.testing.assert_allclose(beta.data[1].y, short_runs["smooth"]["bn"]["beta_eff"], 1e-6)
    assert list(beta.data[1].x) == [0, 10, 20, 30] and beta.layout.xaxis.range[1] > 30
    empty = {n: {k: np.zeros(0) for k in r} for n, r in short_runs["smooth"].items()}
    assert all(len(tr.x) == 0 for tr in lf.smoothness_figure(empty, "loss", lang=lang).data)


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_lower_gamma_and_bias_figures(short_runs, lang):
    from bnviz.figures import why_bn_live as lf

    keys = [("linear", False), ("linear", True), ("tanh", False), ("tanh", True)]
    rows = {key: {"test_acc": 0.5 + 0.1 * i} for i, key in enumerate(keys)}
    lower = lf.lower_figure(rows, lang=lang)
    assert list(lower.data[0].y) == [0.5, 0.7] and list(lower.data[1].y) == [0.6, 0.8]
    gamma = lf.gamma_beta_figure(short_runs["gamma"], lang=lang)
    assert len(gamma.data) == 2 and len(gamma.data[0].x) == 3
    bias = lf.bias_figure(short_runs["bias"], lang=lang)
    assert bias.layout.yaxis.type == "log" and max(bias.data[1].y) < 1e-12
    # side by side on the γ and β view: one height, so their legends line up (audit 18)
    assert bias.layout.height == gamma.layout.height


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_every_preset_has_a_label_and_a_claim(lang):
    from bnviz.i18n import t
    from bnviz.lessons.why_bn import PRESETS

    for name in PRESETS:
        assert t(f"why_bn.preset.{name}", lang) and t(f"why_bn.preset.{name}_what", lang)
    for view in ("linear", "lower", "shift", "noise", "smooth", "gamma_beta"):
        assert t(f"why_bn.view.{view}", lang) and t(f"why_bn.look_for.{view}", lang)


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_live_views_draw_while_one_run_has_points_and_the_others_none(lang):
    """Audit 13: Santurkar's test raised KeyError: 'step' for a moment on every load (a red box
    in the page): the first run had losses, the others were queued with none yet."""
    from bnviz.figures import why_bn_live as live_figs
    from bnviz.lessons import why_bn_live as L
    from bnviz.stepper import Snapshot, train_sync

    cfg = L.LIVE.replace(steps=30)
    started = train_sync(cfg)
    snaps = {"plain": started}
    for name in ("bn", "bn_noise"):
        snaps[name] = Snapshot(f"{name}-1", cfg, "queued", steps=cfg.steps)
    trio = live_figs.trio_figure(snaps, lang=lang)
    assert [tr.name for tr in trio.data] == [t("why_bn.live.run.plain", lang)]
    assert len(live_figs.accuracy_figure(snaps, lang=lang).data) == 1
    moves = {n: L.input_movement(s) for n, s in snaps.items()}
    assert live_figs.movement_figure(moves, lang=lang, ended=False).data
    assert live_figs.bands_figure(moves, lang=lang).data
    rows = {n: L.smoothness_rows(s) for n, s in snaps.items()}
    for metric in live_figs.SMOOTH_METRICS:
        live_figs.smoothness_figure(rows, metric, lang=lang, last=cfg.steps, ended=False)
