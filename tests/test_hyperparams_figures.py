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


def test_importance_figure_sets_measurement_beside_the_notes():
    fig = F.importance_figure({"lr": 0.8, "adam_eps": 0.2, "init_scale": 0.0}, lang="zh")
    assert list(fig.data[0].y) == ["初始化尺度", "adam_eps", "学习率"]  # named where the app can
    assert "4" in fig.data[0].text[1] and "1" in fig.data[0].text[2]
    assert fig.data[0].text[0] == t("hyperparams.fig.not_ranked", "zh")  # not in the notes' list
