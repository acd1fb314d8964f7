"""Activation functions: f and f′, the three questions, the zig-zag, dead ReLUs trained live."""

import streamlit as st

from bnviz.figures import activations as figs
from bnviz.i18n import lesson_text
from bnviz.lessons import activations as A
from bnviz.ui import common, controls, live

DEFAULT = A.ActivationSettings()
FIELDS = ["activation", *A.PARAMETER.values(), "seed", "lr", "steps", "dead_activation"]
VIEWS = ("function", "gallery", "zigzag", "dead")
PRESET_VIEWS = {"zigzag": "zigzag", "dead_relu": "dead", "dead_remedy": "dead"}
NOTES = {"maxout": "maxout_note", "prelu": "prelu_note"}


@st.cache_data(max_entries=256, show_spinner=False)
def curve(name: str, **params) -> tuple:
    """(Curve on the ±12 grid, its flat regions, f′ at -10/0/10) of one activation."""
    c = A.curve(name, A.default_grid(), **params)
    return c, A.flat_intervals(c.x, c.df), A.local_gradients(name, **params)


@st.cache_data(max_entries=256, show_spinner=False)
def summary(name: str, **params) -> A.Summary:
    """One row of the comparison table (its cost is measured once per process)."""
    return A.summary(name, **params)


@st.cache_data(max_entries=64, show_spinner=False)
def zigzags(lr: float, steps: int, seed: int) -> list:
    """The positive-input and the zero-centered neuron."""
    return [A.zigzag(steps, lr, positive, seed) for positive in (True, False)]


def questions(name: str, probes: dict) -> None:
    """The notes' three questions answered for one function, then its mean and flat parts."""
    st.markdown(f"**{ctx.tr('activations.question.title')}**")
    for x, d in probes.items():
        answer = "flat" if abs(d) < A.FLAT else "passes"
        ask = ctx.tr("activations.question.ask", x=f"{x:g}".replace("-", "−"))
        st.markdown(f"- *{ask}* {ctx.tr(f'activations.question.{answer}', d=f'{d:.2g}')}")
    s = summary(name, **cfg.params())
    centered = "centered_yes" if s.zero_centered else "centered_no"
    st.markdown("- " + ctx.tr(f"activations.{centered}", mean=f"{s.mean:.2g}"))
    if s.flat:
        regions = figs.regions_text(s.flat)
        st.markdown("- " + ctx.tr("activations.saturates_yes", regions=regions))
    else:
        st.markdown("- " + ctx.tr("activations.saturates_no"))
    if name in NOTES:
        st.caption(ctx.tr(f"activations.{NOTES[name]}"))


def advice(summaries: dict) -> None:
    """The notes' practical advice, each rule with the evidence measured on this page."""
    with st.container(border=True):
        st.markdown(f"**{ctx.tr('activations.advice.title')}**")
        for rule, why in figs.advice_rows(summaries, lang=ctx.lang):
            st.markdown(f"- **{rule}** {why}")


def show_function() -> None:
    """The chosen activation: f and f′ with the probes, and the three questions."""
    c, regions, probes = curve(cfg.activation, **cfg.params())
    left, right = st.columns([3, 2])
    fig = figs.curve_figure(c, lang=ctx.lang, regions=regions, probes=probes, height=420)
    left.plotly_chart(fig, key="act.curve")
    with right:
        questions(cfg.activation, probes)


def show_gallery() -> None:
    """All nine: f and f′ each, the comparison table, the measured cost, the advice."""
    with st.spinner(ctx.tr("activations.computing")):
        summaries = {n: summary(n, **cfg.params(n)) for n in A.NAMES}
    for start in range(0, len(A.NAMES), 3):
        for col, name in zip(st.columns(3), A.NAMES[start : start + 3], strict=True):
            c, regions, _ = curve(name, **cfg.params(name))
            fig = figs.curve_figure(c, lang=ctx.lang, regions=regions, height=250, legend=False)
            col.plotly_chart(fig, key=f"act.gallery.{name}")
    st.caption(ctx.tr("activations.gallery_note"))
    st.markdown(f"**{ctx.tr('activations.compare_title')}**")
    rows = figs.summary_rows(list(summaries.values()), lang=ctx.lang)
    number = st.column_config.NumberColumn(format="%.3g", width=90)
    config = {col: number for col, value in rows[0].items() if isinstance(value, float)}
    st.dataframe(rows, hide_index=True, column_config=config, key="act.table")
    st.caption(ctx.tr("activations.questions_note"))
    left, right = st.columns(2)
    costs = {n: s.cost_ns for n, s in summaries.items()}
    left.plotly_chart(figs.cost_figure(costs, lang=ctx.lang), key="act.cost")
    left.caption(ctx.tr("activations.cost_note"))
    with right:
        advice(summaries)


def show_zigzag() -> A.ActivationSettings:
    """Why zero-centered outputs matter: one neuron's two weights, positive vs centered inputs."""
    st.markdown(f"#### {ctx.tr('activations.zigzag_title')}")
    st.caption(ctx.tr("activations.zigzag_note"))
    a, b, _ = st.columns([1, 1, 2])
    with a:
        settings = controls.settings_form(ctx, cfg, ["lr"])
    with b:
        settings = controls.settings_form(ctx, settings, ["steps"])
    runs = zigzags(settings.lr, settings.steps, settings.seed)
    st.plotly_chart(figs.zigzag_figure(runs, lang=ctx.lang), key="act.zigzag")
    st.caption(ctx.tr("activations.zigzag_lr_note"))
    return settings


def show_dead() -> A.ActivationSettings:
    """A ReLU-family MLP trained in the background at a small and a large learning rate."""
    st.markdown(f"#### {ctx.tr('activations.dead.title')}")
    st.caption(ctx.tr("activations.dead.intro"))
    with st.columns(3)[0]:
        settings = controls.settings_form(ctx, cfg, ["dead_activation"])
    configs = A.dead_relu_pair(settings.dead_activation, seed=settings.seed)
    runs = live.attached(ctx, configs)
    live.controls(ctx, configs, runs)
    labels = {k: ctx.tr(f"activations.dead.{k}", lr=f"{c.lr:g}") for k, c in configs.items()}

    def draw(snaps: dict) -> None:
        st.plotly_chart(figs.dead_figure(snaps, lang=ctx.lang), key="act.dead")

    live.live_panel(ctx, runs, labels, draw)
    st.caption(ctx.tr("activations.dead.what"))
    st.markdown(ctx.tr("activations.dead.advice"))
    return settings


ctx = common.begin("activations")
st.title(ctx.tr("nav.activations"))
st.caption(ctx.tr("activations.intro"))
cfg = ctx.settings(A.ActivationSettings, DEFAULT)
common.show_notes(ctx)

# ---- controls: the function and its parameter; the views draw their own
controls.seed_url_values(ctx, cfg, FIELDS)
with st.expander(ctx.tr("activations.settings"), expanded=True):
    left, middle, right = st.columns(3)
    with left:
        cfg = controls.settings_form(ctx, cfg, ["activation"])
    with middle:
        cfg = controls.settings_form(ctx, cfg, list(cfg.params()))
    with right:
        cfg = controls.settings_form(ctx, cfg, ["seed"])
drawn = {"activation", "seed", *cfg.params()}
cfg = cfg.replace(**{f: controls.current(ctx, f, cfg) for f in FIELDS if f not in drawn})
presets = {name: {**v, "view": PRESET_VIEWS.get(name, "function")} for name, v in A.PRESETS.items()}
controls.presets(ctx, presets, {f: getattr(DEFAULT, f) for f in FIELDS})

with st.expander(ctx.tr("app.explanation"), expanded=False):
    st.markdown(lesson_text("activations", ctx.lang))

# ---- what to look at
view = controls.view_choice(
    ctx, VIEWS, ctx.tr("activations.view_label"), lambda v: ctx.tr(f"activations.view.{v}")
)

if view == "function":
    show_function()
elif view == "gallery":
    show_gallery()
elif view == "zigzag":
    cfg = show_zigzag()
else:
    cfg = show_dead()
ctx.remember(cfg, DEFAULT)
common.finish(ctx)
