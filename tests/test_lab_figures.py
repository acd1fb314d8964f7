"""Lab figure builders: built from real snapshots, asserted on data and layout (not pixels)."""

import dataclasses

import numpy as np
import pytest

from bnviz import live_api
from bnviz.config import RunConfig
from bnviz.figures import lab as figs
from bnviz.figures.live import live_figure
from bnviz.figures.theme import HERO_HEIGHT, readable
from bnviz.i18n import t
from bnviz.lessons import batchnorm_lab as lab
from bnviz.lessons.batchnorm_lab import DEFAULT, pair
from bnviz.runner import train_sync
from bnviz.stepper import Snapshot, Stepper
from bnviz.telemetry import Q15, Q50, Q85


@pytest.fixture(scope="module")
def snaps():
    cfg = RunConfig(dataset="moons", depth=3, width=16, steps=300, log_every=10, eval_every=50)
    return {name: train_sync(c) for name, c in pair(cfg).items()}


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_loss_and_accuracy_have_both_runs(snaps, lang):
    fig = live_figure(live_api.traces(snaps, "loss", {}), "loss", lang=lang)
    data = [tr for tr in fig.data if len(tr.x) and tr.x[0] is not None]
    assert len(data) == 6  # batch, train, test for each run
    assert fig.layout.yaxis.type == "log" and fig.layout.yaxis.exponentformat == "power"
    acc = live_figure(live_api.traces(snaps, "accuracy", {}), "accuracy", lang=lang)
    assert len([tr for tr in acc.data if len(tr.x) and tr.x[0] is not None]) == 4
    assert max(acc.data[0].y) <= 1
    # one legend row: each run once by its color, then each line style once
    legend = [tr.name for tr in fig.data if tr.showlegend is not False]
    runs = [t(f"lab.run.{n}", lang) for n in ("plain", "bn")]
    assert legend[:2] == runs and len(legend) == 5


def advanced_pair(cfg: RunConfig, steps: int) -> tuple[dict, dict]:
    """The lab's pair of `cfg` as Steppers advanced by `steps` steps, and their snapshots."""
    steppers = {name: Stepper(name, c) for name, c in pair(cfg).items()}
    for s in steppers.values():
        if steps:  # 0: as built, nothing trained or evaluated yet
            s.advance(max_steps=steps)
    return steppers, {name: s.snapshot() for name, s in steppers.items()}


def test_a_run_at_step_one_spans_its_first_evaluation():
    """With only step 0's evaluation, plotly's own range was -1..1 (an empty accuracy chart)."""
    cfg = RunConfig(dataset="moons", depth=2, width=8, steps=300, eval_every=50)
    _, snaps = advanced_pair(cfg, 1)
    assert all(list(s.evals["step"]) == [0] for s in snaps.values())
    for view in ("loss", "accuracy"):
        xaxis = live_api.first_paint(snaps, view, "en")["figure"]["layout"]["xaxis"]
        assert xaxis["rangemode"] == "nonnegative"
        assert xaxis["autorangeoptions"]["include"] == [0, 50]


def test_a_streamed_chart_with_no_point_yet_says_it_waits():
    """Paused at step 0 right after a preset, the streamed charts were empty axes: the first
    figure says it waits (stream_chart.js drops the note with the first points)."""
    cfg = RunConfig(dataset="moons", depth=2, width=8, steps=300, eval_every=50)
    steppers, _ = advanced_pair(cfg, 0)

    def notes(view):
        snaps = {name: s.snapshot() for name, s in steppers.items()}
        layout = live_api.first_paint(snaps, view, "zh")["figure"]["layout"]
        return [a["text"] for a in layout.get("annotations", ())]

    assert all(not len(s.snapshot().losses.get("step", ())) for s in steppers.values())
    assert notes("loss") == notes("accuracy") == [t("lab.fig.no_data", "zh")]
    for s in steppers.values():
        s.advance(max_steps=1)
    assert notes("loss") == notes("accuracy") == []


def test_polled_views_with_one_sample_span_steps_to_the_next_sample():
    """Audit 21: paused at step 13, Distributions, Histograms, Saturation and Gradients drew
    step 0's sample on an axis from -1 to 1 (-50 to 50 for the histograms): negative steps.
    Their step axis now runs from 0 to where the next sample will be; from two samples on,
    plotly's own range again."""
    cfg = RunConfig(dataset="moons", depth=2, width=8, steps=300, log_every=25)
    steppers, snaps = advanced_pair(cfg, 13)
    assert all(list(s.telemetry["step"]) == [0] for s in snaps.values())
    figures = {
        "percentiles": figs.percentile_figure(snaps, 0, lang="en"),
        "histograms": figs.histogram_figure(snaps, lang="en"),
        "saturated": figs.per_layer_figure(snaps, "saturated", lang="en"),
        "grad_norm": figs.per_layer_figure(snaps, "grad_norm", lang="en", log_y=True),
    }
    for name, fig in figures.items():
        assert fig.layout.xaxis.range == (-1, 25), name  # markers at step 0 whole
        others = [a for a in fig.layout if a.startswith("xaxis") and a != "xaxis"]
        assert others and all(fig.layout[a].matches == "x" for a in others), name
    for s in steppers.values():
        s.advance(max_steps=13)
    snaps = {name: s.snapshot() for name, s in steppers.items()}
    assert figs.percentile_figure(snaps, 0, lang="en").layout.xaxis.range is None


def test_live_axes_make_room_for_a_wrapped_legend(snaps):
    """The streamed chart is drawn by plotly.js without plotly.py's template, whose automargin
    is off: a legend wrapped to two rows (zh, or a half-width column at 1280x720) then pushed
    the x-axis title into the tick labels."""
    for view in ("loss", "accuracy"):
        fig = live_figure(live_api.traces(snaps, view, {}), view, lang="zh")
        layout = fig.to_plotly_json()["layout"]
        assert layout["xaxis"]["automargin"] is True and layout["yaxis"]["automargin"] is True
        assert layout["xaxis"]["title"]["text"] == t("lab.fig.step", "zh")


def test_percentiles_side_by_side_share_the_y_axis(snaps):
    fig = figs.percentile_figure(snaps, 2, lang="en")
    lines = [tr for tr in fig.data if tr.fill is None]
    assert len(lines) == 6  # 15/50/85 for each run
    plain = snaps["plain"].telemetry["pre_q"][:, 2]
    np.testing.assert_allclose(lines[0].y, plain[:, Q15], rtol=1e-6)
    np.testing.assert_allclose(lines[1].y, plain[:, Q50], rtol=1e-6)
    np.testing.assert_allclose(lines[2].y, plain[:, Q85], rtol=1e-6)
    assert fig.layout.yaxis2.matches == "y"
    assert fig.layout.xaxis.domain[1] < fig.layout.xaxis2.domain[0]


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_percentile_panels_say_how_far_their_lines_move(snaps, lang):
    """The Ioffe sentence's "a third to a half as much with BN" on the first screen: each step
    axis gives its run's drift, the BN one the ratio (the caption under the chart was below
    720 px); until a run has DRIFT_MIN_SAMPLES samples its axis gives none."""
    fig = figs.percentile_figure(snaps, 2, lang=lang)
    plain, bn = (lab.percentile_drift(snaps[n], 2) for n in ("plain", "bn"))
    step = t("lab.fig.step", lang)
    assert fig.layout.xaxis.title.text == (
        f"{t('lab.run.plain', lang)} — {step} · {t('lab.fig.drift', lang, range=f'{plain:.3g}')}"
    )
    assert fig.layout.xaxis2.title.text.endswith(
        t("lab.fig.drift", lang, range=f"{bn:.3g}")
        + t("lab.fig.drift_ratio", lang, ratio=readable(bn / plain))
    )
    few = lab.DRIFT_MIN_SAMPLES - 1
    early = {n: dataclasses.replace(s, telemetry={k: v[:few] for k, v in s.telemetry.items()})
             for n, s in snaps.items()}  # fmt: skip
    titles = [figs.percentile_figure(early, 2, lang=lang).layout[a].title.text
              for a in ("xaxis", "xaxis2")]  # fmt: skip
    assert titles == [f"{t(f'lab.run.{n}', lang)} — {step}" for n in ("plain", "bn")]


@pytest.mark.parametrize("column", ["grad_norm", "saturated"])
def test_per_layer_panels_share_one_labelled_y_axis(snaps, column):
    """Tick labels only on the first panel (the second's hit the first's lines at 1280x720),
    powers of ten rather than SI prefixes ("10n"), and a share never below 0 on the axis."""
    fig = figs.per_layer_figure(snaps, column, lang="en", log_y=column == "grad_norm")
    assert fig.layout.yaxis2.matches == "y" and fig.layout.yaxis2.showticklabels is False
    assert fig.layout.yaxis.showticklabels is not False
    assert fig.layout.yaxis.exponentformat == "power"
    assert (fig.layout.yaxis.rangemode == "nonnegative") == (column == "saturated")


def test_window_limits_the_steps_drawn(snaps):
    fig = figs.percentile_figure(snaps, 0, lang="en", window=(100, 200))
    xs = np.concatenate([np.asarray(tr.x) for tr in fig.data if tr.fill is None])
    assert xs.min() >= 100 and xs.max() <= 200


def test_histogram_grid_has_a_heatmap_per_layer_and_run(snaps):
    fig = figs.histogram_figure(snaps, lang="en")
    heat = [tr for tr in fig.data if tr.type == "heatmap"]
    assert len(heat) == 2 * 3
    assert np.asarray(heat[0].z).shape == (40, len(snaps["plain"].telemetry["step"]))
    # both edge rows (values past ±6) drawn: plotly's "best" smoothing lost the bottom one in
    # the browser, so a saturated layer showed one dark edge, not two (audit 11's screenshots)
    assert {tr.zsmooth for tr in heat} == {"fast"}
    assert list(heat[0].y[[0, -1]]) == pytest.approx([-5.85, 5.85])  # the edge bins' centres
    # a column is centred on its sample: plotly's own range began at step −50 (a teacher's pass)
    assert fig.layout.xaxis.autorangeoptions.minallowed == 0 and fig.layout.xaxis.range is None


def test_histograms_of_up_to_six_layers_end_on_a_projectors_first_screen():
    """Audit 9: at 66 px a layer the lab's four layers and the runs' names went below 720 px
    under a three-line sentence (large learning rate), and six layers (small, large init)
    below it under any: from the chart's top there (354, 329 px) 340 and 360 px are left,
    less the 40 px base_layout adds under a plot. Over four layers the panels' titles are
    their numbers ("layer 5" along each ran into the next ones') and two tick labels each."""
    assert figs.histogram_height(4) <= 354 - 40
    assert all(figs.histogram_height(n) <= 360 - 40 for n in range(1, 7))
    assert figs.histogram_height(10) > figs.histogram_height(6)  # not squeezed past reading
    cfg = RunConfig(depth=6, width=8, steps=4, log_every=1, eval_every=2)
    deep = {"plain": train_sync(cfg), "bn": train_sync(cfg.replace(norm="batchnorm"))}
    fig = figs.histogram_figure(deep, lang="en")
    titles = [fig.layout[f"yaxis{k if k > 1 else ''}"].title.text for k in range(1, 7)]
    assert titles == ["1", "2", "3", "4", "5", "6"] and fig.layout.height == 320 + 40
    assert fig.layout.yaxis.tickvals == (-5, 5)


def test_health_gradients_and_boundary(snaps):
    dead = figs.per_layer_figure(snaps, "dead", lang="en")
    assert len(dead.data) == 6
    ratio = figs.per_layer_figure(snaps, "update_ratio", lang="en", guide=-3.0)
    assert ratio.data[-1].y == (-3.0, -3.0)
    assert ratio.data[3].name == "output"  # under the legend title "layer"
    x = np.zeros((5, 2), np.float32)
    b = figs.boundary_figure(snaps, x, np.zeros(5, int), lang="en")
    assert len([tr for tr in b.data if tr.type == "heatmap"]) == 2
    # each panel named under it, and the whole figure as tall as a hero chart: at 380 px the
    # names fell below the first screen of a 1280x720 projector
    assert (b.layout.xaxis.title.text, b.layout.xaxis2.title.text) == ("no BN", "with BN")
    assert b.layout.height <= HERO_HEIGHT + 40
    # each panel spans its grid and shrinks to it on a wide screen (the axes grew to -6..6 at
    # 1920x1080, blank beside the grid)
    grid = snaps["plain"].boundary["x"]
    step = float(grid[1] - grid[0])
    for axis in (b.layout.xaxis, b.layout.yaxis, b.layout.xaxis2, b.layout.yaxis2):
        assert axis.constrain == "domain" and axis.zeroline is False, axis
    assert list(b.layout.xaxis.range) == pytest.approx([grid[0] - step / 2, grid[-1] + step / 2])


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_a_net_that_guesses_the_same_everywhere_says_so_on_its_boundary_panel(snaps, lang):
    """Audit 37: the deep sigmoid preset's net without BN ends at P = 0.49 on the whole grid; its
    panel was one pale colour under the test points, taken for a chart that failed to draw."""
    flat = {**snaps["plain"].boundary, "p": np.full_like(snaps["plain"].boundary["p"], 0.4946)}
    runs = {"plain": dataclasses.replace(snaps["plain"], boundary=flat), "bn": snaps["bn"]}
    assert np.ptp(snaps["bn"].boundary["p"]) > 0.5  # the trained partner draws a boundary
    x = np.zeros((5, 2), np.float32)
    fig = figs.boundary_figure(runs, x, np.zeros(5, int), lang=lang)
    [note] = fig.layout.annotations  # on the flat panel only
    assert note.text == t("lab.fig.same_guess", lang, p="0.49") and note.xref == "x domain"
    assert not figs.boundary_figure(snaps, x, np.zeros(5, int), lang=lang).layout.annotations


def test_empty_snapshots_give_a_waiting_figure_not_an_error():
    empty = {n: Snapshot(n, RunConfig(), "queued") for n in ("plain", "bn")}
    for lang, fig in (
        ("zh", figs.percentile_figure(empty, 0, lang="zh")),
        ("en", figs.histogram_figure(empty, lang="en")),
        ("en", figs.per_layer_figure(empty, "saturated", lang="en")),
        ("en", figs.boundary_figure(empty, np.zeros((1, 2)), np.zeros(1), lang="en")),
    ):
        assert len(fig.data) == 0 and fig.layout.title.text == t("lab.fig.no_data", lang)


def test_a_run_with_no_sample_yet_beside_one_with_samples_draws_its_partner(snaps):
    """CI: the net without BN still queued while the BN net had samples: the percentile figure
    set the range of a first panel that was not there (KeyError: 'yaxis'), and the page raised.
    The drawn panel has the range, its own tick labels and no axis to match."""
    only_bn = {"plain": Snapshot("plain", RunConfig(), "queued"), "bn": snaps["bn"]}
    fig = figs.percentile_figure(only_bn, 1, lang="en")
    assert len([tr for tr in fig.data if tr.fill is None]) == 3
    assert fig.layout.yaxis2.range is not None and fig.layout.yaxis2.matches is None
    for column in ("saturated", "grad_norm"):
        fig = figs.per_layer_figure(only_bn, column, lang="en")
        assert fig.data and fig.layout.yaxis2.showticklabels is not False, column
        assert fig.layout.xaxis2.matches is None and fig.layout.yaxis2.matches is None


@pytest.mark.parametrize("column", ["dead", "grad_norm"])  # a ReLU net's panels
def test_a_run_that_diverged_early_shares_its_partners_step_axis_and_is_marked(column):
    """An audit: ReLU, He init, lr 1, seed 7: the net without BN diverges at step 7, and its
    panel showed one dot at step 0 on an axis from -1 to 1 beside its partner's 0 to 300, with
    no mark saying so (the Loss view has one)."""
    cfg = DEFAULT.replace(seed=7, activation="relu", init="he", steps=300)
    runs = {name: train_sync(c) for name, c in pair(cfg).items()}
    assert runs["plain"].state == "diverged" and runs["bn"].state == "finished"
    fig = figs.per_layer_figure(runs, column, lang="en", log_y=column == "grad_norm")
    assert fig.layout.xaxis2.matches == "x"  # one step axis: 0 to 300 in both panels
    (mark,) = [tr for tr in fig.data if tr.mode == "markers+text"]
    assert list(mark.text) == [t("lab.fig.diverged", "en")] and mark.xaxis == "x"
    assert mark.x[0] == runs["plain"].telemetry["step"][-1]
    assert not [
        tr
        for tr in figs.per_layer_figure(runs | {"plain": runs["bn"]}, column, lang="en").data
        if tr.mode == "markers+text"
    ]


def test_a_run_that_diverged_early_shares_the_step_axis_on_distributions_and_histograms():
    """An audit (lr 10, ReLU, large init, 6 layers): the Distributions view drew the diverged
    run's one sample at step 0 on an axis from -1 to 1 ("step -0.5"); the Histograms view
    stretched its one column across the whole panel, as if its values had stayed all run. The
    panels now share the partner's step axis, the column is one sampling interval wide, and an
    x labelled "diverged" says where the run ended, as on every other view."""
    cfg = DEFAULT.replace(seed=7, activation="relu", init="he", steps=300)
    runs = {name: train_sync(c) for name, c in pair(cfg).items()}
    assert runs["plain"].state == "diverged"
    last = int(runs["plain"].telemetry["step"][-1])
    fig = figs.percentile_figure(runs, 1, lang="en")
    assert fig.layout.xaxis2.matches == "x"
    # each panel its own y range: the diverged run's step-0 spread flattened BN's lines
    assert fig.layout.yaxis2.matches is None and fig.layout.yaxis.range != fig.layout.yaxis2.range
    bn = runs["bn"].telemetry["pre_q"][:, 1]
    assert fig.layout.yaxis2.range[1] - fig.layout.yaxis2.range[0] < 1.2 * (bn.max() - bn.min())
    together = figs.percentile_figure(runs | {"plain": runs["bn"]}, 1, lang="en").layout
    assert together.yaxis2.matches == "y" and together.yaxis.range == together.yaxis2.range
    (mark,) = [tr for tr in fig.data if tr.mode == "markers+text"]
    assert mark.x[0] == last and list(mark.text) == [t("lab.fig.diverged", "en")]
    fig = figs.histogram_figure(runs, lang="en")
    axes = [k for k in fig.layout.to_plotly_json() if k.startswith("xaxis")]
    assert len(axes) > 2 and all(fig.layout[k].matches == "x" for k in axes if k != "xaxis")
    (mark,) = [tr for tr in fig.data if tr.type == "scatter"]
    assert mark.x[0] > last and mark.xaxis == "x"  # beside its last column, in the top row
    columns = [tr for tr in fig.data if tr.type == "heatmap" and tr.xaxis == "x"]
    assert len(runs["plain"].telemetry["step"]) == 1  # diverged at step 7: one sample
    assert columns[0].dx == runs["plain"].config.log_every and columns[0].x is None  # its width
    healthy = figs.histogram_figure(runs | {"plain": runs["bn"]}, lang="en")
    assert not [tr for tr in healthy.data if tr.type == "scatter"]


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_per_layer_legend_names_layers_by_number_under_one_title(lang):
    """Audit 27: "layer 1" … "layer 10", "output layer" took four legend rows in a half-width
    chart at 1280 px and left the deep sigmoid net's gradient plot 110 px tall. The legend is
    titled "layer" and names each by its number; the hover still says the whole name."""
    steps = np.arange(4) * 25
    tel = {"step": steps, "grad_norm": np.ones((4, 11))}
    snap = Snapshot("r", RunConfig(activation="sigmoid", depth=10), "running", telemetry=tel)
    fig = figs.per_layer_figure({"plain": snap}, "grad_norm", lang=lang, log_y=True)
    names = [tr.name for tr in fig.data if tr.showlegend is not False]
    assert names == [str(k) for k in range(1, 11)] + [t("lab.fig.output_short", lang)], names
    assert fig.layout.legend.title.text == t("lab.fig.layers", lang)
    assert fig.data[2].hovertemplate.endswith(t("lab.fig.layer_n", lang, layer=3) + "</extra>")
    assert t("lab.fig.output_layer", lang) in fig.data[10].hovertemplate


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_a_panel_whose_lines_all_lie_at_zero_says_so(lang):
    """The deep sigmoid net's Saturation view: 0 of 640 units saturate in either run, and a
    class read its 20 lines on the axis as an empty chart. A panel at 0 says why, and for
    sigmoid what still shrinks the gradient; a panel with a saturated unit says nothing."""
    steps = np.arange(4) * 100
    cfg = RunConfig(activation="sigmoid", depth=10)
    flat = {"step": steps, "saturated": np.zeros((4, 10))}
    some = {"step": steps, "saturated": np.zeros((4, 10))}
    some["saturated"][2, 7] = 0.01
    snaps = {
        "plain": Snapshot("a", cfg, "finished", telemetry=flat),
        "bn": Snapshot("b", cfg.replace(norm="batchnorm"), "finished", telemetry=some),
    }
    fig = figs.per_layer_figure(snaps, "saturated", lang=lang)
    notes = fig.layout.annotations
    assert len(notes) == 1 and notes[0].xref == "x domain", notes
    assert t("lab.fig.none_saturated", lang) in notes[0].text
    assert t("lab.fig.sigmoid_slope", lang) in notes[0].text
    assert fig.layout.yaxis.tickformat == ".2~%"  # as the panels' titles: "0.0% saturated"
    tanh = {k: dataclasses.replace(s, config=s.config.replace(activation="tanh"))
            for k, s in snaps.items()}  # fmt: skip
    text = figs.per_layer_figure(tanh, "saturated", lang=lang).layout.annotations[0].text
    assert text == t("lab.fig.none_saturated", lang)
    dead = {k: dataclasses.replace(s, telemetry={"step": steps, "dead": s.telemetry["saturated"]})
            for k, s in snaps.items()}  # fmt: skip
    notes = figs.per_layer_figure(dead, "dead", lang=lang).layout.annotations
    assert [n.text for n in notes] == [t("lab.fig.none_dead", lang)]
    grads = {k: dataclasses.replace(s, telemetry={"step": steps, "grad_norm": np.zeros((4, 11))})
             for k, s in snaps.items()}  # fmt: skip
    grad_fig = figs.per_layer_figure(grads, "grad_norm", lang=lang)
    assert not grad_fig.layout.annotations  # no share
    # no gradient in the first layer (or a diverged run's NaN): no "shrinks NaN× per layer"
    assert not [k for k in grad_fig.layout if k.startswith("xaxis") and "NaN" in
                grad_fig.layout[k].title.text]  # fmt: skip


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_a_gradient_growing_toward_the_input_is_not_written_as_a_division(lang):
    """Audit 33: "÷0.81 per layer" read as a shrink where the gradient grows toward the input."""
    from bnviz.figures.lab import shrink_label

    assert shrink_label(4.1, lang) == t("lab.fig.shrink", lang, times="4.1")
    grows = shrink_label(0.81, lang)
    assert grows == t("lab.fig.grow", lang, times="1.2") and "÷" not in grows, grows
