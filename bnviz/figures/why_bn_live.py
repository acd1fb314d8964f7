"""Why-BN figures of trained networks: Santurkar's three runs, covariate shift, smoothness along
the path, lower layers, γ/β of a sigmoid network, the bias gradient before BN."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import plotly.graph_objects as go

from bnviz.figures.theme import (
    COLORS,
    PALETTE,
    add_subtitle,
    base_layout,
    downsample,
    f32,
    in_color,
    minus_signs,
    note_if_empty,
    readable,
    tidy_log_axes,
)
from bnviz.i18n import listed, t
from bnviz.lessons.why_bn_live import move_vs_bn, smooth_ratios
from bnviz.stepper import Snapshot

RUN_COLORS = {"plain": COLORS["plain"], "bn": COLORS["bn"], "bn_noise": PALETTE[4]}
# BN + noise is BN's line dashed as well: the Santurkar view's point is BN beside BN + noise,
# told apart without colour too (audit 25: the two merged under deuteranopia)
RUN_DASH = {"bn_noise": "dash"}


def _tr(key: str, lang: str, **fmt: object) -> str:
    return t(f"why_bn.live.{key}", lang, **fmt)


def _line(x, y, run: str, lang: str, **extra: object) -> go.Scatter:
    """One run's line in its color, named after the run."""
    return go.Scatter(
        x=f32(x), y=f32(y), mode="lines", name=_tr(f"run.{run}", lang),
        line=dict(color=RUN_COLORS[run], width=2, dash=RUN_DASH.get(run, "solid")), **extra,
    )  # fmt: skip


def trio_figure(snaps: Mapping[str, Snapshot], *, lang: str, height: int = 340) -> go.Figure:
    """Training loss per step (log y) of no BN, BN and BN + noise."""
    fig = go.Figure(layout=base_layout(_tr("trio_title", lang), height=height))
    for run, snap in snaps.items():
        if not len(snap.losses.get("step", ())):  # queued, or not past step 0: no losses yet
            continue
        x, y = downsample(snap.losses["step"], snap.losses["loss"])
        fig.add_trace(_line(x, y, run, lang))
    fig.update_yaxes(type="log", title_text=_tr("loss", lang), exponentformat="power")
    fig.update_xaxes(title_text=_tr("step", lang))
    return note_if_empty(tidy_log_axes(fig), _tr("no_data", lang))


def shift_figure(result: Mapping[str, Mapping[str, np.ndarray]], metric: str, *, lang: str,
                 height: int = 300) -> go.Figure:  # fmt: skip
    """One covariate-shift measure (mean_shift, std_shift, first_layer_effect) per run (log y)."""
    fig = go.Figure(layout=base_layout(_tr(f"shift.{metric}", lang), height=height))
    for run, r in result.items():
        y = np.where(r[metric] > 0, r[metric], np.nan)  # a stalled run: 0 has no log
        fig.add_trace(_line(r["step"], y, run, lang))
    fig.update_yaxes(type="log", exponentformat="power")
    fig.update_xaxes(title_text=_tr("step", lang))
    return note_if_empty(tidy_log_axes(fig), _tr("no_data", lang))


SMOOTH_METRICS = ("loss", "grad_change", "beta_eff")  # the smoothness view's three charts


def _smooth_text(
    result: Mapping[str, Mapping[str, np.ndarray]], metric: str, lang: str, ended: bool
) -> str:
    """ "median: BN 8.1× smaller" (and for β, "· step 0: 2.6× larger"): the sentence's measures
    (smooth_ratios, over the whole runs); app.when_ended until both have ended."""
    ratios = smooth_ratios(result) if ended else smooth_ratios({})
    times = ratios["loss_range" if metric == "loss" else metric]
    if not np.isfinite(times):
        return t("app.when_ended", lang)
    text = _tr("smooth.median", lang, times=readable(times, 2))
    if metric == "beta_eff":
        text += " · " + _tr("smooth.start", lang, times=readable(ratios["start"], 2))
    return text


def smoothness_figure(
    result: Mapping[str, Mapping[str, np.ndarray]], metric: str, *, lang: str,
    height: int = 300, last: int | None = None, ended: bool = True,
) -> go.Figure:  # fmt: skip
    """Santurkar Fig. 4: metric "loss" draws the band min..max of L(θ − η·g) per run; other
    metrics (grad_change, beta_eff) one line per run; log y. result[run] has "step" and the
    metrics (why_bn_live.smoothness_rows); `last`: the x-axis spans the whole run from the start."""
    layout = base_layout(_tr(f"smooth.{metric}", lang), height=height)
    fig = go.Figure(layout=add_subtitle(layout, _smooth_text(result, metric, lang, ended)))
    for run, r in result.items():
        if metric == "loss":
            top = dict(color=RUN_COLORS[run], width=1)
            fig.add_trace(go.Scatter(x=f32(r["step"]), y=f32(r["loss_max"]), mode="lines",
                                     line=top, showlegend=False))  # fmt: skip
            fig.add_trace(_line(r["step"], r["loss_min"], run, lang, fill="tonexty"))
        else:
            fig.add_trace(_line(r["step"], r[metric], run, lang))
            fig.data[-1].mode = "lines+markers"  # a point per evaluation, added as it trains
    fig.update_yaxes(type="log", exponentformat="power")
    fig.update_layout(legend_traceorder="normal")  # plotly reverses legends of filled bands
    span = [-0.03 * last, 1.03 * last] if last else None  # the end markers whole
    fig.update_xaxes(title_text=_tr("step", lang), range=span)
    return note_if_empty(tidy_log_axes(fig), _tr("no_data", lang))


def lower_figure(rows: Mapping[tuple[str, bool], Mapping[str, float]], *, lang: str,
                 height: int = 300) -> go.Figure:  # fmt: skip
    """Test accuracy with lower layers trained vs frozen, for linear and tanh networks."""
    fig = go.Figure(layout=base_layout(_tr("lower_title", lang), height=height))
    acts = sorted({a for a, _ in rows})
    for frozen, color in ((False, COLORS["bn"]), (True, COLORS["guide"])):
        fig.add_trace(go.Bar(
            x=[_tr(f"act.{a}", lang) for a in acts],
            y=[rows[(a, frozen)]["test_acc"] for a in acts],
            name=_tr("frozen" if frozen else "trained", lang), marker_color=color,
        ))  # fmt: skip
    fig.update_layout(barmode="group")
    fig.update_yaxes(range=[0, 1], title_text=_tr("test_acc", lang))
    return fig


def gamma_beta_figure(result: Mapping[str, np.ndarray], *, lang: str,
                      height: int = 300) -> go.Figure:  # fmt: skip
    """Per BN layer: share of pre-activations with |z| > 2 at initialization and trained."""
    layers = [_tr("layer", lang, n=i + 1) for i in range(len(result["outside_init"]))]
    fig = go.Figure(layout=base_layout(_tr("gamma_title", lang), height=height))
    for key, color in (("outside_init", COLORS["guide"]), ("outside_trained", COLORS["bn"])):
        fig.add_trace(go.Bar(x=layers, y=f32(result[key]), name=_tr(key, lang),
                             marker_color=color))  # fmt: skip
    fig.update_layout(barmode="group")
    fig.update_yaxes(range=[0, 1], tickformat=".0%")
    return fig


def gamma_summary(result: Mapping[str, np.ndarray], *, lang: str) -> dict[str, str]:
    """Mean |γ| and mean β per layer and the test accuracy, as text for the γ/β caption."""
    fmt = lambda values: listed((minus_signs(f"{v:.2f}") for v in values), lang)  # noqa: E731
    return {
        "gamma": fmt(np.abs(result["gamma"]).mean(1)), "beta": fmt(result["beta"].mean(1)),
        "acc": f"{float(result['test_acc']):.3f}",
    }  # fmt: skip


def bias_summary(result: Mapping[str, np.ndarray]) -> dict[str, str]:
    """The numbers the paragraph under the bias chart quotes, from the chart's own run."""
    return {
        "steps": str(len(result["bias_grad"])), "bias_grad": readable(result["bias_grad"].max(), 2),
        "weight_grad": readable(result["weight_grad"].max(), 2),
        "moved": readable(result["bias_moved"], 2),
    }  # fmt: skip


def bias_figure(result: Mapping[str, np.ndarray], *, lang: str, height: int = 300) -> go.Figure:
    """Largest |gradient| of the bias before BN vs of its weights, per step (log y)."""
    steps = np.arange(1, len(result["bias_grad"]) + 1)
    fig = go.Figure(layout=base_layout(_tr("bias_title", lang), height=height))
    for key, color in (("weight_grad", COLORS["bn"]), ("bias_grad", COLORS["plain"])):
        y = np.maximum(result[key], 1e-30)  # an exact 0 drawn at the floor
        fig.add_trace(go.Scatter(x=steps, y=y, mode="lines+markers", name=_tr(key, lang),
                                 line=dict(color=color)))  # fmt: skip
    fig.update_yaxes(type="log", exponentformat="power")
    fig.update_xaxes(title_text=_tr("step", lang))
    return tidy_log_axes(fig)


# ---------------------------------------------------------------------------- the live trio


def times_text(ratio: float) -> str:
    """A ratio of two runs' movements as the page writes it: 5.1, 52 (no "52.3")."""
    return f"{ratio:.2g}" if ratio < 10 else f"{ratio:.0f}"


def _vs_bn(moves: Mapping[str, Mapping[str, np.ndarray]], lang: str, ended: bool) -> str:
    """'Median per step, against BN's: no BN 52×, BN + noise 5.1×' (the covariate-shift sentence's
    measure, each number in its run's color, over the whole runs); app.when_ended until they
    have ended (early on the ratios wander: "BN + noise 0.83×" under "1.5 to 7.5×")."""
    parts = []
    for run, ratio in (move_vs_bn(moves) if ended else {}).items():
        if run != "bn" and np.isfinite(ratio):
            value = in_color(times_text(ratio), RUN_COLORS[run])
            parts.append(_tr("vs_bn", lang, run=_tr(f"run.{run}", lang), times=value))
    return _tr("move_sub", lang, runs=listed(parts, lang) if parts else t("app.when_ended", lang))


def movement_figure(moves: Mapping[str, Mapping[str, np.ndarray]], *, lang: str,
                    height: int = 300, ended: bool = True) -> go.Figure:  # fmt: skip
    """Per run: how far the deepest pre-activation's quantiles move per step (log y);
    moves[run] = why_bn_live.input_movement(snap)."""
    layout = add_subtitle(
        base_layout(_tr("move_title", lang), height=height), _vs_bn(moves, lang, ended)
    )
    fig = go.Figure(layout=layout)
    for run, m in moves.items():
        y = np.where(m["move"] > 0, m["move"], np.nan)  # a stalled run: 0 has no log
        fig.add_trace(_line(m["step"], y, run, lang))
    fig.update_yaxes(type="log", title_text=_tr("move", lang), exponentformat="power")
    fig.update_xaxes(title_text=_tr("step", lang))
    return note_if_empty(tidy_log_axes(fig), _tr("no_data", lang))


def bands_figure(moves: Mapping[str, Mapping[str, np.ndarray]], *, lang: str,
                 height: int = 300) -> go.Figure:  # fmt: skip
    """Per run: the deepest pre-activation's median (solid) and 15/85 % (dotted) over steps."""
    layout = add_subtitle(
        base_layout(_tr("bands_title", lang), height=height), _tr("bands_sub", lang)
    )
    fig = go.Figure(layout=layout)  # a subtitle as the movement chart beside it has
    for run, m in moves.items():
        steps = m["q_step"]
        fig.add_trace(_line(steps, m["q"][:, 1], run, lang, legendgroup=run))
        fig.data[-1].line.dash = "solid"  # the subtitle's key: medians solid, bands dotted
        for i in (0, 2):
            fig.add_trace(_line(steps, m["q"][:, i], run, lang, legendgroup=run,
                                showlegend=False, hoverinfo="skip"))  # fmt: skip
            fig.data[-1].line.update(dash="dot", width=1)
    fig.update_yaxes(title_text=_tr("pre_activation", lang))
    fig.update_xaxes(title_text=_tr("step", lang))
    return note_if_empty(fig, _tr("no_data", lang))


def accuracy_figure(snaps: Mapping[str, Snapshot], *, lang: str, height: int = 340) -> go.Figure:
    """Test accuracy per evaluation of every run."""
    fig = go.Figure(layout=base_layout(_tr("acc_title", lang), height=height))
    for run, snap in snaps.items():
        if len(snap.evals.get("step", ())):
            fig.add_trace(_line(snap.evals["step"], snap.evals["test_acc"], run, lang))
            fig.data[-1].mode = "lines+markers"
    fig.update_yaxes(range=[0.4, 1.02], title_text=_tr("test_acc", lang))
    last = max((s.steps for s in snaps.values()), default=0)  # the whole run's width at once
    span = [-0.03 * last, 1.03 * last] if last else None  # the end markers whole
    fig.update_xaxes(title_text=_tr("step", lang), range=span)
    return note_if_empty(fig, _tr("no_data", lang))
