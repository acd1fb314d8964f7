"""Input standardization: loss contours and descent paths with raw and standardized features."""

import streamlit as st

from bnviz.figures import standardization as figs
from bnviz.figures.theme import HERO_HEIGHT
from bnviz.lessons import standardization as S
from bnviz.ui import common, controls, page

DEFAULT = S.StandardizationConfig()
MAIN = ["scale", "offset", "optimizer", "lr", "lr_std", "steps"]
MORE = ["beta", "same_lr", "w1_0", "w2_0", "model", "noise", "n", "seed"]
FIELDS = MAIN + MORE
RESOLUTION = {"linear": 200, "logistic": 80}  # logistic grids are brute force over the samples


@st.cache_data(max_entries=128, show_spinner=False)
def run(args: dict) -> S.Descent:
    """One panel's descent (cached per panel: a new raw rate leaves the other panel alone)."""
    return S.descent(**args)


@st.cache_data(max_entries=128, show_spinner=False)
def grid(args: dict, equal_aspect: bool) -> S.Grid:
    """One panel's loss contours around its path (logistic: brute force, a coarser grid)."""
    d = run(args)
    resolution = RESOLUTION[args["model"]]
    return S.contour_grid(d.problem, d.path, resolution=resolution, equal_aspect=equal_aspect)


@st.cache_data(max_entries=64, show_spinner=False)
def sweeps(raw_args: dict, std_args: dict) -> tuple:
    """The learning-rate sweeps of both problems (independent of the panels' rates and steps)."""
    return S.lr_sweep(**raw_args), S.lr_sweep(**std_args)


def number(v: float) -> str:
    """A read-out number: 10,029 · 1.03 · 0.000199."""
    return f"{v:,.0f}" if 100 <= abs(v) < 1e7 else f"{v:.3g}"


def outcome(ctx: common.PageContext, d: S.Descent, steps: int) -> tuple[str, str]:
    """(color, text): steps to 1 %, or where it diverged, or that it did not get there."""
    if d.diverged:
        return "red", ctx.tr("standardization.readout.diverged_at", step=f"{d.diverged_at:,}")
    if d.steps_to_converge is None:
        return "orange", ctx.tr("standardization.readout.not_within", steps=f"{steps:,}")
    n = f"{d.steps_to_converge:,}"
    return "green", ctx.tr("standardization.readout.steps_value", steps=n)


def readouts(ctx: common.PageContext, d: S.Descent, steps: int) -> None:
    """κ, λmax, 2/λmax; the learning rate used (and its multiple of 2/λmax); steps to 1 %."""
    r = "standardization.readout."
    spectrum = {"kappa": d.kappa, "lambda_max": d.lambda_max, "lr_max": d.lr_max_stable}
    cols = [*st.columns(2), *st.columns(2)]  # two a row: no label or number cut at 1280 px
    for col, (key, value) in zip(cols, spectrum.items(), strict=False):
        col.metric(ctx.tr(r + key), number(value), help=ctx.tr(r + key + "_help"))
    a, b = cols[3], st.container()
    ratio = ctx.tr(r + "lr_ratio", ratio=f"{d.lr_ratio:.3g}")
    a.metric(
        ctx.tr(r + "lr_used"), number(d.lr), delta=ratio, delta_color="off", delta_arrow="off",
        help=ctx.tr(r + "lr_used_help"),
    )  # fmt: skip
    color, text = outcome(ctx, d, steps)  # markdown, not a metric: a long text wraps
    b.markdown(
        f":small[{ctx.tr(r + 'steps')}]\n\n### :{color}[{text}]",
        help=ctx.tr(r + "steps_help"), anchors=False,
    )  # fmt: skip


ctx = page.begin("standardization", "nav.standardization")
cfg = ctx.settings(S.StandardizationConfig, DEFAULT)
page.show_notes(ctx)

# ---- controls: what matters in view, the rest under "more"
controls.seed_url_values(ctx, cfg, FIELDS)
skip = {"lr_std"} if controls.current(ctx, "same_lr", cfg) else set()
skip |= {"beta"} if controls.current(ctx, "optimizer", cfg) == "gd" else set()
cfg = page.settings(
    ctx, cfg, [n for n in MAIN if n not in skip], [n for n in MORE if n not in skip]
)
ctx.remember(cfg, DEFAULT)
presets = {name: S.preset_values(name) for name in S.PRESETS}
active = page.presets(ctx, presets, {f: getattr(DEFAULT, f) for f in FIELDS})
with ctx.head:
    upto = st.slider(
        ctx.tr("standardization.field.upto"), 0, cfg.steps, cfg.steps,
        help=ctx.tr("standardization.help.upto"), key=f"standardization.upto.{cfg.steps}",
    )  # fmt: skip
with st.sidebar:
    equal_aspect = st.toggle(
        ctx.tr("standardization.field.equal_aspect"),
        help=ctx.tr("standardization.help.equal_aspect"),
        key="standardization.view.equal_aspect",
    )  # fmt: skip
page.look_for(ctx, active)

# ---- results: the two contour panels first
with st.spinner(ctx.tr("standardization.computing")):
    raw, std = run(cfg.descent_args(False)), run(cfg.descent_args(True))
    grid_raw = grid(cfg.descent_args(False), equal_aspect)
    grid_std = grid(cfg.descent_args(True), equal_aspect)
    sweep_raw, sweep_std = sweeps(cfg.sweep_args(False), cfg.sweep_args(True))

panels = list(zip(st.columns(2), (raw, std), (grid_raw, grid_std), strict=True))
for col, d, contours in panels:
    fig = figs.contour_figure(d, contours, lang=ctx.lang, upto=upto, height=HERO_HEIGHT)
    col.plotly_chart(fig, key=f"standardization.contour.{'std' if d.standardize else 'raw'}")
for col, d, _ in panels:
    with col:
        readouts(ctx, d, cfg.steps)

notes = ["same_panels_note", "same_lr_note" if cfg.same_lr else "own_lr_note"]
notes += ["logistic_note"] if cfg.model == "logistic" else []
notes += ["adam_note"] if cfg.optimizer == "adam" else []
st.caption("  \n".join(ctx.tr(f"standardization.{n}") for n in notes))

left, right = st.columns(2)
left.plotly_chart(figs.loss_figure(raw, std, lang=ctx.lang, upto=upto), key="standardization.loss")
used = (cfg.lr_for(False), cfg.lr_for(True))
right.plotly_chart(
    figs.sweep_figure(sweep_raw, sweep_std, lang=ctx.lang, used=used), key="standardization.sweep"
)
right.caption(ctx.tr("standardization.sweep_note", steps=f"{sweep_raw.steps:,}"))
page.explanation(ctx, "standardization")
page.finish(ctx)
