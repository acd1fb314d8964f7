"""What each view of the weight-initialization page draws: histograms, tables, std per layer."""

from __future__ import annotations

import dataclasses
import functools

import streamlit as st

from bnviz.figures import initialization as figs
from bnviz.i18n import listed
from bnviz.lessons import initialization as I
from bnviz.nets import SATURATING
from bnviz.ui import controls, plot
from bnviz.ui.common import PageContext, plain, say, setting_name, show_table

VIEWS = ("activations", "gradients", "compare")
ONE_INIT = ("activations", "gradients")  # the views a preset's sentence (one init) speaks of
COMPARE_LESS = 30  # px of plot: the comparison's legend (six rows) ends within 1280x720


def presets(shown: str) -> dict[str, dict]:
    """The page's presets, each holding on the views that show one init: clicked on Compare
    (every init side by side, which a preset's sentence does not speak of) it opens Activations;
    on the other two it keeps the view (audit 37: on Compare a click changed the activation of
    both charts under the view's own sentence, and the preset's never showed)."""
    views = (shown, *(v for v in ONE_INIT if v != shown)) if shown in ONE_INIT else ONE_INIT
    return {name: {**values, "view": views} for name, values in I.PRESETS.items()}


@st.cache_data(max_entries=64, show_spinner=False)
def activations(cfg: I.InitSettings) -> tuple:
    """(input X, every hidden layer's LayerStats) of one setting (~150 ms, cached)."""
    return I.input_stats(cfg.width, cfg.n, cfg.seed), I.layer_stats(**dataclasses.asdict(cfg))


@st.cache_data(max_entries=32, show_spinner=False)
def gradients(cfg: I.InitSettings) -> list:
    """Every hidden layer's GradStats of one setting (~400 ms, cached)."""
    return I.gradient_stats(**dataclasses.asdict(cfg))


@st.cache_data(max_entries=32, show_spinner=False)
def _curves(inits: tuple, activation: str, **shape) -> dict:
    return I.std_curves(inits, activation, **shape)


def curves(cfg: I.InitSettings, inits: list, batchnorm: bool) -> dict:
    """Std per layer for several inits at cfg's other settings (~150 ms per init, cached)."""
    shape = dict(depth=cfg.depth, width=cfg.width, n=cfg.n, seed=cfg.seed, batchnorm=batchnorm)
    return _curves(tuple(inits), cfg.activation, **shape)


def _compare_note(unknown: list[str], chosen: list[str], ctx: PageContext) -> str:
    """What the page says of the link's inits it does not have, and the ones compared."""
    used = listed((ctx.tr(f"initialization.init.{i}") for i in chosen), ctx.lang)
    text = plain(",".join(unknown))
    return ctx.tr("app.url_note", name=setting_name(ctx, "compare"), text=text, default=used)


def pick_inits(ctx: PageContext) -> list:
    """The inits to compare (all by default; the URL's `compare=` on a fresh visit)."""
    key = controls.widget_key(ctx, "compare")
    if key not in st.session_state:
        asked = [i for i in (ctx.params.get("compare") or "").split(",") if i]
        known = [i for i in asked if i in I.INITS]
        st.session_state[key] = known or list(I.INITS)
        unknown = [i for i in asked if i not in I.INITS]
        if unknown:  # as for any setting: say what was not usable, and what is used
            chosen = tuple(st.session_state[key])
            say(ctx, "compare", functools.partial(_compare_note, unknown, chosen))
    if "compare" in ctx.hidden:  # hide=compare: the link's (or all) inits, no control
        inits = st.session_state[key]
    else:
        inits = st.sidebar.multiselect(  # a setting; in the page it pushed the legend off screen
            ctx.tr("initialization.field.compare"), I.INITS, key=key,
            default=controls.shown(key, list(I.INITS)),  # else a fresh mount: none
            format_func=lambda i: ctx.tr(f"initialization.init_short.{i}"),
        )  # fmt: skip
    if set(inits) != set(I.INITS):
        ctx.query["compare"] = ",".join(inits)
    return inits


def table(ctx: PageContext, rows: list) -> None:
    """A per-layer table: 3 significant digits (0.213, 0.0475, 2.38e−07), shares in %."""
    show_table(rows, percent={ctx.tr("initialization.table.saturated")})


def symmetry_note(ctx: PageContext, cfg: I.InitSettings, records: list) -> None:
    """Zeros: one distinct unit per layer, said in words; random inits: how many differ."""
    counts = [r.distinct for r in records]
    if cfg.init == "zeros":
        text = listed(counts, ctx.lang)
        st.warning(ctx.tr("initialization.symmetry", counts=text))
    elif all(c == cfg.width for c in counts):
        st.caption(ctx.tr("initialization.symmetry_broken", width=cfg.width))


def zeros_note(ctx: PageContext, inits: list) -> None:
    """A log axis cannot show zeros' std of exactly 0: say so when zeros is drawn."""
    if "zeros" in inits:
        st.caption(ctx.tr("initialization.zero_std_note"))


def show_activations(ctx: PageContext, cfg: I.InitSettings) -> None:
    """Every layer's histogram, the per-layer table, and the std per layer of several inits."""
    with st.spinner(ctx.tr("initialization.computing")):
        x_stats, layers = activations(cfg)
    plot.chart(st, figs.histogram_grid(layers, lang=ctx.lang, bn=cfg.batchnorm), "init.hist")
    symmetry_note(ctx, cfg, layers)
    if cfg.activation in SATURATING:
        st.caption(ctx.tr("initialization.saturated_note"))
    left, right = st.columns([1, 1])
    with left:
        st.markdown(f"**{ctx.tr('initialization.table.title')}**")
        table(ctx, figs.table_rows(layers, lang=ctx.lang, input_record=x_stats))
    with right:
        inits = pick_inits(ctx)
        with st.spinner(ctx.tr("initialization.computing")):
            several = curves(cfg, inits, cfg.batchnorm)
        fig = figs.std_figure(several, lang=ctx.lang, bn=cfg.batchnorm, highlight=cfg.init)
        plot.chart(st, fig, "init.std")
        zeros_note(ctx, inits)


def show_gradients(ctx: PageContext, cfg: I.InitSettings) -> None:
    """The back-propagated gradient of every layer: histograms and the per-layer table."""
    with st.spinner(ctx.tr("initialization.computing")):
        grads = gradients(cfg)
    plot.chart(st, figs.histogram_grid(grads, lang=ctx.lang, bn=cfg.batchnorm), "init.ghist")
    st.caption(ctx.tr("initialization.gradient_note"))
    st.markdown(f"**{ctx.tr('initialization.table.grad_title')}**")
    table(ctx, figs.table_rows(grads, lang=ctx.lang))
    if "compare" in ctx.params:  # not shown here: keep it in the link
        ctx.query["compare"] = ctx.params["compare"]


def show_compare(ctx: PageContext, cfg: I.InitSettings) -> None:
    """The std per layer of the chosen inits without and with BN, on one shared axis."""
    inits = pick_inits(ctx)
    with st.spinner(ctx.tr("initialization.computing")):
        off, on = curves(cfg, inits, False), curves(cfg, inits, True)
    y_range = figs.shared_log_range(off, on)
    for col, data, bn in zip(st.columns(2), (off, on), (False, True), strict=True):
        fig = figs.std_figure(
            data, lang=ctx.lang, bn=bn, y_range=y_range, highlight=cfg.init, shorter=COMPARE_LESS
        )
        plot.chart(col, fig, f"init.compare.{bn}")
    st.caption(ctx.tr("initialization.compare_note"))
    zeros_note(ctx, inits)


DRAW = {"activations": show_activations, "gradients": show_gradients, "compare": show_compare}


def draw(ctx: PageContext, view: str, cfg: I.InitSettings) -> None:
    """The chosen view's figures and tables."""
    DRAW[view](ctx, cfg)
