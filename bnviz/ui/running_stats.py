"""The running-statistics page's own controls and views: BN momentum, unit picker, five views."""

from __future__ import annotations

from types import SimpleNamespace

import streamlit as st

from bnviz.config import Note, RunConfig
from bnviz.figures import regularization as reg_figs
from bnviz.figures import running_stats as figs
from bnviz.figures.theme import minus_signs
from bnviz.lessons import regularization as reg
from bnviz.lessons import running_stats as rs
from bnviz.ui import common, controls, live, plot
from bnviz.ui.common import PageContext

VIEWS = ("live", "modes", "noise", "one", "regularization")  # … B = 1, the train/test gap
OWN_VIEW = {"regularization": "regularization"}  # the other presets show the live view
# presets whose sentence speaks of eval mode too: they stay selected on Train vs eval (same runs)
PRESET_VIEWS = OWN_VIEW | {"tiny": ("live", "modes"), "batch2": ("live", "modes")}
MAIN = ["batch_size", "lr"]
MORE = ["steps", "seed"]
ALL = ("bn_momentum", *MAIN, *MORE, "compare", "layer", "unit")  # the sidebar's settings
USES = {  # the settings each view uses (the rest are greyed out there)
    "live": ALL,
    "modes": tuple(name for name in ALL if name not in ("layer", "unit")),  # whole-net accuracy
    "noise": ("batch_size", "seed", "layer", "unit"),  # the net at its init: no training
    "one": (),  # a single example: PyTorch's own error, and what works instead
    "regularization": ("seed",),  # five runs of their own on 256 digits
}


def widget_values(cfg: RunConfig, view_cfg: rs.View) -> dict:
    """The values of the page's own widgets (BN momentum as a slider and a toggle, compare)."""
    return rs.widget_values(
        {f: getattr(cfg, f) for f in rs.RUN_FIELDS} | {"compare": view_cfg.compare}
    )


def presets() -> tuple[dict, dict]:
    """(each preset's widget values and view, the defaults of the rest) for `page.presets`."""
    values = {name: rs.widget_values(v) for name, v in rs.PRESETS.items()}
    values |= {name: {} for name in OWN_VIEW}  # a view of its own: its runs are fixed
    items = {name: v | {"view": PRESET_VIEWS.get(name, "live")} for name, v in values.items()}
    return items, widget_values(rs.DEFAULT, rs.View())


def view_shown(ctx: PageContext, cfg: RunConfig, view_cfg: rs.View) -> str:
    """The view shown, known before the pills compare their views: the link's, or the one a
    last visit left (its widgets' values are put back first: read before them, the link's
    view replaced the tab's own after a visit to another lesson)."""
    start = widget_values(cfg, view_cfg)
    if controls.seed_url_values(ctx, SimpleNamespace(**start), list(start)):  # the link's
        ctx.notes.extend(picker_notes(ctx, cfg, view_cfg))
    return controls.view_state(ctx, VIEWS)


def settings(
    ctx: PageContext, cfg: RunConfig, view_cfg: rs.View, view: str
) -> tuple[RunConfig, rs.View]:
    """The sidebar: BN momentum (a slider plus a toggle: the generic widget has no None), the
    run's settings, and under "more" the momentum to compare and the layer and unit shown;
    those the view does not use are greyed out (USES)."""
    key = lambda name: controls.widget_key(ctx, name)  # noqa: E731
    unused = [name for name in ALL if name not in USES[view]]
    with st.sidebar:
        st.markdown(f"**{ctx.tr('app.settings')}**")
        # said where the greyed-out settings are (an audit: the note stood over none greyed)
        controls.unused_note(ctx, [n for n in unused if n in ("bn_momentum", *MAIN)])
        if "bn_momentum" not in ctx.hidden:
            off = "bn_momentum" in unused
            # their defaults, or a browser that mounts them afresh shows (and sends back) their
            # own: the smallest momentum, off (controls.shown)
            m = controls.shown(key("bn_m"), 0.1)
            cumulative = controls.shown(key("bn_cumulative"), False)
            m = st.select_slider(
                ctx.tr("running_stats.field.bn_m"), sorted({*rs.MOMENTA, m}), m,
                format_func=lambda v: f"{v:g}", key=key("bn_m"), disabled=cumulative or off,
                help=ctx.tr("running_stats.help.bn_m"),
            )  # fmt: skip
            cumulative = st.toggle(
                ctx.tr("running_stats.field.bn_cumulative"), cumulative, key=key("bn_cumulative"),
                help=ctx.tr("running_stats.help.bn_cumulative"), disabled=off,
            )  # fmt: skip
            cfg = cfg.replace(bn_momentum=None if cumulative else m)
        cfg = controls.settings_form(ctx, cfg, MAIN, unused)
        with st.expander(ctx.tr("app.more_settings")):
            controls.unused_note(ctx, [n for n in unused if n not in ("bn_momentum", *MAIN)])
            cfg = controls.settings_form(ctx, cfg, MORE, unused)
            if "compare" not in ctx.hidden:
                now = controls.shown(key("compare"), view_cfg.compare)  # under More: see there
                compare = st.selectbox(
                    ctx.tr("running_stats.field.compare"), rs.COMPARES, rs.COMPARES.index(now),
                    format_func=lambda v: controls.option_label(ctx, "compare", v)
                    if v in ("off", "cumulative") else figs.momentum_label(float(v), ctx.lang),
                    key=key("compare"), help=ctx.tr("running_stats.help.compare"),
                    disabled="compare" in unused,
                )  # fmt: skip
                view_cfg = view_cfg.replace(compare=compare)
            units = min(rs.BN_UNITS, cfg.width)
            layer = min(view_cfg.layer, cfg.depth) - 1  # hide=layer,unit: the link's, no control
            unit = min(view_cfg.unit, units) - 1
            if "layer" not in ctx.hidden:
                layer = st.selectbox(
                    ctx.tr("running_stats.field.layer"), range(cfg.depth), index=layer,
                    format_func=lambda i: ctx.tr("running_stats.fig.layer_n", layer=i + 1),
                    key=f"running_stats.layer.{cfg.depth}", disabled="layer" in unused,
                )  # fmt: skip
            if "unit" not in ctx.hidden:
                unit = st.selectbox(
                    ctx.tr("running_stats.field.unit"), range(units), index=unit,
                    format_func=lambda i: ctx.tr("running_stats.unit_n", unit=i + 1),
                    key=f"running_stats.unit.{units}", disabled="unit" in unused,
                )  # fmt: skip
    return cfg, view_cfg.replace(layer=layer + 1, unit=unit + 1)


def picker_notes(ctx: PageContext, cfg: RunConfig, view_cfg: rs.View) -> list[Note]:
    """A link's layer or unit past the net's (layer=10 on 3 layers): the pickers show the last
    one, and the page says so (it did silently, an audit), with the net's range."""
    most = {"layer": cfg.depth, "unit": min(rs.BN_UNITS, cfg.width)}
    ranged = common.ranges_here(ctx, rs.View, {name: (1, n) for name, n in most.items()})
    return [
        Note(name, ctx.params.get(name), n, "past the net's", ranged[name])
        for name, n in most.items()
        if name in ctx.params and getattr(view_cfg, name) > n
    ]


def draw_stats(ctx: PageContext, snaps, layer: int, unit: int) -> None:
    """Mean and variance of the chosen unit: batch (dots), running (lines), population."""
    series = {n: s for n, snap in snaps.items() if (s := rs.unit_series(snap, layer, unit))}
    measures = {  # a run's end measure, once it has ended (a sentence says where it settles)
        n: rs.layer_measure(snap, layer) if snap.done else rs.NO_MEASURE
        for n, snap in snaps.items()
        if n in series
    }
    for col, which in zip(st.columns(2), ("mean", "var"), strict=True):
        fig = figs.stats_figure(
            series, which, lang=ctx.lang, layer=layer, unit=unit, measures=measures
        )
        plot.chart(col, fig, key=f"running_stats.{which}")
        col.caption(ctx.tr(f"running_stats.{which}_what"))


def draw_modes(ctx: PageContext, snaps) -> None:
    """Train mode vs eval mode: test accuracy and loss over training."""
    modes = {n: m for n, snap in snaps.items() if (m := rs.mode_series(snap))}
    plot.chart(st, figs.mode_figure(modes, lang=ctx.lang), key="running_stats.mode")
    st.caption(ctx.tr("running_stats.mode_what"))


def batch_of_one_section(ctx: PageContext) -> None:
    """What PyTorch says to BN on one example (a real call), and what works instead."""
    one = rs.batch_of_one()
    left, right = st.columns([1, 1])
    with left:
        st.markdown(ctx.tr("running_stats.one_text"))
        st.code(one.train_error, language=None, wrap_lines=True)
        st.markdown(ctx.tr("running_stats.one_instead"))
    rows, undefined = one.rows(), ctx.tr("running_stats.one_undefined")
    table = {
        ctx.tr("running_stats.one_what"): [ctx.tr(f"running_stats.one_rows.{r}") for r, _ in rows]
    }
    for i in range(len(one.x)):
        table[ctx.tr("running_stats.one_feature", i=i + 1)] = [
            undefined if v[i] is None else minus_signs(f"{v[i]:.3f}") for _, v in rows
        ]
    with right:
        st.caption(ctx.tr("running_stats.one_table"))
        st.table(table)


def regularization_section(ctx: PageContext, cfg: RunConfig) -> None:
    """Five runs on 256 digits (no BN, dropout, BN at batch 8/32/256): the train/test gap."""
    configs = {reg.SLOTS[n]: c for n, c in reg.run_configs(cfg.seed).items()}
    names = {slot: n for n, slot in reg.SLOTS.items()}
    runs = live.attached(ctx, configs)
    live.controls(ctx, configs, runs)
    live.sidebar(ctx, configs["main"], runs)

    def draw(snaps):
        # a slot's previous run (the Statistics view's) may still be shown: only these runs
        ours = {names[s]: snap for s, snap in snaps.items() if snap.config == configs[s]}
        evals = {n: snap.evals for n, snap in ours.items()}
        plot.chart(st, reg_figs.gap_figure(evals, lang=ctx.lang), key="running_stats.reg")
        gaps = {n: g for n, ev in evals.items() if (g := reg.gap_of_evals(ev))}
        lines = " · ".join(reg_figs.gap_lines(gaps, lang=ctx.lang))
        if gaps and not all(snap.state == "finished" for snap in ours.values()):
            # mid-run numbers under a sentence about the end (audit 22: "train 68.4 %" under
            # "every net fits its training set"): said to be so far, at the last evaluation
            step = min(int(ev["step"][-1]) for ev in evals.values() if len(ev.get("step", ())))
            steps = max(snap.steps for snap in ours.values())
            lines = ctx.tr("running_stats.so_far", step=step, steps=steps, lines=lines)
        st.caption(lines)

    labels = {slot: reg_figs.run_label(n, ctx.lang) for slot, n in names.items()}
    # one chart shows all five: one status line and bar (five columns of them wrapped to two or
    # three lines each, their bars at different heights)
    live.live_panel(ctx, runs, labels, draw, one_line=True)


def live_section(ctx: PageContext, view: str, cfg: RunConfig, configs: dict, layer: int, unit: int):
    """The page's runs trained live: the chosen unit's statistics, or train vs eval mode."""
    labels = {name: figs.momentum_label(c.bn_momentum, ctx.lang) for name, c in configs.items()}
    runs = live.attached(ctx, configs)
    live.controls(ctx, configs, runs)
    live.sidebar(ctx, cfg, runs)
    if view == "live":
        draw = lambda snaps: draw_stats(ctx, snaps, layer, unit)  # noqa: E731
        live.live_panel(ctx, runs, labels, draw, one_line=True)  # each chart shows both runs
        with st.container(border=True):
            st.markdown(f"**{ctx.tr('running_stats.formula_title')}**")
            st.markdown(ctx.tr("running_stats.formula"))
    else:
        live.live_panel(ctx, runs, labels, lambda snaps: draw_modes(ctx, snaps), one_line=True)


def sentence(view: str, cfg: RunConfig, view_cfg: rs.View) -> str:
    """Which running_stats.look_for.<key> speaks for the view: at batch size 1 the live views
    show why BN cannot train ("one"); on settings other than the defaults' the train-vs-eval
    sentence names no numbers ("modes_custom": an audit saw "both pass 88 %" over 50 %)."""
    if view in ("live", "modes") and cfg.batch_size == 1:
        return "one"
    if view == "modes" and not rs.on_defaults(cfg, view_cfg):
        return "modes_custom"
    return view


def draw(ctx: PageContext, view: str, cfg: RunConfig, view_cfg: rs.View) -> None:
    """The chosen view; at batch size 1 nothing can train and the explanation takes its place."""
    configs = rs.run_configs(cfg, view_cfg)
    layer, unit = view_cfg.layer - 1, view_cfg.unit - 1
    if view in ("live", "modes") and cfg.batch_size == 1:
        live.problems(ctx, configs)  # says why it cannot train
        batch_of_one_section(ctx)
    elif view in ("live", "modes"):
        live_section(ctx, view, cfg, configs, layer, unit)
    elif view == "regularization":
        regularization_section(ctx, cfg)
    elif view == "noise":
        noise = rs.batch_noise(cfg)
        fig = figs.noise_figure(noise, unit, lang=ctx.lang, layer=layer, batch_size=cfg.batch_size)
        plot.chart(st, fig, "running_stats.noise")
        if noise.var_std.shape[1] > 1:  # the sentence's "about half or more" counted here
            share = {"all": rs.as_loud(noise), "mine": rs.as_loud(noise, unit)}
            pct = {k: f"{100 * v:.0f}" for k, v in share.items()}
            st.caption(ctx.tr("running_stats.noise_loud", unit=unit + 1, **pct))
        st.markdown(ctx.tr("running_stats.noise_what"))
    else:
        batch_of_one_section(ctx)
