"""The house chart rules of bnviz.figures.theme: log axes a projector can read."""

import ast
import re
from pathlib import Path

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from bnviz.figures.theme import (
    compact,
    exponent_text,
    log_axis,
    mark_lone_points,
    note_if_empty,
    tidy_log_axes,
)
from bnviz.i18n import t

FIGURES = Path(__file__).resolve().parents[1] / "bnviz" / "figures"


def test_tidy_log_axes_labels_each_log_axis_from_the_data_drawn_on_it():
    fig = make_subplots(1, 3)
    fig.add_scatter(x=[1, 2, 5, 10, 40, 64], y=[0.4, 0.9, 0.96, 0.9, 0.95, 0.96], row=1, col=1)
    fig.add_scatter(x=[1, 2], y=[1e-8, 1e-1], row=1, col=2)
    fig.add_scatter(x=[1, 2], y=[3e-3, 2e-2], row=1, col=3)
    fig.update_xaxes(type="log", row=1, col=1)
    fig.update_yaxes(type="log", row=1, col=2)
    fig.update_yaxes(type="log", matches="y2", row=1, col=3)  # shares panel 2's ticks
    tidy_log_axes(fig)
    lay = fig.layout
    assert lay.xaxis.tickvals == (1, 2, 5, 10, 20, 50, 100)  # 1-2-5 across under 2 decades
    assert lay.xaxis2.tickvals is None and lay.yaxis.tickvals is None  # linear axes untouched
    # 7 decades: powers of ten, as 10ⁿ outside 0.001-10 000, with a minus sign as plotly's
    powers = ("10<sup>−8</sup>", "10<sup>−7</sup>", "10<sup>−6</sup>", "10<sup>−5</sup>")
    assert lay.yaxis2.ticktext == (*powers, "10<sup>−4</sup>", "0.001", "0.01", "0.1")
    assert lay.yaxis3.tickvals == lay.yaxis2.tickvals


def test_a_log_axis_gets_as_many_labels_as_its_height_holds():
    """71 decades on a 340 px chart (why-BN's order terms at w = 0.8) stacked 36 labels into a
    grey smear: now every 10th power, counted from the top one where the round ones (10⁻¹⁰)
    left the top bars, 10⁻⁵, half a stride above the highest label (audit 31). A shorter axis
    gets fewer labels, never fewer than 2."""
    fig = go.Figure(go.Bar(x=[1, 2, 3], y=[1e-5, 1e-40, 1e-76]))
    fig.update_layout(height=340, margin=dict(t=45, b=40), yaxis_type="log")
    ticks = tidy_log_axes(fig).layout.yaxis.tickvals
    assert ticks == tuple(10.0**e for e in range(-75, -4, 10))  # 8 labels, 30 px apart
    round_top = go.Figure(go.Bar(x=[1, 2], y=[3e-10, 1e-76]))
    round_top.update_layout(height=340, margin=dict(t=45, b=40), yaxis_type="log")
    assert tidy_log_axes(round_top).layout.yaxis.tickvals[-1] == 1e-10  # round where it fits
    short = go.Figure(go.Scatter(x=[0, 1], y=[1e-8, 1e12]))
    short.update_layout(height=200, margin=dict(t=20, b=40), yaxis_type="log")  # 90 px plot
    labels = tidy_log_axes(short).layout.yaxis.tickvals
    assert labels == (1e-5, 1.0, 1e5, 1e10), labels  # every 5th power: 4 labels in 90 px
    given = go.Figure(short.data, short.layout).update_yaxes(tickvals=None, ticktext=None)
    assert len(tidy_log_axes(given, plot_px=30).layout.yaxis.tickvals) == 2  # never fewer


def test_a_log_axis_given_a_range_is_labelled_across_it():
    """Initialization's chart with BatchNorm shares its neighbour's y range (1e-7..1) but its
    data sit near 1: labelled from its data alone, "0.5 1 2" piled up at the top."""
    fig = go.Figure(go.Scatter(x=[0, 1, 2], y=[0.9, 1.0, 1.1]))
    fig.update_layout(height=340, margin=dict(t=45, b=40), yaxis=dict(type="log", range=[-7, 0.2]))
    ticks = tidy_log_axes(fig).layout.yaxis.tickvals
    assert ticks[0] <= 1e-6 and ticks[-1] >= 1 and len(ticks) <= 8, ticks


def test_a_narrow_log_axis_has_two_labels_inside_its_data():
    """The lab's loss chart at step 1 (losses 0.62-1.35 on a log axis) was labelled "1" alone:
    its 1-2-5 labels 0.5 and 2 fell outside the plot. Two or more labels stand inside the
    data now, round values; a wide axis keeps its 1-2-5 labels."""
    for lo, hi in [(0.62, 1.35), (0.9, 1.1), (0.3, 0.5), (0.69, 0.7), (4e-4, 9e-4)]:
        axis = log_axis([lo, hi])
        inside = [v for v in axis["tickvals"] if lo <= v <= hi]
        assert 2 <= len(inside) <= 4, (lo, hi, axis["tickvals"])
        assert not any(re.search(r"\d{5}", text) for text in axis["ticktext"]), axis["ticktext"]
    assert log_axis([0.62, 1.35])["ticktext"] == ["0.8", "1", "1.2"]
    assert log_axis([0.05, 3])["tickvals"] == [0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0]
    assert log_axis([0.4, 0.96], max_labels=2)["ticktext"] == ["0.5", "0.75"]  # a short axis


def test_tidy_log_axes_keeps_ticks_a_figure_chose():
    fig = go.Figure(go.Scatter(x=[2, 4, 8], y=[1, 2, 3]))
    fig.update_xaxes(type="log", tickvals=[2, 4, 8], ticktext=["2", "4", "8"])
    assert tidy_log_axes(fig).layout.xaxis.ticktext == ("2", "4", "8")


def test_every_server_drawn_log_axis_is_tidied():
    """A figure function that sets type="log" labels it: through tidy_log_axes or log_axis
    (plotly's own small "2" and "5" between decades read as values on a projector)."""
    untidy = []
    for path in sorted(FIGURES.glob("*.py")):
        source = path.read_text(encoding="utf-8")
        for node in ast.parse(source).body:
            if not isinstance(node, ast.FunctionDef) or node.name in ("log_axis", "tidy_log_axes"):
                continue
            body = ast.get_source_segment(source, node)
            sets_log = re.search(r'type\s*=\s*"log"', body)
            if sets_log and "tidy_log_axes(" not in body and "log_axis(" not in body:
                untidy.append(f"{path.name}:{node.name}")
    assert not untidy, untidy


def test_numbers_are_written_for_a_class_not_a_programmer():
    """An audit: panel titles read "σ = 7.8e+04" and "1.5e+02" (that is 150), a sentence
    "−4.15e−05", and one text "4.5e-05" with a hyphen."""
    from bnviz.figures.theme import readable

    cases = {
        (150.0, 2): "150", (78123.0, 2): "7.8×10⁴", (-4.15e-5, 3): "−4.15×10⁻⁵",
        (0.276, 2): "0.28", (0.001, 2): "0.001", (9.9e-4, 2): "9.9×10⁻⁴", (-0.0, 3): "0",
        (1e4, 2): "1×10⁴", (float("inf"), 2): "+∞", (float("nan"), 2): "NaN",
    }  # fmt: skip
    assert {case: readable(*case) for case in cases} == cases


def test_compact_writes_settings_as_the_lessons_do():
    """The babysitting legend read "lr 0.0001" under a sentence saying 1e-4, and a caption
    "eps = 1e-05" where the lessons write 1e-5."""
    values = (1e-4, 1e-5, 2.5e-5, 0.001, 0.01, 0.3, 2.0, 10.0, 0.0)
    assert [compact(v) for v in values] == [
        "1e-4", "1e-5", "2.5e-5", "0.001", "0.01", "0.3", "2", "10", "0"
    ]  # fmt: skip
    assert (
        t("babysitting.fig.run_lr", "zh", label="太低", lr=compact(1e-4)) == "太低（学习率 1e-4）"
    )


def test_exponent_text_writes_a_ratio_as_the_babysitting_lesson_does():
    """Babysitting's ratio table read "6.7e-05" and "1.0e-03" under its title's "≈ 1e-3"."""
    values = (6.72e-5, 1e-3, 0.0012, 0.1, 2.5e-7, 9.96e-4)
    assert [exponent_text(v, 2) for v in values] == [
        "6.7e-5", "1e-3", "1.2e-3", "1e-1", "2.5e-7", "1e-3"
    ]  # fmt: skip


def test_a_line_with_one_point_gets_its_marker_and_others_keep_their_mode():
    fig = go.Figure([
        go.Scatter(x=[0], y=[0.5], mode="lines"),  # one evaluation so far
        go.Scatter(x=[0, 100], y=[0.5, None], mode="lines"),  # one finite point
        go.Scatter(x=[0, 100], y=[0.5, 0.7], mode="lines"),  # a line
        go.Scatter(x=[None], y=[None], mode="lines"),  # a legend's key: nothing to draw
        go.Scatter(x=[0], y=[1.0], mode="markers"),
        go.Heatmap(z=[[1.0]]),
    ])  # fmt: skip
    modes = [getattr(tr, "mode", None) for tr in mark_lone_points(fig).data]
    assert modes == ["lines+markers", "lines+markers", "lines", "lines", "markers", None]


def test_a_chart_with_no_point_yet_says_so_and_one_with_a_point_does_not():
    empty = go.Figure([go.Scatter(x=[], y=[]), go.Scatter(x=[None], y=[None])])
    assert [a.text for a in note_if_empty(empty, "waiting").layout.annotations] == ["waiting"]
    one = go.Figure([go.Scatter(x=[], y=[]), go.Scatter(x=[10], y=[0.5])])
    assert not note_if_empty(one, "waiting").layout.annotations


def _rgb(color: str):
    import numpy as np

    return np.array([int(color[i : i + 2], 16) for i in (1, 3, 5)]) / 255


def test_the_palette_is_told_apart_under_colour_blindness_and_in_grey():
    """Audit 25: no BN and BN differed in hue alone (greyscale: one grey on a washed-out
    projector), and green beside orange, or beside yellow, merged under deuteranopia and
    protanopia (CAM02-UCS ΔE 6). Simulated with Machado et al. 2009 (colorspacious)."""
    import itertools

    import numpy as np
    from colorspacious import cspace_convert, deltaE

    from bnviz.figures.theme import COLORS, PALETTE, contrast

    first = PALETTE[:5]  # babysitting's four rates, preprocessing's four runs, five inits
    for kind in ("deuteranomaly", "protanomaly"):
        cvd = {"name": "sRGB1+CVD", "cvd_type": kind, "severity": 100}
        seen = {c: np.clip(cspace_convert(_rgb(c), cvd, "sRGB1"), 0, 1) for c in first}
        pairs = itertools.combinations(first, 2)
        gaps = {(a, b): float(deltaE(seen[a], seen[b])) for a, b in pairs}
        assert min(gaps.values()) >= 12, (kind, min(gaps.items(), key=lambda kv: kv[1]))
    lightness = {k: cspace_convert(_rgb(COLORS[k]), "sRGB1", "CIELab")[0] for k in ("plain", "bn")}
    assert abs(lightness["plain"] - lightness["bn"]) >= 15, lightness  # grey: still two greys
    assert all(contrast(c) >= 2 for c in first)  # a line on white, not a faint trace


def test_text_in_colour_is_dark_enough_to_read_projected():
    """Babysitting's diagnosis words and every subtitle: at least 4.5:1 on white (audit 25:
    "too low" was 2.0:1, subtitles 3.5:1)."""
    from bnviz.figures import babysitting as FB
    from bnviz.figures.theme import add_subtitle, base_layout, contrast

    assert all(contrast(c) >= 4.5 for c in FB.STATUS_COLORS.values()), FB.STATUS_COLORS
    subtitle = add_subtitle(base_layout("title"), "a measure")["title"]["subtitle"]
    assert contrast(subtitle["font"]["color"]) >= 4.5


def _looks(fig: go.Figure) -> list[tuple]:
    """Each legend entry's (colour, dash, marker symbol): dash where a line is drawn, symbol
    where markers are (a trace of no mode: plotly marks its points while it has few)."""
    looks = []
    for tr in fig.data:
        if tr.showlegend is False:
            continue
        mode = tr.mode or "lines+markers"
        dash = (tr.line.dash or "solid") if "lines" in mode else None
        symbol = (tr.marker.symbol or "circle") if "markers" in mode else None
        looks.append((tr.line.color or tr.marker.color, dash, symbol))
    return looks


def test_a_chart_s_several_series_are_told_apart_without_colour():
    """Audit 26: the dead-ReLU layers, the lab's per-layer views, babysitting's four rates and
    initialization's six inits differed by colour alone: orange, green and amber are one grey,
    and under deuteranopia orange and green merge. The first six series of each differ in dash
    or marker too, and no two series of a chart share a colour and a marker (the deep sigmoid
    net's 11 layers repeated the palette; audit 27: then layers 2 and 10 were both orange
    squares, told apart by a dash the markers hid). A dotted line is drawn wider."""
    import numpy as np

    from bnviz.config import RunConfig
    from bnviz.figures import activations as FA
    from bnviz.figures import babysitting as FB
    from bnviz.figures import initialization as FI
    from bnviz.figures import lab as FL
    from bnviz.lessons import babysitting as B
    from bnviz.lessons import initialization as I
    from bnviz.stepper import Snapshot

    def snap(cfg, **histories):  # drawn as trained: one row per 20 steps
        return Snapshot("r", cfg, "running", **histories)

    steps = np.arange(4) * 20
    grads = {"step": steps, "grad_norm": np.ones((4, 11))}  # 10 sigmoid layers, the output's
    deep = snap(RunConfig(activation="sigmoid", depth=10), telemetry=grads)
    dead = np.linspace(0, 0.5, 16).reshape(4, 4)
    relu = snap(RunConfig(depth=4), evals={"step": steps, "no_grad": dead, "dead": dead})
    curves = {"step": steps, "loss": np.ones(4)}
    acc = {"step": steps, "train_acc": np.ones(4), "test_acc": np.ones(4)}
    rates = {n: snap(B.config("lr", n), losses=curves, evals=acc) for n in B.PRESETS["lr"]}
    stds = {init: np.geomspace(1, 0.1, 11) for init in I.INITS}
    charts = {
        "lab, 11 layers": FL.per_layer_figure({"plain": deep}, "grad_norm", lang="en"),
        "dead ReLUs": FA.dead_figure({"large": relu}, lang="en"),
        "babysitting loss": FB.loss_curves_figure(rates, lang="en"),
        "babysitting accuracy": FB.accuracy_figure(rates, lang="en"),
        "initialization": FI.std_figure(stds, lang="en"),
    }
    for name, fig in charts.items():
        looks = _looks(fig)
        assert len(looks) >= 4, (name, looks)
        assert len(set(looks)) == len(looks), (name, looks)
        first = [(dash, symbol) for _, dash, symbol in looks[:6]]
        assert len(set(first)) == len(first), (name, looks)
        runs = looks[::2] if name == "babysitting accuracy" else looks  # validation: dashed
        marked = [(color, symbol) for color, _, symbol in runs if symbol is not None]
        assert len(set(marked)) == len(marked), (name, looks)
    widths = {tr.line.dash: tr.line.width for tr in charts["babysitting loss"].data}
    assert widths["dot"] == 1.5 * widths["solid"], widths
