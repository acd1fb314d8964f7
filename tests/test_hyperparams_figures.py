"""Hyperparameter figures: traces, axes and titles carry the numbers, in both languages."""

import numpy as np
import pytest

from bnviz.figures import hyperparams as F
from bnviz.i18n import t
from bnviz.lessons import hyperparams as H


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_designs_figure_shows_both_designs_on_log_axes(lang):
    fig = F.designs_figure(H.grid_design(9), H.random_design(9, 0), lang=lang)
    assert [tr.meta for tr in fig.data] == ["grid", "random"]
    assert all(len(tr.x) == 9 for tr in fig.data)
    assert fig.layout.xaxis.type == "log" and fig.layout.yaxis.type == "log"
    assert "3" in fig.layout.title.text and "9" in fig.layout.title.text
    assert len(fig.layout.shapes) == 3 + 9  # one line per distinct learning rate tested


def test_log_axes_are_labelled_in_round_numbers_a_projector_can_read():
    """theme.log_axis, not plotly's "100µ" and small minor "2"/"5" labels between decades."""
    grid, rand = H.grid_design(9), H.random_design(9, 0)
    loss = np.geomspace(0.05, 0.7, 9)
    figs = [
        F.designs_figure(grid, rand, lang="en"),
        F.response_figure({"grid": (grid, loss), "random": (rand, loss)}, ("lr", "eps"), lang="en"),
        F.zoom_figure({"round1": (grid, loss)}, ((1e-3, 1e-7), (1e-1, 1e-5)), lang="en"),
    ]
    for fig in figs:
        axes = [fig.layout[k] for k in fig.layout if k.startswith(("xaxis", "yaxis"))]
        for axis in axes:
            if axis.type != "log" or axis.matches:
                continue
            assert axis.tickvals and len(axis.ticktext) == len(axis.tickvals), axis
            assert not any("µ" in s or "e+" in s or "e-" in s for s in axis.ticktext), axis


def test_decades_figure_has_one_bar_per_decade_and_scale():
    shares = {s: H.expected_decade_shares(s) for s in ("linear", "log")}
    fig = F.decades_figure(shares, lang="en")
    assert [tr.meta for tr in fig.data] == ["linear", "log"]
    assert len(fig.data[0].x) == 4 and fig.data[0].y[-1] == pytest.approx(0.9, abs=1e-3)


def test_bn_heatmaps_count_good_settings_in_titles():
    plain = np.array([[0.5, 0.95], [np.nan, 0.5]])
    bn = np.array([[0.95, 0.95], [0.92, 0.5]])
    fig = F.bn_heatmaps(plain, bn, [0.01, 0.1], [0.5, 2.0], lang="en")
    titles = [a.text for a in fig.layout.annotations]
    assert "1 of 4" in titles[0] and "3 of 4" in titles[1]
    assert len(fig.data) == 2 and np.asarray(fig.data[1].z).shape == (2, 2)
    # each cell says its accuracy, to a tenth of a point (89.6 % looked like 90 % by colour)
    assert all(tr.texttemplate == "%{z:.1%}" for tr in fig.data)


def test_importance_figure_sets_measurement_beside_the_notes():
    fig = F.importance_figure({"lr": 0.8, "adam_eps": 0.2, "init_scale": 0.0}, lang="zh")
    assert list(fig.data[0].y) == ["初始化尺度", "adam_eps", "学习率"]  # named where the app can
    assert "4" in fig.data[0].text[1] and "1" in fig.data[0].text[2]
    assert fig.data[0].text[0] == t("hyperparams.fig.not_ranked", "zh")  # not in the notes' list
    assert max(fig.layout.xaxis.tickvals) == 1.0  # shares: no tick past 100 %
    half = F.importance_figure({"lr": 0.53, "batch_size": 0.3, "init_scale": 0.17}, lang="en")
    ticks, high = half.layout.xaxis.tickvals, half.layout.xaxis.range[1]
    assert max(ticks) <= high <= 0.53 * 1.6 and max(ticks) <= 1, (ticks, high)  # was 0..120 %


# Diverged models (loss NaN) are marked, not left out; nothing is added when none diverged.


def _marks(fig) -> list:
    return [tr for tr in fig.data if tr.meta == "diverged"]


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_response_figure_draws_diverged_trials_as_x_along_the_top(lang):
    pts = np.array([[1e-3, 0.5], [1e-2, 1.0], [0.3, 2.0], [1.0, 3.0]])
    loss = np.array([0.5, 0.05, np.nan, np.nan])
    gone = loss != loss
    groups = {"grid": (pts[:2], loss[:2]), "random": (pts[2:], loss[2:])}
    fig = F.response_figure(groups, ("lr", "scale"), {"grid": gone[:2], "random": gone[2:]},
                            lang=lang)  # fmt: skip
    marks = _marks(fig)
    assert len(marks) == 2  # one per column (lr, scale)
    assert list(marks[0].x) == pytest.approx([0.3, 1.0]) and list(marks[1].x) == [2.0, 3.0]
    assert all(min(m.y) > 0.5 for m in marks)  # above every finite loss
    assert marks[0].marker.symbol == "x" and [m.showlegend for m in marks] == [True, False]
    assert marks[0].name == t("hyperparams.fig.diverged", lang, k=2)
    none = F.response_figure(groups, ("lr", "scale"), {"grid": [False] * 2}, lang=lang)
    assert not _marks(none) and not _marks(F.response_figure(groups, ("lr",), lang=lang))
    assert fig.layout.title.text == t("hyperparams.fig.response", lang)  # the grid's had none


def test_zoom_figure_draws_diverged_trials_as_x_not_as_uncoloured_points():
    pts = np.array([[1e-3, 1.0], [1e-2, 2.0], [0.1, 9.0]])
    loss = np.array([0.3, 0.1, np.nan])
    fig = F.zoom_figure({"round1": (pts, loss)}, None, {"round1": loss != loss}, lang="en")
    assert [tr.meta for tr in fig.data] == ["round1", "diverged"]
    assert len(fig.data[0].x) == 2 and np.isfinite(fig.data[0].marker.color).all()
    assert list(fig.data[1].x) == pytest.approx([0.1]) and list(fig.data[1].y) == [9.0]
    assert fig.data[1].name == t("hyperparams.fig.diverged", "en", k=1)
    assert not _marks(F.zoom_figure({"round1": (pts[:2], loss[:2])}, None, lang="en"))


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_curves_end_at_an_x_where_their_model_diverged(lang):
    step = np.array([20, 40, 60, 80])
    acc = np.array([[0.6, 0.8, 0.9, 0.95], [0.6, 0.7, np.nan, np.nan], [np.nan] * 4])
    fig = F.curves_figure(step, acc, 0, np.array([-1, 55, 10]), lang=lang)
    (marks,) = _marks(fig)
    assert list(marks.x) == [55, 10]
    assert list(marks.y) == pytest.approx([0.7, F.CURVES_FLOOR + 0.02])  # last seen; floor
    assert list(marks.text) == [t("hyperparams.fig.diverged_at", lang, step=s) for s in (55, 10)]
    assert marks.name == t("hyperparams.fig.diverged", lang, k=2)
    assert not _marks(F.curves_figure(step, acc[:1], 0, np.array([-1]), lang=lang))


def test_curves_axis_starts_low_enough_for_every_curve():
    step = np.array([0, 20, 40])
    fig = F.curves_figure(step, np.array([[0.5, 0.9, 0.97], [0.55, 0.8, 0.9]]), 0, lang="en")
    assert fig.layout.yaxis.range == (F.CURVES_FLOOR, 1.02)  # chance on moons is 0.5
    low = np.array([[0.5, 0.9, 0.97], [0.27, 0.6, np.nan]])  # one starts below 0.4
    fig = F.curves_figure(step, low, 0, np.array([-1, 30]), lang="en")
    assert fig.layout.yaxis.range == (0.2, 1.02)
    assert list(_marks(fig)[0].y) == pytest.approx([0.6])


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_bn_heatmaps_grey_out_diverged_cells_with_an_x(lang):
    plain = np.array([[0.95, np.nan], [0.6, np.nan]])
    bn = np.array([[0.95, 0.95], [0.92, 0.5]])
    gone = (plain != plain, np.zeros((2, 2), bool))
    fig = F.bn_heatmaps(plain, bn, [0.01, 3.0], [0.5, 2.0], gone=gone, lang=lang)
    (marks,) = _marks(fig)  # only the panel without BN has diverged cells
    assert marks.xaxis == "x" and marks.showscale is False
    assert np.asarray(marks.text).tolist() == [["", "×"], ["", "×"]]
    z = np.asarray(marks.z, dtype=float)
    assert np.isnan(z[:, 0]).all() and np.isfinite(z[:, 1]).all()  # covers those cells only
    assert marks.name == t("hyperparams.fig.diverged", lang, k=2)
    title = t("hyperparams.fig.no_bn", lang, good=1, total=4, threshold="90")
    assert fig.layout.annotations[0].text == title  # a diverged cell does not reach 90 %
    # "90 %" in English as the sentences write it, "90%" in Chinese (audit 31: "reach 90%")
    assert title.endswith("90 %" if lang == "en" else "90%"), title
    none = (np.zeros((2, 2), bool),) * 2
    assert len(F.bn_heatmaps(plain, bn, [0.01, 3.0], [0.5, 2.0], gone=none, lang=lang).data) == 2


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_the_caption_counts_diverged_models_over_the_drawn_sweeps(lang):
    from types import SimpleNamespace

    from bnviz.ui.hyperparams import diverged_note

    def snap(*at):
        return SimpleNamespace(diverged_at=np.array(at))

    how = t("hyperparams.diverged.top", lang)
    many = diverged_note(lang, [snap(-1, 40, -1), snap(120, 40, -1)], "top")
    assert many == t("hyperparams.diverged.many", lang, k=3, n=6, a=40, b=120, how=how)
    one = diverged_note(lang, [snap(-1, 40, 40, -1)], "cells")
    cells = t("hyperparams.diverged.cells", lang)
    assert one == t("hyperparams.diverged.one", lang, k=2, n=4, a=40, how=cells)
    assert "2" in one and "4" in one and "40" in one
    assert diverged_note(lang, [snap(-1, -1), snap(-1)], "top") is None  # nothing said


@pytest.mark.parametrize(("lang", "best"), [("en", 0), ("zh", 2)])
def test_curves_legend_names_the_best_model_and_the_others_once(lang, best):
    """An audit: the caviar chart's grey curves of the other 47 models had no legend entry."""
    step = np.array([0, 20, 40])
    acc = np.array([[0.5, 0.8, 0.9], [0.5, 0.7, 0.8], [0.6, 0.9, 0.99], [0.5, 0.6, 0.7]])
    fig = F.curves_figure(step, acc, best, lang=lang)
    shown = [(tr.name, tr.meta) for tr in fig.data if tr.showlegend]
    assert shown == [
        (t("hyperparams.fig.best", lang), "best") if i == best
        else (t("hyperparams.fig.others", lang, n=3), "model")
        for i in sorted({best, 1 if best == 0 else 0})
    ]  # fmt: skip
    assert min(fig.data, key=lambda tr: tr.legendrank).meta == "best"  # listed first


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_every_hyperparams_chart_says_what_it_shows_in_its_title(lang):
    """An audit: Coarse to fine's and Caviar's charts had no title, where the page's other
    charts say what they show ("Each model's latest training loss, by its settings")."""
    pts, loss = np.array([[1e-2, 1.0], [1e-1, 0.5]]), np.array([0.3, 0.7])
    step, acc = np.array([0, 10]), np.array([[0.5, 0.9], [0.5, 0.6]])
    for fig, key in (
        (F.zoom_figure({"round1": (pts, loss)}, None, lang=lang), "zoom"),
        (F.curves_figure(step, acc, 0, lang=lang), "curves"),
        (F.response_figure({"grid": (pts, loss)}, ("lr", "scale"), lang=lang), "response"),
    ):
        assert fig.layout.title.text == t(f"hyperparams.fig.{key}", lang), key
