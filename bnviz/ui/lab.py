"""The BatchNorm lab's views: what each one draws from the pair's snapshots."""

from __future__ import annotations

from functools import partial

import streamlit as st

from bnviz.config import Note
from bnviz.datasets import TWO_D, make_dataset, n_features
from bnviz.figures import lab as figs
from bnviz.figures.theme import readable
from bnviz.lessons import batchnorm_lab as lab
from bnviz.ui import common, live, plot
from bnviz.ui.stream_chart import stream_chart

VIEWS = ("loss", "percentiles", "histograms", "health", "gradients", "boundary")


def presets_for(view: str, presets: dict[str, dict], base) -> dict[str, dict]:
    """The presets; on the decision-boundary view, those whose run it cannot draw (digits: 64
    inputs) also open Loss & accuracy. The Ioffe preset there left the class no chart at all.
    They stay selected on the boundary view too (a teacher who goes through the views after
    the preset found it deselected there, under "on your settings … pick a preset", audit 9)."""
    if view != "boundary":
        return presets
    drawable = lambda values: values.get("dataset", base.dataset) in TWO_D  # noqa: E731
    opens = (VIEWS[0], "boundary")  # a click opens the first; the preset holds on both
    return {n: v if drawable(v) else {**v, "view": opens} for n, v in presets.items()}


LAYER_VIEWS = ("percentiles",)  # the views that use the layer picker
WINDOW_VIEWS = ("percentiles", "histograms", "health", "gradients")  # and the step window


def _start(cfg, shown: lab.View) -> lab.View:
    """Where the pickers start: the link's layer and steps, within the pair's."""
    end = min(shown.shown_to or cfg.steps, cfg.steps)
    return lab.View(
        layer=min(shown.layer or cfg.depth, cfg.depth),
        shown_from=shown.shown_from if shown.shown_from < end else 0,
        shown_to=end,
    )


def view_settings(ctx, cfg, view: str, shown: lab.View) -> tuple[int, tuple[int, int]]:
    """The sidebar's layer picker and step window (their keys follow depth and steps), greyed
    out on the views that do not use them (as every page's unused settings); a new picker
    starts at the link's values (`shown`), and what they show goes into the share link."""
    start = _start(cfg, shown)
    with st.sidebar:
        layer = st.selectbox(
            ctx.tr("lab.field.layer"), range(cfg.depth), index=start.layer - 1,
            format_func=lambda i: ctx.tr("lab.fig.layer_n", layer=i + 1),
            key=f"lab.layer.{cfg.depth}", help=ctx.tr("lab.layer_help"),
            disabled=view not in LAYER_VIEWS,
        )  # fmt: skip
        window = st.slider(
            ctx.tr("run.window"), 0, cfg.steps, (start.shown_from, start.shown_to),
            key=f"lab.window.{cfg.steps}", disabled=view not in WINDOW_VIEWS,
        )  # fmt: skip
    said = lab.View(  # the deepest layer and the whole run: the defaults, a short link
        layer=None if layer == cfg.depth - 1 else layer + 1,
        shown_from=window[0],
        shown_to=None if window[1] == cfg.steps else window[1],
    )
    ctx.remember(said, lab.View())
    return layer, window


def link_notes(ctx, cfg, shown: lab.View) -> list[Note]:
    """A link's layer or steps past the pair's (layer=5 on 3 layers, steps shown up to 5000 of
    1500): the pickers show the deepest layer, the whole run, and the page says so, with the
    pair's range."""
    start, instead = _start(cfg, shown), {"layer": None, "shown_to": None, "shown_from": 0}
    bounds = {"layer": (1, cfg.depth), "shown_to": (0, cfg.steps)}
    ranged = common.ranges_here(ctx, lab.View, bounds | {"shown_from": (0, start.shown_to - 1)})
    return [
        Note(name, ctx.params.get(name), instead[name], "past the pair's", ranged[name])
        for name in instead
        if name in ctx.params and getattr(shown, name) not in (None, getattr(start, name))
    ]


def drift(ctx, snaps, layer: int) -> None:
    """How far the layer's 15/50/85 % lines wander in each run, as a number: the Ioffe preset
    says "a third to a half as much with BN", and the chart alone left the class to guess."""
    moves = lab.percentile_drifts(snaps, layer)
    if set(snaps) != {"plain", "bn"} or set(moves) != {"plain", "bn"}:
        return
    plain, bn = moves["plain"], moves["bn"]
    st.caption(ctx.tr(
        "lab.drift", layer=layer + 1, plain=f"{plain:.3g}", bn=f"{bn:.3g}",
        ratio=readable(bn / plain) if plain else "—",  # 3 digits, as the ranges: "557.33" had 5
    ))  # fmt: skip


def drawer(ctx, cfg, view: str, labels: dict[str, str], shown: lab.View):
    """draw(snaps): the charts of `view`, each figure shared by every tab showing it."""
    layer, window = view_settings(ctx, cfg, view, shown)
    kw = dict(lang=ctx.lang, window=window)

    def chart(snaps, kind: str, build, where=st) -> None:
        fig = live.cached_figure(snaps, kind, layer, window, ctx.lang, build=build)
        plot.chart(where, fig, key=f"lab.{kind}")

    def draw(snaps) -> None:
        if view == "loss":  # streamed to the browser (issue 13): new points only, zoom kept
            a, b = st.columns(2)
            with a:
                stream_chart(ctx, snaps, "loss", key="lab.stream.loss", labels=labels)
            with b:  # the status lines' room, unseen: both plots start at the same height
                stream_chart(ctx, snaps, "accuracy", key="lab.stream.accuracy", labels=labels,
                             status_shown=False)  # fmt: skip
        elif view == "percentiles":
            chart(snaps, "pct", partial(figs.percentile_figure, snaps, layer, **kw))
            st.caption(ctx.tr("lab.percentiles_what"))
            drift(ctx, snaps, layer)
        elif view == "histograms":
            chart(snaps, "hist", partial(figs.histogram_figure, snaps, **kw))
            st.caption(ctx.tr("lab.histograms_what"))
        elif view == "health":
            column = "saturated" if cfg.activation in ("sigmoid", "tanh") else "dead"
            chart(snaps, column, partial(figs.per_layer_figure, snaps, column, **kw))
            st.caption(ctx.tr(f"lab.{column}_what"))
        elif view == "gradients":
            a, b = st.columns(2)
            grad = partial(figs.per_layer_figure, snaps, "grad_norm", log_y=True, **kw)
            chart(snaps, "grad", grad, a)
            ratio = partial(figs.per_layer_figure, snaps, "update_ratio", guide=-3.0, **kw)
            chart(snaps, "ratio", ratio, b)
            st.caption(ctx.tr("lab.ratio_what"))
        elif cfg.dataset in TWO_D:
            data = make_dataset(cfg)
            build = partial(figs.boundary_figure, snaps, data.x_test, data.y_test, lang=ctx.lang)
            chart(snaps, "boundary", build)
        else:
            st.info(ctx.tr("lab.no_boundary", n=n_features(cfg.dataset)))

    return draw
