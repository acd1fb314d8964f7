"""What each view of the Why-BatchNorm page draws: the deep linear network (computed here),
the cached views (lower layers, γ and β), and the live runs (the trio, the smoothness pair)."""

from __future__ import annotations

import streamlit as st

from bnviz.figures import why_bn as figs
from bnviz.figures import why_bn_live as live_figs
from bnviz.figures.theme import HERO_HEIGHT, readable
from bnviz.i18n import listed
from bnviz.lessons import batchnorm_lab as lab
from bnviz.lessons import why_bn as W
from bnviz.lessons import why_bn_layers as Y
from bnviz.lessons import why_bn_live as L
from bnviz.ui import live, plot
from bnviz.ui.common import PageContext

LIVE_VIEWS = ("shift", "noise", "smooth")  # trained through the scheduler, shared by the class
SLOTS = ("plain", "bn", "bn_noise")  # every live view's run names
# The live views have no preset row (the presets are the first view's): its ~45 px go to
# their charts. Three charts in a row under the run controls fit the first screen at 720:
SMALL = 280
# two charts under a three-line sentence, the run controls and three status lines, of which one
# took two lines at 1280 px while it trained ("BN + noise: training · step 273 / 300 · 10
# steps/s"); with the preset row above them, at HERO_HEIGHT - 30 the legends fell below 720 px
PAIR = HERO_HEIGHT - 10


@st.cache_data(max_entries=256, show_spinner=False)
def step(s: W.DeepLinearSettings):
    """The step the first view shows (exact integers: ≤ ~25 ms at depth 50)."""
    return W.step_for(s)


@st.cache_data(max_entries=64, show_spinner=False)
def safe_curve(w: float) -> W.SafeLrCurve:
    """Safe learning rate against depth for w = 0.8, 1, 1.2 and the chosen w (closed form)."""
    return W.safe_lr_curve(weights=tuple(sorted({0.8, 1.0, 1.2, w})))


@st.cache_data(max_entries=32, show_spinner=False)
def lower_rows(seed: int) -> dict:
    """Four BN networks (linear/tanh, lower layers trained/frozen), 600 steps each (~4 s)."""
    cfg = Y.LOWER_BASE.replace(seed=seed)
    return {(a, f): Y.lower_layers(a, f, cfg) for a in ("linear", "tanh") for f in (False, True)}


@st.cache_data(max_entries=32, show_spinner=False)
def gamma_demos(seed: int) -> tuple:
    """The trained sigmoid net's γ/β (~2 s), the bias gradient, and γ, β undoing BN."""
    return (
        Y.gamma_beta(Y.GAMMA_BASE.replace(seed=seed)), Y.bias_gradient(seed=seed),
        lab.undo_normalization(seed),
    )  # fmt: skip


def show_linear(ctx: PageContext, cfg: W.DeepLinearSettings) -> None:
    """The hero: the order-k terms with predicted vs actual, then the safe-lr curve."""
    s = step(cfg)
    left, right = st.columns([3, 2])
    plot.chart(left, figs.terms_figure(s, lang=ctx.lang, height=HERO_HEIGHT), "why.terms")
    plot.chart(right, figs.change_figure(s, lang=ctx.lang, height=HERO_HEIGHT), "why.change")
    st.caption(ctx.tr("why_bn.terms_note"))
    unit = cfg.replace(w=1.0, spread=0.0)
    if not cfg.batchnorm and cfg != unit and not getattr(s, "overflow", False):
        st.caption(figs.unit_weights_text(s, step(unit), lang=ctx.lang))
    if getattr(s, "overflow", False):
        st.warning(ctx.tr("why_bn.overflow_note"))
    if cfg.batchnorm:
        st.caption(ctx.tr("why_bn.bn_note"))
    fig = figs.safe_lr_figure(safe_curve(cfg.w), lang=ctx.lang, depth=cfg.depth, lr=cfg.lr)
    plot.chart(st, fig, "why.safe")


def show_static(ctx: PageContext, view: str, seed: int) -> None:
    """The cached views: lower layers, or γ and β with the lab's demos (spinner while training)."""
    with st.spinner(ctx.tr("why_bn.computing")):
        data = lower_rows(seed) if view == "lower" else gamma_demos(seed)
    if view == "lower":
        plot.chart(st, live_figs.lower_figure(data, lang=ctx.lang), "why.lower")
        return
    gamma, bias, undo = data
    left, right = st.columns(2)
    plot.chart(left, live_figs.gamma_beta_figure(gamma, lang=ctx.lang), "why.gamma")
    plot.chart(right, live_figs.bias_figure(bias, lang=ctx.lang), "why.bias")
    left.caption(ctx.tr("why_bn.live.gamma_note", **live_figs.gamma_summary(gamma, lang=ctx.lang)))
    left.markdown(f"**{ctx.tr('lab.demo.undo_title')}**")
    left.markdown(ctx.tr("lab.demo.undo_what", diff=readable(undo, 2)))  # 9.5×10⁻⁸
    right.markdown(f"**{ctx.tr('lab.demo.bias_title')}**")
    right.markdown(ctx.tr("lab.demo.bias_what", **live_figs.bias_summary(bias)))  # the chart's


def live_configs(view: str, seed: int) -> dict:
    """The runs a live view trains: the smoothness pair, or no BN / BN / BN + noise."""
    if view == "smooth":
        return L.smooth_pair(L.SMOOTH.replace(seed=seed))
    return L.noise_trio(L.LIVE.replace(seed=seed))


def draw_live(ctx: PageContext, view: str, snaps: dict) -> None:
    """A live view's charts of the runs' latest snapshots (they grow while the runs train)."""
    lang, ended = ctx.lang, all(s.done for s in snaps.values())  # end measures: once ended
    if view == "smooth":  # Santurkar Fig. 4: a point per evaluation, on the whole run's x-axis
        rows = {n: L.smoothness_rows(s) for n, s in snaps.items()}
        last = max(s.steps for s in snaps.values())
        for col, metric in zip(st.columns(3), live_figs.SMOOTH_METRICS, strict=True):
            fig = live_figs.smoothness_figure(
                rows, metric, lang=lang, height=SMALL, last=last, ended=ended
            )
            plot.chart(col, fig, f"why.smooth.{metric}")
        st.caption(ctx.tr("why_bn.live.smooth_note"))
        return
    plain = snaps.get("plain")
    if view == "shift" and plain is not None and plain.done and L.final_acc(plain) < L.AT_CHANCE:
        # the sentence's exception, said over the charts where it happens: "no BN 0.15×" under
        # "over 10× less with BN" read as a contradiction (audit 31, seed 2)
        st.caption(ctx.tr("why_bn.live.at_chance", acc=f"{L.final_acc(plain):.2f}"))
    left, right = st.columns(2)
    if view == "shift":
        moves = {n: L.input_movement(s) for n, s in snaps.items()}
        fig = live_figs.movement_figure(moves, lang=lang, height=PAIR, ended=ended)
        plot.chart(left, fig, "why.move")
        plot.chart(right, live_figs.bands_figure(moves, lang=lang, height=PAIR), "why.bands")
        st.caption(ctx.tr("why_bn.live.move_note"))
    else:
        trio = live_figs.trio_figure(snaps, lang=lang, height=PAIR)
        plot.chart(left, trio, "why.trio")
        acc = live_figs.accuracy_figure(snaps, lang=lang, height=PAIR)
        plot.chart(right, acc, "why.acc")
    if all(s.done for s in snaps.values()):
        labels = {n: ctx.tr(f"why_bn.live.run.{n}") for n in snaps}
        accs = listed((f"{labels[n]} {L.final_acc(s):.3f}" for n, s in snaps.items()), ctx.lang)
        st.caption(ctx.tr("why_bn.live.final_acc", runs=accs))


def leave_slots(ctx: PageContext, keep=()) -> None:
    """This tab stops watching the live runs of the views it does not show (nobody else
    watching: they pause, and go on where they were when the view comes back)."""
    live.leave(ctx, set(SLOTS) - set(keep))


def show_live(ctx: PageContext, view: str, seed: int) -> None:
    """A live view: its runs start at once (shared by config), the charts grow as they train."""
    configs = live_configs(view, seed)
    leave_slots(ctx, keep=configs)
    runs = live.attached(ctx, configs)
    live.controls(ctx, configs, runs)
    live.sidebar(ctx, configs["bn"], runs)
    labels = {n: ctx.tr(f"why_bn.live.run.{n}") for n in configs}
    live.live_panel(ctx, runs, labels, lambda snaps: draw_live(ctx, view, snaps))
    if view == "shift":
        per_unit_box(ctx, seed)


@st.cache_data(max_entries=32, show_spinner=False)
def per_unit(seed: int) -> dict:
    """The lesson text's per-unit measure on this seed: three 150-step runs (~1.5 s)."""
    return L.per_unit_measure(seed)


def per_unit_box(ctx: PageContext, seed: int) -> None:
    """The numbers the lesson text states from its per-unit measure ("4 to 31 times less"),
    computed for the seed shown: the live charts measure quantiles over all units instead."""
    with st.expander(ctx.tr("why_bn.live.per_unit_title")):
        with st.spinner(ctx.tr("why_bn.live.per_unit_wait")):
            r = per_unit(seed)
        said = {k: live_figs.times_text(r[k]) for k in ("mean_less", "effect_less", "noise_more")}
        key = "per_unit" if r["moving"] else "per_unit_stalled"
        st.markdown(ctx.tr(f"why_bn.live.{key}", seed=seed, steps=L.PER_UNIT_STEPS, **said))
