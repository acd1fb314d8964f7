"""BatchNorm lab: two identical networks, one with BN, trained side by side in the background."""

import streamlit as st

from bnviz.datasets import TWO_D, make_dataset
from bnviz.figures import lab as figs
from bnviz.i18n import lesson_text
from bnviz.lessons.batchnorm_lab import DEFAULT, PRESETS, pair
from bnviz.ui import common, controls, live

VIEWS = ("loss", "percentiles", "histograms", "health", "gradients", "boundary")
FIELDS = ["dataset", "depth", "width", "activation", "init", "optimizer", "lr", "batch_size"]
FIELDS += ["steps", "bn_placement", "bn_momentum", "seed"]
EXTRA = {"leaky_relu": "leaky_slope", "elu": "elu_alpha", "maxout": "maxout_k"}

ctx = common.begin("lab")
st.title(ctx.tr("nav.batchnorm_lab"))
st.caption(ctx.tr("lab.intro"))
cfg = ctx.settings(type(DEFAULT), DEFAULT)
common.show_notes(ctx)

# ---- controls
optional = ["momentum", *EXTRA.values()]
controls.seed_url_values(ctx, cfg, FIELDS + optional)
fields = list(FIELDS)
fields += [f for a, f in EXTRA.items() if controls.current(ctx, "activation", cfg) == a]
fields += ["momentum"] if controls.current(ctx, "optimizer", cfg) == "momentum" else []
with st.expander(ctx.tr("lab.settings"), expanded=True):
    cols = st.columns(4)
    for i, name in enumerate(fields):
        with cols[i % 4]:
            cfg = controls.settings_form(ctx, cfg, [name])
ctx.remember(cfg, DEFAULT)
controls.presets(ctx, PRESETS, {f: getattr(DEFAULT, f) for f in FIELDS + optional})

configs = pair(cfg)
runs = live.attached(ctx, configs)
live.controls(ctx, configs, runs)
live.live_lr(ctx, cfg, runs)

# ---- what to look at
view_default = ctx.params.get("view") if ctx.params.get("view") in VIEWS else "loss"
view = st.segmented_control(
    ctx.tr("lab.view"), VIEWS, default=view_default, required=True,
    format_func=lambda v: ctx.tr(f"lab.views.{v}"), key="lab.view",
)  # fmt: skip
c2, c3 = st.columns([1, 3])
layer = c2.selectbox(
    ctx.tr("lab.layer"), range(cfg.depth), index=cfg.depth - 1,
    format_func=lambda i: ctx.tr("lab.fig.layer_n", layer=i + 1), key=f"lab.layer.{cfg.depth}",
)  # fmt: skip
window = c3.slider(
    ctx.tr("run.window"), 0, cfg.steps, (0, cfg.steps), key=f"lab.window.{cfg.steps}"
)
if view != "loss":
    ctx.query["view"] = view
labels = {"plain": ctx.tr("lab.run.plain"), "bn": ctx.tr("lab.run.bn")}


def draw(snaps):
    """The charts of the chosen view, from the runs' snapshots."""
    lang = ctx.lang
    if view == "loss":
        a, b = st.columns(2)
        a.plotly_chart(figs.loss_figure(snaps, lang=lang, window=window), key="lab.loss")
        b.plotly_chart(figs.accuracy_figure(snaps, lang=lang, window=window), key="lab.acc")
    elif view == "percentiles":
        fig = figs.percentile_figure(snaps, layer, lang=lang, window=window)
        st.plotly_chart(fig, key="lab.pct")
        st.caption(ctx.tr("lab.percentiles_what"))
    elif view == "histograms":
        st.plotly_chart(figs.histogram_figure(snaps, lang=lang, window=window), key="lab.hist")
    elif view == "health":
        column = "saturated" if cfg.activation in ("sigmoid", "tanh") else "dead"
        fig = figs.per_layer_figure(snaps, column, lang=lang, window=window)
        st.plotly_chart(fig, key="lab.health")
        st.caption(ctx.tr(f"lab.{column}_what"))
    elif view == "gradients":
        fig = figs.per_layer_figure(snaps, "grad_norm", lang=lang, window=window, log_y=True)
        st.plotly_chart(fig, key="lab.grad")
        fig = figs.per_layer_figure(snaps, "update_ratio", lang=lang, window=window, guide=-3.0)
        st.plotly_chart(fig, key="lab.ratio")
        st.caption(ctx.tr("lab.ratio_what"))
    elif cfg.dataset in TWO_D:
        data = make_dataset(cfg)
        fig = figs.boundary_figure(snaps, data.x_test, data.y_test, lang=lang)
        st.plotly_chart(fig, key="lab.boundary")
    else:
        st.info(ctx.tr("lab.no_boundary"))


live.live_panel(ctx, runs, labels, draw)

with st.expander(ctx.tr("app.explanation"), expanded=False):
    st.markdown(lesson_text("batchnorm_lab", ctx.lang))
common.finish(ctx)
