"""Normalization zoo: the statistics drawn are torch's; every preset through the page."""

import numpy as np
import pytest
import torch

from bnviz.i18n import t
from bnviz.lessons import normalization as N
from tests.helpers import choose_preset, decode, figures
from tests.test_pages import page

PAGE = "10_normalization.py"


@pytest.mark.parametrize("kind", N.KINDS)
@pytest.mark.parametrize(("batch", "size", "channels", "groups"), [(4, 3, 6, 2), (2, 2, 6, 3)])
def test_the_values_drawn_as_one_statistic_are_those_torch_normalizes_together(
    kind, batch, size, channels, groups
):
    """Normalizing each of group_ids' groups by hand (biased variance, eps 1e-5) gives torch's
    output: the chart's blue squares are the values torch takes one mean and variance over."""
    cfg = N.NormSettings(kind=kind, batch=batch, size=size, channels=channels, groups=groups)
    x = N.tensor(cfg)
    ids = N.group_ids(kind, batch, channels, size * size, groups)
    flat = x.reshape(batch, channels, -1).double().numpy()
    mine = np.empty_like(flat)
    for g in np.unique(ids):
        vals = flat[ids == g]
        mine[ids == g] = (vals - vals.mean()) / np.sqrt(vals.var() + 1e-5)
    theirs = N.apply(kind, x, groups).reshape(batch, channels, -1).double().numpy()
    np.testing.assert_allclose(mine, theirs, atol=1e-4)
    zoo = N.zoo(cfg)
    assert zoo.per_stat[kind] * zoo.n_stats[kind] == x.numel()


def test_group_norm_uses_the_largest_divisor_of_the_channels_up_to_its_groups():
    assert [N.groups_used(6, g) for g in range(1, 9)] == [1, 2, 3, 3, 3, 6, 6, 6]
    assert N.groups_used(7, 4) == 1 and N.groups_used(12, 5) == 4


def test_torch_refuses_one_value_per_statistic_and_the_zoo_keeps_its_words():
    zoo = N.zoo(N.NormSettings(batch=1, size=1))
    assert set(zoo.refused) == {"batch", "instance"}
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        N.apply("batch", torch.ones(1, 3, 1, 1), 1)
    assert zoo.refused["batch"].startswith("Expected more than 1 value per channel")
    assert zoo.moved == {}  # no example 2 to draw again


def _table(at, lang: str) -> dict[str, list]:
    frame = at.table[0].value
    return {key: list(frame[t(f"normalization.col.{key}", lang)]) for key in ("values", "moved")}


@pytest.mark.parametrize("lang", ["en", "zh"])
@pytest.mark.parametrize("preset", list(N.PRESETS))
def test_every_preset_shows_its_sentence_and_the_numbers_it_speaks_of(preset, lang):
    """The pill clicked in the page: its settings, its sentence, and the numbers the sentence
    states in the page's own charts, table and warning (seed 0; CLAIMS holds seeds 0-4)."""
    at = page(PAGE, lang=lang)
    choose_preset(at, "normalization", preset)
    assert not at.exception
    for field, value in N.PRESETS[preset].items():
        assert at.session_state[f"normalization.{field}"] == value, field
    assert t(f"normalization.preset.{preset}_what", lang) in [i.value for i in at.info]
    cfg = N.NormSettings(**N.PRESETS[preset])
    zoo = N.zoo(cfg)
    assert N.CLAIMS[preset](0)
    shared, moved = figures(at)
    assert shared["layout"]["title"]["text"] == t(
        f"normalization.fig.shared_title.{cfg.kind}", lang
    )
    z = decode(shared["data"][0]["z"])
    assert np.sum(z == 2) == zoo.per_stat[cfg.kind]  # the blue squares: one statistic's values
    table = _table(at, lang)
    assert table["values"] == [zoo.per_stat[k] for k in N.KINDS]
    warnings = [w.value for w in at.warning]
    if preset == "fc_batch1":  # torch's refusal, in its own words, and no example 2
        assert any(zoo.refused["batch"] in w for w in warnings), warnings
        assert table["values"][:2] == [1, 6]
        assert t("normalization.fig.one_example", lang) in str(moved["layout"]["annotations"])
    else:
        assert not warnings
    # with no example 2 (batch size 1) no bars, and no axes' ticks that would measure nothing
    drawn = [moved["layout"][axis].get("visible", True) for axis in ("xaxis", "yaxis")]
    assert drawn == [cfg.batch > 1] * 2, (preset, drawn)
    if preset == "image_batch1":
        assert table["values"][0] == 64 and zoo.out_std["batch"] < 1e-3
    if preset in ("others", "group_between"):  # BatchNorm's bar, the others "0 exactly"
        bars = moved["data"][0]["text"]
        assert bars[0] == f"{zoo.moved['batch']:.2f}" and float(bars[0]) >= 0.19
        assert bars[1:] == [t("normalization.fig.exactly_zero", lang)] * 3
        assert table["moved"] == [f"{zoo.moved['batch']:.2f}", "0", "0", "0"]
    if preset == "group_between":
        assert table["values"][3] == 27


def test_groups_that_do_not_divide_the_channels_say_how_many_are_used():
    at = page(PAGE, kind="group", groups="4")
    assert not at.exception
    said = t("normalization.groups_used", asked=4, used=3, channels=6)
    assert said in [c.value for c in at.caption]
    assert at.table[0].value[t("normalization.col.values")].iloc[3] == 18  # 2 channels x 9


def test_groups_are_greyed_out_unless_the_normalization_is_group_norm():
    at = page(PAGE)
    assert at.number_input(key="normalization.groups").disabled
    at = page(PAGE, kind="group")
    assert not at.number_input(key="normalization.groups").disabled


def test_one_value_per_mean_that_torch_computes_is_said_too():
    """Audit 36: GroupNorm with G = C on a 1x1 map (and LayerNorm on one feature) is over one
    value per mean; torch computes it, every output 0, and the page said nothing ("0 exactly",
    "|mean| ≤ 0, |std − 1| ≤ 1") beside InstanceNorm's refusal of the same grouping."""
    at = page(PAGE, kind="group", groups="6", size="1")
    assert not at.exception
    assert [w.value for w in at.warning] == [t("normalization.single", kind="GroupNorm")]
    frame = at.table[0].value
    outs = list(frame[t("normalization.col.out")])
    assert outs[3] == t("normalization.single_cell") and outs[2] == t("normalization.refused_cell")
    shared, moved = figures(at)
    assert moved["data"][0]["text"][2:] == [
        t("normalization.fig.refused_short"), t("normalization.fig.all_zero")
    ]  # fmt: skip
    assert t("normalization.fig.refused") in shared["layout"]["title"]["subtitle"]["text"]


def test_a_big_tensor_keeps_its_colours_and_neighbouring_statistics_differ():
    """Audit 36: at 6 channels of 8x8 pixels the 1 px gaps between cells left a white chart;
    greys by id parity drew InstanceNorm's and GroupNorm's statistics like BatchNorm's columns."""
    from bnviz.figures import normalization as figs

    big = N.zoo(N.NormSettings(batch=1, size=8))
    assert figs.shared_figure(big, "batch").data[0].xgap == 0
    small = N.zoo(N.NormSettings())  # 6 channels of 3x3 pixels: 59 columns
    assert figs.shared_figure(small, "batch").data[0].xgap == 1
    for kind in N.KINDS:
        ids = N.group_ids(kind, 4, 6, 1, 2)[:, :, 0]
        grey = N.shade(kind, 4, 6, 1, 2)[:, :, 0]
        for a, b in ((ids[:-1], ids[1:]), (ids[:, :-1], ids[:, 1:])):  # rows, then columns
            other = a != b  # neighbours of different statistics: different greys
            ga, gb = (grey[:-1], grey[1:]) if a.shape[0] < ids.shape[0] else (
                grey[:, :-1], grey[:, 1:])  # fmt: skip
            assert np.all(ga[other] != gb[other]), kind
            assert np.all(ga[~other] == gb[~other]), kind


def test_settings_of_ones_own_get_a_sentence_that_does_not_ask_for_what_is_done():
    """Audit 36: at batch size 1 the page still said "then set the batch size to 1"."""
    assert [i.value for i in page(PAGE).info] == [t("normalization.look_for.default")]
    at = page(PAGE, batch="2", size="2")
    assert [i.value for i in at.info] == [t("normalization.look_for.custom")]
    assert [i.value for i in page(PAGE, seed="3").info] == [t("normalization.look_for.default")]
