"""Input standardization: loss contours and descent paths with raw and standardized features."""

import streamlit as st

from bnviz.figures import standardization as figs
from bnviz.i18n import lesson_text
from bnviz.lessons import standardization as S
from bnviz.ui import common, controls

DEFAULT = S.StandardizationConfig()
COLUMNS = [  # the settings form, column by column
    ["scale", "offset", "optimizer", "beta"],
    ["lr", "lr_std", "same_lr"],
    ["steps", "w1_0", "w2_0"],
    ["model", "noise", "n", "seed"],
]
FIELDS = [name for column in COLUMNS for name in column]
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
    for col, (key, value) in zip(st.columns(3), spectrum.items(), strict=True):
        col.metric(ctx.tr(r + key), number(value), help=ctx.tr(r + key + "_help"))
    a, b = st.columns([1, 2])
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


ctx = common.begin("standardization")
st.title(ctx.tr("nav.standardization"))
st.caption(ctx.tr("standardization.intro"))
cfg = ctx.settings(S.StandardizationConfig, DEFAULT)
common.show_notes(ctx)

# ---- controls
controls.seed_url_values(ctx, cfg, FIELDS)
skip = {"lr_std"} if controls.current(ctx, "same_lr", cfg) else set()
skip |= {"beta"} if controls.current(ctx, "optimizer", cfg) == "gd" else set()
with st.expander(ctx.tr("standardization.settings"), expanded=True):
    for col, names in zip(st.columns(len(COLUMNS)), COLUMNS, strict=True):
        with col:
            cfg = controls.settings_form(ctx, cfg, [n for n in names if n not in skip])
ctx.remember(cfg, DEFAULT)
presets = {name: S.preset_values(name) for name in S.PRESETS}
controls.presets(ctx, presets, {f: getattr(DEFAULT, f) for f in FIELDS})

with st.expander(ctx.tr("app.explanation"), expanded=False):
    st.markdown(lesson_text("standardization", ctx.lang))

# ---- results
scrub, aspect = st.columns([2, 1], vertical_alignment="bottom")
upto = scrub.slider(
    ctx.tr("standardization.field.upto"), 0, cfg.steps, cfg.steps,
    help=ctx.tr("standardization.help.upto"), key=f"standardization.upto.{cfg.steps}",
)  # fmt: skip
equal_aspect = aspect.toggle(
    ctx.tr("standardization.field.equal_aspect"), help=ctx.tr("standardization.help.equal_aspect"),
    key="standardization.view.equal_aspect",
)  # fmt: skip
with st.spinner(ctx.tr("standardization.computing")):
    raw, std = run(cfg.descent_args(False)), run(cfg.descent_args(True))
    grid_raw = grid(cfg.descent_args(False), equal_aspect)
    grid_std = grid(cfg.descent_args(True), equal_aspect)
    sweep_raw, sweep_std = sweeps(cfg.sweep_args(False), cfg.sweep_args(True))

for col, d, contours in zip(st.columns(2), (raw, std), (grid_raw, grid_std), strict=True):
    panel = "std" if d.standardize else "raw"
    with col:
        st.markdown(f"#### {ctx.tr(f'standardization.panel.{panel}')}")
        readouts(ctx, d, cfg.steps)
        fig = figs.contour_figure(d, contours, lang=ctx.lang, upto=upto)
        st.plotly_chart(fig, key=f"standardization.contour.{panel}")

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
common.finish(ctx)
