"""Running statistics: BN's running_mean/running_var live, train vs eval mode, batch size 1."""

from types import SimpleNamespace

import streamlit as st

from bnviz.config import RunConfig
from bnviz.figures import running_stats as figs
from bnviz.i18n import lesson_text
from bnviz.lessons import running_stats as rs
from bnviz.ui import common, controls, live

FIELDS = ["batch_size", "lr", "steps", "seed"]

ctx = common.begin("running_stats")
st.title(ctx.tr("nav.running_stats"))
st.caption(ctx.tr("running_stats.intro"))
cfg = ctx.settings(RunConfig, rs.DEFAULT)
view = ctx.settings(rs.View, rs.View())
common.show_notes(ctx)

# ---- controls (BN momentum is a slider plus a toggle: the generic widget has no None)
start = rs.widget_values({f: getattr(cfg, f) for f in rs.RUN_FIELDS} | {"compare": view.compare})
controls.seed_url_values(ctx, SimpleNamespace(**start), list(start))
key = lambda name: controls.widget_key(ctx, name)  # noqa: E731
with st.expander(ctx.tr("running_stats.settings"), expanded=True):
    cols = st.columns(3)
    if "bn_momentum" not in ctx.hidden:
        with cols[0]:
            cumulative = st.session_state.get(key("bn_cumulative"), False)
            m = st.select_slider(
                ctx.tr("running_stats.field.bn_m"),
                sorted({*rs.MOMENTA, st.session_state.get(key("bn_m"), 0.1)}),
                format_func=lambda v: f"{v:g}", key=key("bn_m"), disabled=cumulative,
                help=ctx.tr("running_stats.help.bn_m"),
            )  # fmt: skip
            cumulative = st.toggle(
                ctx.tr("running_stats.field.bn_cumulative"), key=key("bn_cumulative"),
                help=ctx.tr("running_stats.help.bn_cumulative"),
            )  # fmt: skip
        cfg = cfg.replace(bn_momentum=None if cumulative else m)
    for i, name in enumerate(FIELDS):
        with cols[1 + i // 2]:
            cfg = controls.settings_form(ctx, cfg, [name])
    if "compare" not in ctx.hidden:
        with cols[0]:
            compare = st.selectbox(
                ctx.tr("running_stats.field.compare"), rs.COMPARES,
                format_func=lambda v: controls.option_label(ctx, "compare", v)
                if v in ("off", "cumulative") else figs.momentum_label(float(v), ctx.lang),
                key=key("compare"), help=ctx.tr("running_stats.help.compare"),
            )  # fmt: skip
        view = view.replace(compare=compare)
controls.presets(
    ctx,
    {name: rs.widget_values(values) for name, values in rs.PRESETS.items()},
    rs.widget_values(
        {f: getattr(rs.DEFAULT, f) for f in rs.RUN_FIELDS} | {"compare": rs.View().compare}
    ),
)

configs = rs.run_configs(cfg, view)
runs = live.attached(ctx, configs)
live.controls(ctx, configs, runs)

# ---- which unit to watch
units = min(8, cfg.width)
c1, c2, _ = st.columns([1, 1, 2])
layer = c1.selectbox(
    ctx.tr("running_stats.layer"), range(cfg.depth), index=min(view.layer, cfg.depth) - 1,
    format_func=lambda i: ctx.tr("running_stats.fig.layer_n", layer=i + 1),
    key=f"running_stats.layer.{cfg.depth}",
)  # fmt: skip
unit = c2.selectbox(
    ctx.tr("running_stats.unit"), range(units), index=min(view.unit, units) - 1,
    format_func=lambda i: ctx.tr("running_stats.unit_n", unit=i + 1),
    key=f"running_stats.unit.{units}",
)  # fmt: skip
view = view.replace(layer=layer + 1, unit=unit + 1)
ctx.remember(cfg, rs.DEFAULT)
ctx.remember(view, rs.View())
labels = {name: figs.momentum_label(c.bn_momentum, ctx.lang) for name, c in configs.items()}


def draw(snaps):
    """Mean and variance of the chosen unit, then train vs eval mode, from the runs' snapshots."""
    lang = ctx.lang
    series = {n: s for n, snap in snaps.items() if (s := rs.unit_series(snap, layer, unit))}
    for which in ("mean", "var"):
        fig = figs.stats_figure(series, which, lang=lang, layer=layer, unit=unit)
        st.plotly_chart(fig, key=f"running_stats.{which}")
        st.caption(ctx.tr(f"running_stats.{which}_what"))
    modes = {n: m for n, snap in snaps.items() if (m := rs.mode_series(snap))}
    st.plotly_chart(figs.mode_figure(modes, lang=lang), key="running_stats.mode")
    st.caption(ctx.tr("running_stats.mode_what"))


def batch_of_one_section() -> None:
    """What PyTorch says to BN on one example (a real call), and what works instead."""
    st.subheader(ctx.tr("running_stats.one_title"))
    one = rs.batch_of_one()
    st.markdown(ctx.tr("running_stats.one_text"))
    st.code(one.train_error, language=None, wrap_lines=True)
    rows, undefined = one.rows(), ctx.tr("running_stats.one_undefined")
    table = {
        ctx.tr("running_stats.one_what"): [ctx.tr(f"running_stats.one_rows.{r}") for r, _ in rows]
    }
    for i in range(len(one.x)):
        table[ctx.tr("running_stats.one_feature", i=i + 1)] = [
            undefined if values[i] is None else f"{values[i]:.3f}" for _, values in rows
        ]
    st.caption(ctx.tr("running_stats.one_table"))
    st.table(table)
    st.markdown(ctx.tr("running_stats.one_instead"))


st.subheader(ctx.tr("running_stats.live_title"))
charts, formula = st.columns([5, 2])
with formula, st.container(border=True):
    st.markdown(f"**{ctx.tr('running_stats.formula_title')}**")
    st.markdown(ctx.tr("running_stats.formula"))
with charts:
    if cfg.batch_size == 1:  # nothing can train: the explanation takes the charts' place
        batch_of_one_section()
    else:
        live.live_panel(ctx, runs, labels, draw)

# ---- batch noise (static: the network at its initialization)
st.subheader(ctx.tr("running_stats.noise_title"))
noise = rs.batch_noise(cfg)
fig = figs.noise_figure(noise, unit, lang=ctx.lang, layer=layer, batch_size=cfg.batch_size)
st.plotly_chart(fig, key="running_stats.noise")
st.markdown(ctx.tr("running_stats.noise_what"))
if cfg.batch_size != 1:
    batch_of_one_section()

with st.expander(ctx.tr("app.explanation"), expanded=False):
    st.markdown(lesson_text("running_stats", ctx.lang))
common.finish(ctx)
