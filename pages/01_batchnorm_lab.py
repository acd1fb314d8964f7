"""BatchNorm lab: two identical networks, one with BN, trained side by side in the background."""

from functools import partial

import streamlit as st

from bnviz.datasets import TWO_D, make_dataset
from bnviz.figures import lab as figs
from bnviz.lessons.batchnorm_lab import DEFAULT, PRESETS, pair
from bnviz.ui import controls, live, page
from bnviz.ui.stream_chart import stream_chart

VIEWS = ("loss", "percentiles", "histograms", "health", "gradients", "boundary")
MAIN = ["activation", "init", "lr", "depth"]
MORE = ["dataset", "width", "optimizer", "batch_size", "steps", "bn_placement", "bn_momentum"]
MORE += ["seed"]
EXTRA = {"leaky_relu": "leaky_slope", "elu": "elu_alpha", "maxout": "maxout_k"}

ctx = page.begin("lab", "nav.batchnorm_lab")
cfg = ctx.settings(type(DEFAULT), DEFAULT)
page.show_notes(ctx)
optional = ["momentum", "init_scale", *EXTRA.values()]
controls.seed_url_values(ctx, cfg, MAIN + MORE + optional)
more = [*MORE, *(f for a, f in EXTRA.items() if controls.current(ctx, "activation", cfg) == a)]
more += ["momentum"] if controls.current(ctx, "optimizer", cfg) == "momentum" else []
more += ["init_scale"] if controls.current(ctx, "init", cfg) == "scaled" else []
cfg = page.settings(ctx, cfg, MAIN, more)
ctx.remember(cfg, DEFAULT)
active = page.presets(ctx, PRESETS, {f: getattr(DEFAULT, f) for f in MAIN + MORE + optional})

configs = pair(cfg)
runs = live.attached(ctx, configs)
live.controls(ctx, configs, runs)
live.sidebar(ctx, cfg, runs, lr=True)
page.look_for(ctx, active)

# ---- what to look at
view = controls.view_choice(ctx, VIEWS, ctx.tr("lab.view"), lambda v: ctx.tr(f"lab.views.{v}"))
with st.sidebar:
    layer = st.selectbox(
        ctx.tr("lab.layer"), range(cfg.depth), index=cfg.depth - 1,
        format_func=lambda i: ctx.tr("lab.fig.layer_n", layer=i + 1),
        key=f"lab.layer.{cfg.depth}", help=ctx.tr("lab.layer_help"),
    )  # fmt: skip
    window = st.slider(
        ctx.tr("run.window"), 0, cfg.steps, (0, cfg.steps), key=f"lab.window.{cfg.steps}"
    )
labels = {"plain": ctx.tr("lab.run.plain"), "bn": ctx.tr("lab.run.bn")}


def figure(snaps, kind: str, build):
    """A chart of the snapshots, shared by every tab showing the same view."""
    return live.cached_figure(snaps, kind, layer, window, ctx.lang, build=build)


def draw(snaps):
    """The charts of the chosen view, from the runs' snapshots."""
    kw = dict(lang=ctx.lang, window=window)
    if view == "loss":  # streamed to the browser (issue 13): new points only, zoom kept
        a, b = st.columns(2)
        with a:
            stream_chart(ctx, snaps, "loss", key="lab.stream.loss", labels=labels)
        with b:
            stream_chart(ctx, snaps, "accuracy", key="lab.stream.accuracy")
    elif view == "percentiles":
        st.plotly_chart(figure(snaps, "pct", partial(figs.percentile_figure, snaps, layer, **kw)))
        st.caption(ctx.tr("lab.percentiles_what"))
    elif view == "histograms":
        st.plotly_chart(figure(snaps, "hist", partial(figs.histogram_figure, snaps, **kw)))
    elif view == "health":
        column = "saturated" if cfg.activation in ("sigmoid", "tanh") else "dead"
        st.plotly_chart(figure(snaps, column, partial(figs.per_layer_figure, snaps, column, **kw)))
        st.caption(ctx.tr(f"lab.{column}_what"))
    elif view == "gradients":
        grad = partial(figs.per_layer_figure, snaps, "grad_norm", log_y=True, **kw)
        ratio = partial(figs.per_layer_figure, snaps, "update_ratio", guide=-3.0, **kw)
        a, b = st.columns(2)
        a.plotly_chart(figure(snaps, "grad", grad))
        b.plotly_chart(figure(snaps, "ratio", ratio))
        st.caption(ctx.tr("lab.ratio_what"))
    elif cfg.dataset in TWO_D:
        data = make_dataset(cfg)
        build = partial(figs.boundary_figure, snaps, data.x_test, data.y_test, lang=ctx.lang)
        st.plotly_chart(figure(snaps, "boundary", build))
    else:
        st.info(ctx.tr("lab.no_boundary"))


live.live_panel(ctx, runs, labels, draw, streams=view == "loss")
page.explanation(ctx, "batchnorm_lab")
page.finish(ctx)
