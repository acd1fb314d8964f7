"""What the standardization page draws: two contour panels with their read-outs, loss and sweep."""

from __future__ import annotations

import dataclasses
from types import SimpleNamespace

import streamlit as st

from bnviz.config import Note
from bnviz.figures import standardization as figs
from bnviz.figures.theme import HERO_HEIGHT
from bnviz.lessons import standardization as S
from bnviz.ui import controls, plot
from bnviz.ui.common import PageContext

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


@st.cache_data(max_entries=64, show_spinner=False)
def plain_gd_steps(cfg: S.StandardizationConfig) -> int | None:
    """What momentum is compared with: plain GD's steps on the raw panel (~15-45 ms)."""
    return S.plain_gd_steps(cfg)


def rate_follows_the_seed(ctx: PageContext) -> None:
    """With a preset selected, a new seed gets the preset's rate for that seed: a preset's rate
    is a share of the seed's limit 2/λmax (call before the settings' widgets exist). Seed 0's
    rate at seed 1 is 0.986 of its limit, not 0.99: "Shifted" bounced for 79 steps where its
    sentence says 100–125 (audit 7). A rate changed by hand has deselected the preset already."""
    state, key = st.session_state, controls.widget_key
    chosen, seed = state.get(f"{ctx.name}.preset"), state.get(key(ctx, "seed"))
    last, state[f"{ctx.name}.rate_seed"] = state.get(f"{ctx.name}.rate_seed"), seed
    if chosen is None or seed is None or last in (None, seed):  # the seed has not changed
        return
    values = S.preset_values(chosen, S.StandardizationConfig(seed=seed))
    others = {k: v for k, v in values.items() if k != "lr"}
    if "lr" in values and all(state.get(key(ctx, k), v) == v for k, v in others.items()):
        state[key(ctx, "lr")] = values["lr"]


def number(v: float) -> str:
    """A read-out number: 10,029 · 1.03 · 0.000199."""
    return f"{v:,.0f}" if 100 <= abs(v) < 1e7 else f"{v:.3g}"


def outcome(ctx: PageContext, d: S.Descent, steps: int) -> tuple[str, str]:
    """(color, text): steps to 1 %, or where it diverged, or that it did not get there."""
    if d.diverged:
        return "red", ctx.tr("standardization.readout.diverged_at", step=f"{d.diverged_at:,}")
    if d.steps_to_converge is None:
        return "orange", ctx.tr("standardization.readout.not_within", steps=f"{steps:,}")
    n = f"{d.steps_to_converge:,}"
    return "green", ctx.tr("standardization.readout.steps_value", steps=n)


def readouts(ctx: PageContext, d: S.Descent, steps: int) -> None:
    """Steps to 1 % (the lesson's outcome, first: below it, it was under the first screen at
    1280x720, an audit); then κ, λmax, 2/λmax and the learning rate used (its multiple of
    2/λmax)."""
    r = "standardization.readout."
    color, text = outcome(ctx, d, steps)  # markdown, not a metric: a long text wraps
    said = f":small[{ctx.tr(r + 'steps')}]\n\n### :{color}[{text}]"
    if not d.diverged and d.steps_to_converge is None:  # how far it got: "under 4 %"
        said += f"\n\n:small[{ctx.tr(r + 'progress', share=f'{d.progress:.1%}')}]"
    # diverged: its own help, since the path's "leaves the panel at step 14" comes long before
    # "diverged at step 75" (audit 37: which one is right?)
    with st.container(key=f"outcome_{'std' if d.standardize else 'raw'}"):  # style.css
        st.markdown(
            said, help=ctx.tr(r + ("diverged_help" if d.diverged else "steps_help")), anchors=False
        )
    spectrum = {"kappa": d.kappa, "lambda_max": d.lambda_max, "lr_max": d.lr_max_stable}
    cols = [*st.columns(2), *st.columns(2)]  # two a row: no label or number cut at 1280 px
    for col, (key, value) in zip(cols, spectrum.items(), strict=False):
        col.metric(ctx.tr(r + key), number(value), help=ctx.tr(r + key + "_help"))
    ratio = ctx.tr(r + "lr_ratio", ratio=f"{d.lr_ratio:.3g}")
    cols[3].metric(
        ctx.tr(r + "lr_used"), number(d.lr), delta=ratio, delta_color="off", delta_arrow="off",
        help=ctx.tr(r + "lr_used_help"),
    )  # fmt: skip


def seed_url_values(
    ctx: PageContext, cfg: S.StandardizationConfig, view: S.View, fields: list[str]
) -> bool:
    """controls.seed_url_values over the settings and Equal axis units (True on the page's
    first run, when the link's values are the ones shown)."""
    values = SimpleNamespace(**dataclasses.asdict(cfg), equal_aspect=view.equal_aspect)
    return controls.seed_url_values(ctx, values, [*fields, "equal_aspect"])


def view_settings(
    ctx: PageContext, cfg: S.StandardizationConfig, view: S.View, first: bool
) -> S.View:
    """How the paths are shown: the scrubber in the title row (the step they are drawn to) and
    Equal axis units in the sidebar; the link's on the page's first run, the link's alone when
    hidden (hide=upto,equal_aspect). A scrubber at the last step is the default: the whole path,
    however many steps a later setting asks for."""
    upto, equal_aspect = min(view.upto, cfg.steps), view.equal_aspect
    key = f"standardization.upto.{cfg.steps}"  # a new number of steps: a new scrubber, at its end
    state, seen = st.session_state, f"{ctx.name}.upto_preset"
    chosen = state.get(f"{ctx.name}.preset")
    picked = not first and chosen is not None and chosen != state.get(seen)
    state[seen] = chosen
    if first:
        state[key] = upto
        if "upto" in ctx.params and S.View().upto > view.upto > cfg.steps:  # upto=500, 100 steps
            ctx.notes.append(Note("upto", ctx.params["upto"], cfg.steps, "past the steps"))
    elif picked:  # a preset shows its whole path (audit 20: Diverge after a scrub drew 3 steps)
        state[key] = cfg.steps
    if "upto" not in ctx.hidden:
        now = controls.shown(key, cfg.steps)  # its default (else a fresh mount: 0; audit 38)
        with ctx.head:
            upto = st.slider(
                ctx.tr("standardization.field.upto"), 0, cfg.steps, now,
                help=ctx.tr("standardization.help.upto"), key=key,
            )  # fmt: skip
    if "equal_aspect" not in ctx.hidden:
        with st.sidebar:
            aspect_key = controls.widget_key(ctx, "equal_aspect")
            equal_aspect = st.toggle(
                ctx.tr("standardization.field.equal_aspect"), controls.shown(aspect_key, False),
                help=ctx.tr("standardization.help.equal_aspect"), key=aspect_key,
            )  # fmt: skip
    return S.View(upto=upto if upto < cfg.steps else S.View().upto, equal_aspect=equal_aspect)


def notes(ctx: PageContext, cfg: S.StandardizationConfig, raw, std) -> list[str]:
    """What the two panels share and how their learning rates were chosen. With one rate for
    both, how much larger a step the standardized problem could take: its limit 2/λmax over
    the raw one's ("thousands of times" was said of two identical panels, at the same scale)."""
    texts = [ctx.tr("standardization.same_panels_note")]
    if not cfg.same_lr:  # by how much the limits differ, as computed ("scale²" misled at scale 1)
        times = f"{std.lr_max_stable / raw.lr_max_stable:,.0f}"
        # scale² is the zero-mean inputs' ratio; a shift's ratio comes of its mean (audit 31)
        why = ctx.tr(f"standardization.own_lr_why_{'offset' if cfg.offset else 'scale'}")
        texts.append(ctx.tr("standardization.own_lr_note", times=times, why=why))
    elif (room := std.lr_max_stable / raw.lr_max_stable) >= 2:
        texts.append(ctx.tr("standardization.same_lr_note", times=f"{room:,.0f}"))
    else:
        texts.append(ctx.tr("standardization.same_lr_alike"))
    extra = {"logistic_note": cfg.model == "logistic", "adam_note": cfg.optimizer == "adam"}
    texts += [ctx.tr(f"standardization.{k}") for k, shown in extra.items() if shown]
    if cfg.optimizer == "momentum" and raw.steps_to_converge:  # "about 10x faster", measured
        gd = plain_gd_steps(cfg)
        times = f"{gd / raw.steps_to_converge:.1f}" if gd else None
        key = "momentum_vs_gd" if gd else "momentum_vs_gd_not"
        steps = f"{gd or S.PLAIN_GD_LIMIT:,}"
        texts.append(ctx.tr(f"standardization.{key}", gd=steps, times=times))
    return texts


def draw(ctx: PageContext, cfg: S.StandardizationConfig, view: S.View) -> None:
    """The two contour panels and their read-outs first, then the loss curves and the sweep."""
    upto, equal_aspect = min(view.upto, cfg.steps), view.equal_aspect
    with st.spinner(ctx.tr("standardization.computing")):
        raw, std = run(cfg.descent_args(False)), run(cfg.descent_args(True))
        grid_raw = grid(cfg.descent_args(False), equal_aspect)
        grid_std = grid(cfg.descent_args(True), equal_aspect)
        sweep_raw, sweep_std = sweeps(cfg.sweep_args(False), cfg.sweep_args(True))

    panels = list(zip(st.columns(2), (raw, std), (grid_raw, grid_std), strict=True))
    for col, d, contours in panels:
        fig = figs.contour_figure(d, contours, lang=ctx.lang, upto=upto, height=HERO_HEIGHT)
        plot.chart(col, fig, key=f"standardization.contour.{'std' if d.standardize else 'raw'}")
    for col, d, _ in panels:
        with col:
            readouts(ctx, d, cfg.steps)

    said = notes(ctx, cfg, raw, std)
    if "upto" in ctx.hidden and upto < cfg.steps:  # no scrubber to say the paths are cut
        said.append(ctx.tr("standardization.upto_hidden", upto=upto, steps=f"{cfg.steps:,}"))
    st.caption("  \n".join(said))

    left, right = st.columns(2)
    loss = figs.loss_figure(raw, std, lang=ctx.lang, upto=upto)
    plot.chart(left, loss, "standardization.loss")
    used = (cfg.lr_for(False), cfg.lr_for(True))
    sweep = figs.sweep_figure(sweep_raw, sweep_std, lang=ctx.lang, used=used)
    plot.chart(right, sweep, "standardization.sweep")
    right.caption(ctx.tr("standardization.sweep_note", steps=f"{sweep_raw.steps:,}"))
