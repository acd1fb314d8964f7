"""Preprocessing and babysitting figures: traces, texts and axes from the data they are given."""

import math

import numpy as np
import pytest
import torch

from bnviz.figures import babysitting as FB
from bnviz.figures import preprocessing as FP
from bnviz.figures.theme import STRETCH
from bnviz.i18n import LANGS, t
from bnviz.lessons import babysitting as B
from bnviz.lessons import preprocessing as P
from bnviz.lessons import preprocessing_data as D
from bnviz.runner import train_sync
from bnviz.stepper import Snapshot
from bnviz.train import Trainer


@pytest.fixture(scope="module")
def snaps():
    """Short runs: the four learning rates and a digits run with first-layer weights."""
    torch.set_num_threads(1)
    lr = {n: train_sync(B.config("lr", n).replace(steps=30)) for n in B.PRESETS["lr"]}
    return lr, train_sync(B.config("weights", "watch").replace(steps=125))


@pytest.mark.parametrize("lang", LANGS)
def test_panels_figure_shows_each_panels_points_and_covariance(lang):
    pans = P.panels(P.CloudConfig())
    fig = FP.panels_figure(pans, lang=lang)
    assert len(fig.data) == 5
    np.testing.assert_allclose(fig.data[4].x, pans[4].points[:, 0].astype(np.float32))
    texts = [a.text for a in fig.layout.annotations]
    assert any(FP.cov_text(pans[0].cov) in s for s in texts)
    assert t("preprocessing.panel.whiten", lang) in texts


def test_cov_text_and_mosaic():
    assert FP.cov_text(np.array([[1.0, 0.5], [0.5, 2.0]])) == "[ 1.00,  0.50]<br>[ 0.50,  2.00]"
    m = FP.mosaic(np.arange(3 * 4).reshape(3, 2, 2).astype(float), cols=2)
    assert m.shape == (5, 5) and np.isnan(m[2]).all() and m[3, 0] == 8


def test_bowls_figure_titles_carry_kappa():
    probs = P.contour_problems(P.preset("offset_only"))
    fig = FP.bowls_figure(probs, lang="en")
    assert len(fig.data) == 3 and all(d.type == "contour" for d in fig.data)
    kappa = P.bowl_shape(probs["original"])[0]
    assert f"κ = {kappa:.1f}" in fig.layout.annotations[0].text
    paths = {k: P.descend(p) for k, p in probs.items()}
    fig = FP.bowls_figure(probs, paths, lang="zh")
    assert [d.type for d in fig.data] == ["contour", "scatter"] * 3
    steps = paths["original"].steps_to_converge
    assert fig.data[1].name == t("preprocessing.fig.gd_path", "zh", steps=steps)
    # and in each panel's title: on hover only, a projector never showed the preset's point
    # (audit 11: "1 to 2 steps instead of over 100", and the page printed only κ)
    titles = [a.text.split("<br>")[-1] for a in fig.layout.annotations]
    one = {k: p.steps_to_converge == 1 for k, p in paths.items()}
    assert titles == [
        t("preprocessing.fig.gd_steps_one", "zh")
        if one[k]
        else t("preprocessing.fig.gd_steps", "zh", steps=p.steps_to_converge)
        for k, p in paths.items()
    ], titles
    names = [d.name for d in FP.bowls_figure(probs, paths, lang="en").data if d.type == "scatter"]
    one = [k for k, d in paths.items() if d.steps_to_converge == 1]
    assert one, {k: d.steps_to_converge for k, d in paths.items()}  # whitening: a round bowl
    assert "gradient descent: one step to within 1 %" in names and "1 steps" not in str(names)
    assert fig.data[0].x[0] <= 0 <= fig.data[0].x[-1]  # the grid covers the start w = 0


def test_each_bowl_panel_shows_its_whole_grid_and_nothing_past_it():
    """Audit 16: plotly cut the square grid to the panel's shape and drew bits of the contour
    lines outside the axes, over the whitened panel's title. The axes are the grid's."""
    probs = P.contour_problems(P.preset("lecture"))
    fig = FP.bowls_figure(probs, {k: P.descend(p) for k, p in probs.items()}, lang="en")
    layout = fig.layout.to_plotly_json()
    contours = [d for d in fig.data if d.type == "contour"]
    for i, trace in enumerate(contours, start=1):
        x, y = layout[f"xaxis{i if i > 1 else ''}"], layout[f"yaxis{i if i > 1 else ''}"]
        assert x["constrain"] == y["constrain"] == "domain", (x, y)
        assert list(x["range"]) == [trace.x[0], trace.x[-1]], (x["range"], trace.x[[0, -1]])
        assert list(y["range"]) == [trace.y[0], trace.y[-1]], (y["range"], trace.y[[0, -1]])


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_a_round_bowl_is_given_no_long_axis(lang):
    """An audit: the whitened panel read "κ = 1.0, long axis at 90°"; a round bowl has none."""
    probs = P.contour_problems(P.preset("lecture"))
    titles = [a.text for a in FP.bowls_figure(probs, lang=lang).layout.annotations]
    shapes = {k: P.bowl_shape(p)[0] for k, p in probs.items()}
    for title, kappa in zip(titles, shapes.values(), strict=True):
        assert ("°" in title) == (kappa >= FP.ROUND_KAPPA), (title, kappa)
    assert min(shapes.values()) < FP.ROUND_KAPPA < max(shapes.values()), shapes  # both kinds


def _snap(kind: str, state: str, acc, step: int = 30, diverged_at=None) -> Snapshot:
    evals = {"step": np.arange(0, 10 * len(acc), 10), "test_acc": np.asarray(acc, float)}
    cfg = D.run_configs()[kind]
    return Snapshot("id-" + kind, cfg, state, step, 300, evals=evals, diverged_at=diverged_at)


@pytest.mark.parametrize("lang", LANGS)
def test_training_figure_draws_each_run_and_says_when_it_reached_the_target(lang):
    snaps = {
        "raw": _snap("raw", "finished", [0.1, 0.2, 0.3, 0.4], step=300),
        "center": _snap("center", "running", [0.1, 0.5, 0.8, 0.85]),
        "normalize": _snap("normalize", "running", [0.1, 0.6, 0.92, 0.95]),
        "whiten": _snap("whiten", "diverged", [0.1, 0.3], step=12, diverged_at=13),
    }
    fig = FP.training_figure(snaps, lang=lang)
    tr = lambda key, **kw: t(f"preprocessing.{key}", lang, **kw)  # noqa: E731
    assert [d.name for d in fig.data] == [
        tr("input.raw") + " · " + tr("fig.not_reached", steps=300),
        tr("input.center") + " · " + tr("fig.not_yet"),
        tr("input.normalize") + " · " + tr("fig.reached", step=20),  # the first step at 0.9
        tr("input.whiten") + " · " + tr("fig.diverged_at", step=13),
    ]
    np.testing.assert_allclose(fig.data[2].y, [0.1, 0.6, 0.92, 0.95], rtol=1e-6)
    assert list(fig.data[3].x) == [0, 10]
    assert fig.layout.shapes[0].y0 == D.TARGET and list(fig.layout.xaxis.range) == [0, 300]
    assert D.steps_to_target(snaps["normalize"]) == 20 and D.steps_to_target(snaps["raw"]) is None


def test_pca_and_photo_figures():
    ev = np.linspace(0.1, 1, 64)
    assert FP.explained_figure(ev).data[0].y[-1] == pytest.approx(1)
    # the sentence's k = 2 and 10 carry their values (audit 31: read off the curves)
    said = [(k + 1, text) for k, text in enumerate(FP.explained_figure(ev).data[0].text) if text]
    assert said == [(2, f"{100 * ev[1]:.0f} %"), (10, f"{100 * ev[9]:.0f} %")], said
    acc = FP.accuracy_k_figure([1, 2, 10], np.array([0.3, 0.62, 0.913]), lang="zh").data[0]
    assert list(acc.text) == ["", "62%", "91%"]
    recs = np.random.default_rng(0).uniform(0, 16, (3, 5, 64))
    fig = FP.reconstructions_figure(recs, [1, 10, 64])
    assert fig.data[0].z.shape == (26, 44) and list(fig.layout.yaxis.ticktext)[1] == "k = 10"
    # the axes shrink to the mosaic, so the row labels sit beside it on a wide screen (they were
    # ~400 px left of the digits at 1920x1080), and no grid line crosses the empty sides
    for axis in (fig.layout.xaxis, fig.layout.yaxis):
        assert axis.constrain == "domain" and axis.showgrid is False, axis
    assert list(FP.accuracy_k_figure([2, 10], np.array([0.6, 0.9])).data[0].y) == [
        pytest.approx(0.6),
        pytest.approx(0.9),
    ]
    patches = np.random.default_rng(1).uniform(0, 1, (10, 4, 4, 3))
    fig = FP.mean_image_figure(D.mean_image(patches))
    assert len(fig.data) == 3 and fig.data[2].z.shape == (4, 4, 3)
    assert len({tuple(px) for px in fig.data[2].z.reshape(-1, 3)}) == 1  # one flat colour
    centered = FP.centered_figure(D.centered_patch(patches, 0))
    assert len(centered.data) == 3
    # pictures have no ticks: the template's drew unlabelled marks along each photo (audit 31)
    for picture in (fig, centered, FP.reconstructions_figure(recs, [1, 10, 64])):
        axes = [picture.layout[k] for k in picture.layout if k.startswith(("xaxis", "yaxis"))]
        assert len(axes) >= 2 and all(a.ticks == "" for a in axes if not a.tickvals), picture
    fig = FP.noise_gain_figure(np.array([1e-5, 0.1]), np.array([80.0, 3.0]))
    assert fig.layout.xaxis.type == "log" and fig.layout.yaxis.type == "log"
    # the dotted line at 1 is named (an audit read it as an axis)
    [note] = fig.layout.annotations
    assert note.text == t("preprocessing.fig.no_gain")
    assert (note.yref, note.y, note.yanchor) == ("y", 0, "bottom")  # on it: log10(1) = 0


@pytest.mark.parametrize("lang", LANGS)
def test_loss_curves_mark_the_diverged_run(snaps, lang):
    lr, _ = snaps
    fig = FB.loss_curves_figure(lr, lang=lang)
    assert len(fig.data) == 4
    far = lr["far_too_high"]
    assert t("babysitting.fig.diverged_at", lang, step=far.diverged_at) in fig.data[3].name
    # the blow-up leaves through the top, a decade above the other runs' highest loss: up to
    # 10⁶ it took nine decades and pressed "too low" and "high" (both near 2) into one line
    kept = max(
        np.nanmax(np.asarray(s.losses["loss"], float)) for n, s in lr.items() if n != "far_too_high"
    )
    top = max(np.nanmax(np.asarray(d.y, float)) for d in fig.data)
    assert top == pytest.approx(10 * kept, rel=1e-6), (top, kept)
    # readable from the back row: every decade label in 14 px, as 10ⁿ past 10 000 (plotly's
    # own ticks read "1M", "10k" and put small "2", "5" between the powers)
    y = fig.layout.yaxis
    assert y.type == "log" and len(y.tickvals) == len(y.ticktext) >= 3
    assert not any(c in text for text in y.ticktext for c in "kMe")
    assert "1" in y.ticktext and max(y.tickvals) <= 20 * kept
    alone = FB.loss_curves_figure({"far_too_high": far}, lang=lang)  # nothing to keep in view
    assert "10<sup>6</sup>" in alone.layout.yaxis.ticktext  # its blow-up, capped at 10⁶


def test_first_loss_and_accuracy_figures(snaps):
    lr, _ = snaps
    fig = FB.first_loss_figure({"too_low": lr["too_low"]})
    assert fig.data[0].y[0] == pytest.approx(B.first_loss(lr["too_low"]))
    assert fig.layout.shapes[0].y0 == pytest.approx(math.log(10))
    assert fig.layout.yaxis.ticktext and fig.layout.yaxis.tickfont.size is None  # 14 px labels
    note = fig.layout.annotations[0]  # ln C on the left, just above its line (a log axis
    assert (note.x, note.xanchor, note.yanchor) == (0, "left", "bottom")  # takes log10 of y)
    assert note.y == pytest.approx(math.log10(math.log(10)))
    # the bars rise from a decade below ln C, so a bar at ln C is a decade tall beside a large
    # init's 262 (audit 33: from the data's least value it was a 10 px sliver)
    low, high = fig.layout.yaxis.range
    assert low == pytest.approx(math.log10(math.log(10)) - 1) and high > math.log10(math.log(10))
    fig = FB.accuracy_figure({"good": lr["good"]})
    assert [d.line.dash for d in fig.data] == ["solid", "dash"]


def test_ratio_table_colours_each_status():
    rows = [B.RatioRow(0, -1.0, "too_high", "lower_lr"), B.RatioRow(1, -3.0, "ok", "keep")]
    fig = FB.ratio_table_figure(rows, lang="zh")
    assert fig.layout.meta == {"stretch": False}  # rows keep their height on a taller window
    cells = fig.data[0].cells.values
    assert list(cells[0]) == ["1", t("babysitting.fig.head", "zh")]
    assert list(cells[1]) == ["1e-1", "1e-3"]  # as the title writes its target, 1e-3
    assert list(cells[3]) == [
        t("babysitting.advice.lower_lr", "zh", factor="100"),  # 1e-1 is 100x 1e-3
        t("babysitting.advice.keep", "zh"),
    ]


@pytest.mark.parametrize("lang", LANGS)
def test_weights_strip_draws_four_units_at_every_moment_with_its_roughness(snaps, lang):
    _, snap = snaps  # 125 steps: every moment reached, on the evaluation grid (25)
    frames = B.strip(snap)
    fig = FB.weights_strip_figure(snap, lang=lang)
    z = np.asarray(fig.data[0].z, float)
    pitch = 8 + FB.STRIP_GAP
    assert z.shape == (4 * 9 - 1, len(frames) * pitch - FB.STRIP_GAP)  # 4 units, 1-pixel gaps
    for i, f in enumerate(frames):
        tiles = B.weight_images(snap, f.row)[:4]
        drawn = z[:, i * pitch : i * pitch + 8]
        for u in range(4):  # unit u of moment i, on its own scale
            want = tiles[u] / np.abs(tiles[u]).max()
            np.testing.assert_allclose(drawn[u * 9 : u * 9 + 8], want, rtol=1e-6, atol=1e-6)
    texts = [a.text for a in fig.layout.annotations]
    for f in frames:
        assert t("babysitting.fig.strip_step", lang, step=f.step) in texts
        assert t("babysitting.fig.strip_roughness", lang, value=f.roughness) in texts
    assert [f.step for f in frames] == [0, 25, 50, 75, 100, 125]
    assert fig.layout.meta == STRETCH  # taller on a taller screen (tests/test_layout.py)


def test_weights_strip_of_a_run_in_progress_fills_in_from_the_left():
    cfg = B.config("weights", "watch").replace(steps=125)
    tr = Trainer(cfg)
    for _ in range(60):
        tr.step()
    tr.record_eval()  # what a snapshot at step 60 holds: rows at 0, 25, 50 and the newest, 60
    snap = Snapshot("r", cfg, "running", 60, 125, first_layer=tr.first_layer.view())
    frames = B.strip(snap)
    assert [f.target for f in frames] == [0, 25, 50, 75, 100, 125]
    assert [f.step for f in frames] == [0, 25, 50, 60, None, None]
    assert [f.live for f in frames] == [False, False, False, True, False, False]
    fig = FB.weights_strip_figure(snap)
    z = np.asarray(fig.data[0].z, float)
    assert np.isfinite(z[:, : 4 * (8 + FB.STRIP_GAP) - FB.STRIP_GAP]).any(0).sum() == 4 * 8
    assert np.isnan(z[:, 4 * (8 + FB.STRIP_GAP) :]).all()  # the later moments are empty frames
    assert len(fig.layout.shapes) == 2
    texts = [a.text for a in fig.layout.annotations]
    assert t("babysitting.fig.strip_now", step=60) in texts
    assert t("babysitting.fig.strip_step", step=125) in texts  # an empty frame says its step


def test_babysitting_figures_accept_queued_runs():
    queued = Snapshot("q", B.BASE, "queued")
    assert len(FB.loss_curves_figure({"good": queued}).data) == 0
    assert len(FB.accuracy_figure({"good": queued}).data) == 0
    assert len(FB.first_loss_figure({"small": queued}).data[0].y) == 0
    waiting = FB.weights_strip_figure(queued).layout.title.text
    assert waiting == t("babysitting.fig.weights_waiting")
    assert [f.row for f in B.strip(queued)] == [None] * B.STRIP_FRAMES
    assert B.ratio_table(queued) == []


def test_ratio_tables_put_every_run_in_one_table_labelled_once():
    rows = [B.RatioRow(0, -5.0, "too_low", "raise_lr"), B.RatioRow(1, math.nan, "none", "check")]
    fig = FB.ratio_tables_figure({"A (0.0001)": rows, "B (1)": rows[:1]}, lang="en")
    assert fig.layout.meta == {"stretch": False}  # the page's table: blank under it if stretched
    cells = fig.data[0].cells.values
    assert list(cells[0]) == ["A (0.0001)", "", "B (1)"]
    assert list(cells[1]) == ["1", t("babysitting.fig.head"), t("babysitting.fig.head")]
    assert list(cells[2]) == ["1e-5", "—", "1e-5"]
    assert list(fig.data[0].cells.font.color[3]) == [
        FB.STATUS_COLORS[s] for s in ("too_low", "none", "too_low")
    ]
