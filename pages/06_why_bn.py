"""Why BatchNorm helps: DLB 8.7.1's deep linear network, then the evidence on trained networks."""

import streamlit as st

from bnviz.figures import why_bn as figs
from bnviz.figures import why_bn_live as live_figs
from bnviz.figures.theme import HERO_HEIGHT
from bnviz.lessons import batchnorm_lab as lab
from bnviz.lessons import why_bn as W
from bnviz.lessons import why_bn_layers as Y
from bnviz.lessons import why_bn_live as L
from bnviz.ui import controls, live, page

DEFAULT = W.DeepLinearSettings()
MAIN = ["depth", "w", "lr", "batchnorm"]
MORE = ["spread", "seed"]
VIEWS = ("linear", "lower", "shift", "noise", "smooth", "gamma_beta")
LIVE_VIEWS = ("shift", "noise")  # the trio trains through the scheduler, shared by the class


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
def smooth(seed: int) -> dict:
    """Santurkar's Fig. 4 on the pair: 200 steps, sampled every 25 (~0.5 s)."""
    return L.smoothness_pair(L.BASE.replace(seed=seed), steps=200, every=25)


@st.cache_data(max_entries=32, show_spinner=False)
def gamma_demos(seed: int) -> tuple:
    """The trained sigmoid net's γ/β (~2 s), the bias gradient, and the lab's two demos."""
    return (
        Y.gamma_beta(Y.GAMMA_BASE.replace(seed=seed)), Y.bias_gradient(seed=seed),
        lab.undo_normalization(seed), lab.bias_before_bn(seed),
    )  # fmt: skip


def show_linear() -> None:
    """The hero: the order-k terms with predicted vs actual, then the safe-lr curve."""
    s = step(cfg)
    left, right = st.columns([3, 2])
    left.plotly_chart(figs.terms_figure(s, lang=ctx.lang, height=HERO_HEIGHT), key="why.terms")
    right.plotly_chart(figs.change_figure(s, lang=ctx.lang, height=HERO_HEIGHT), key="why.change")
    st.caption(ctx.tr("why_bn.terms_note"))
    if getattr(s, "overflow", False):
        st.warning(ctx.tr("why_bn.overflow_note"))
    if cfg.batchnorm:
        st.caption(ctx.tr("why_bn.bn_note"))
    fig = figs.safe_lr_figure(safe_curve(cfg.w), lang=ctx.lang, depth=cfg.depth, lr=cfg.lr)
    st.plotly_chart(fig, key="why.safe")


def show_static() -> None:
    """The cached views: lower layers, smoothness, γ and β (spinner while training)."""
    with st.spinner(ctx.tr("why_bn.computing")):
        data = {"lower": lower_rows, "smooth": smooth, "gamma_beta": gamma_demos}[view](cfg.seed)
    if view == "lower":
        st.plotly_chart(live_figs.lower_figure(data, lang=ctx.lang), key="why.lower")
    elif view == "smooth":
        for col, metric in zip(st.columns(3), ("loss", "grad_change", "beta_eff"), strict=True):
            fig = live_figs.smoothness_figure(data, metric, lang=ctx.lang, height=HERO_HEIGHT)
            col.plotly_chart(fig, key=f"why.smooth.{metric}")
        st.caption(ctx.tr("why_bn.live.smooth_note"))
    else:
        gamma, bias, undo, check = data
        left, right = st.columns(2)
        left.plotly_chart(live_figs.gamma_beta_figure(gamma, lang=ctx.lang), key="why.gamma")
        right.plotly_chart(live_figs.bias_figure(bias, lang=ctx.lang), key="why.bias")
        left.caption(ctx.tr("why_bn.live.gamma_note", **live_figs.gamma_summary(gamma)))
        left.markdown(f"**{ctx.tr('lab.demo.undo_title')}**")
        left.markdown(ctx.tr("lab.demo.undo_what", diff=f"{undo:.1e}"))
        right.markdown(f"**{ctx.tr('lab.demo.bias_title')}**")
        grads = dict(bias_grad=f"{check.bias_grad:.1e}", weight_grad=f"{check.weight_grad:.2g}")
        moved = f"{check.bias_moved:.1e}"
        right.markdown(ctx.tr("lab.demo.bias_what", steps=50, moved=moved, **grads))


def show_live() -> None:
    """No BN, BN, BN + noise trained live: the deep layer's movement, or loss and accuracy."""
    configs = L.noise_trio(L.LIVE.replace(seed=cfg.seed))
    runs = live.attached(ctx, configs)
    ctx.head = None  # five buttons do not fit the title row: one row under the sentence
    live.controls(ctx, configs, runs)
    live.sidebar(ctx, configs["bn"], runs)
    labels = {n: ctx.tr(f"why_bn.live.run.{n}") for n in configs}

    def draw(snaps: dict) -> None:
        left, right = st.columns(2)
        if view == "shift":
            moves = {n: L.input_movement(s) for n, s in snaps.items()}
            left.plotly_chart(live_figs.movement_figure(moves, lang=ctx.lang), key="why.move")
            right.plotly_chart(live_figs.bands_figure(moves, lang=ctx.lang), key="why.bands")
            st.caption(ctx.tr("why_bn.live.move_note"))
        else:
            fig = live_figs.trio_figure(snaps, lang=ctx.lang, height=HERO_HEIGHT)
            left.plotly_chart(fig, key="why.trio")
            fig = live_figs.accuracy_figure(snaps, lang=ctx.lang, height=HERO_HEIGHT)
            right.plotly_chart(fig, key="why.acc")
        if all(s.done for s in snaps.values()):
            accs = ", ".join(f"{labels[n]} {L.final_acc(s):.3f}" for n, s in snaps.items())
            st.caption(ctx.tr("why_bn.live.final_acc", runs=accs))

    live.live_panel(ctx, runs, labels, draw)


ctx = page.begin("why_bn")
views_row = st.container()  # six views do not fit the title row: their own row under it
cfg = ctx.settings(W.DeepLinearSettings, DEFAULT)
page.show_notes(ctx)
controls.seed_url_values(ctx, cfg, MAIN + MORE)
view_key = controls.widget_key(ctx, "view")  # set before the presets, which match on it
if view_key not in st.session_state:
    st.session_state[view_key] = controls.url_choice(ctx, "view", VIEWS)
shown = st.session_state[view_key]
linear = shown == "linear"  # the other views use the seed only
cfg = page.settings(ctx, cfg, MAIN if linear else ["seed"], MORE if linear else [])
cfg = cfg.replace(**{f: controls.current(ctx, f, cfg) for f in MAIN + MORE})
ctx.remember(cfg, DEFAULT)
presets = {name: {**values, "view": "linear"} for name, values in W.PRESETS.items()}
active = page.presets(ctx, presets, {f: getattr(DEFAULT, f) for f in MAIN + MORE})
with views_row:
    view = controls.view_choice(
        ctx, VIEWS, ctx.tr("why_bn.view_label"), lambda v: ctx.tr(f"why_bn.view.{v}")
    )
page.look_for(ctx, active, view)

if view == "linear":
    show_linear()
elif view in LIVE_VIEWS:
    show_live()
else:
    show_static()
page.explanation(ctx, "why_bn")
page.finish(ctx)
