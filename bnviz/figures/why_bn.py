"""Why-BN figures: order-k terms, predicted vs actual change, safe learning rate vs depth."""

from __future__ import annotations

import math

import numpy as np
import plotly.graph_objects as go

from bnviz.figures.theme import (
    CHART_TEXT,
    COLORS,
    PALETTE,
    base_layout,
    f32,
    readable,
    tidy_log_axes,
)
from bnviz.i18n import t
from bnviz.lessons.why_bn import BNStep, DeepLinearStep, SafeLrCurve

TINY = 1e-300  # |term| floor on the log axis (exact zeros: the BN step's higher orders)


def _tr(key: str, lang: str, **fmt: object) -> str:
    return t(f"why_bn.{key}", lang, **fmt)


# ---------------------------------------------------------------------------- view 1


def terms_figure(step: DeepLinearStep | BNStep, *, lang: str, height: int = 340) -> go.Figure:
    """|order-k term| as bars on a log axis (blue lowers ŷ, orange raises it), with the
    first-order prediction and the actual change as dashed lines."""
    terms = np.asarray(step.terms, dtype=np.float64)
    k = np.arange(1, len(terms) + 1)
    shown = np.isfinite(terms) & (terms != 0)
    mag = np.where(shown, np.abs(terms), np.nan)
    colors = [COLORS["bn"] if v < 0 else COLORS["plain"] for v in terms]
    hover = _tr("fig.hover_term", lang) + "<extra></extra>"
    fig = go.Figure(
        go.Bar(x=k, y=mag, marker_color=colors, customdata=terms, hovertemplate=hover,
               name=_tr("fig.term", lang), showlegend=False),
        layout=base_layout(_tr("fig.terms_title", lang), height=height),
    )  # fmt: skip
    for value, key, color, width in (  # the prediction wide under the actual change: with BN
        (step.predicted, "predicted", COLORS["guide"], 6),  # they are equal, and the grey line
        (step.actual, "actual", COLORS["accent"], 2),  # was hidden under the green (audit 28)
    ):
        if math.isfinite(value) and value != 0:
            fig.add_trace(go.Scatter(
                x=[0.5, len(terms) + 0.5], y=[abs(value)] * 2, mode="lines",
                line=dict(color=color, dash="dash", width=width),
                name=_tr(f"fig.{key}_line", lang, value=readable(value)),
            ))  # fmt: skip
    fig.update_yaxes(type="log", title_text=_tr("fig.abs_change", lang), exponentformat="power")
    fig.update_xaxes(title_text=_tr("fig.order", lang), dtick=max(1, len(terms) // 10))
    if len(terms) > 2 and shown[0] and not np.any(terms[1:]):  # with BN: ŷ is linear in γ, β
        # an audit: one bar and nineteen empty slots read as a chart that failed to draw
        fig.add_annotation(
            text=_tr("fig.higher_zero", lang, last=len(terms)), x=(len(terms) + 2) / 2, y=0.2,
            yref="paper", showarrow=False, font=dict(size=14, color=CHART_TEXT),
            bgcolor="rgba(255,255,255,0.85)",
        )  # fmt: skip
    if getattr(step, "overflow", False):
        note = dict(xref="paper", yref="paper", x=0.5, y=1.0, showarrow=False)
        fig.add_annotation(text=_tr("fig.overflow", lang), font=dict(color=COLORS["plain"]), **note)
    return tidy_log_axes(fig)


def change_figure(step: DeepLinearStep | BNStep, *, lang: str, height: int = 260) -> go.Figure:
    """Two bars: the first-order prediction and the actual change of ŷ (signed)."""
    values = [step.predicted, step.actual]
    labels = [_tr("fig.predicted", lang), _tr("fig.actual", lang)]
    finite = [v if math.isfinite(v) else np.nan for v in values]
    fig = go.Figure(
        go.Bar(x=labels, y=finite, marker_color=[COLORS["guide"], COLORS["accent"]],
               text=[readable(v) for v in values], textposition="outside", showlegend=False),
        layout=base_layout(
            _tr("fig.change_title", lang, ratio=readable(step.ratio)), height=height
        ),
    )  # fmt: skip
    # small changes as the bars' own labels write them ("−1×10⁻⁵"), not "−1e−5" or SI "−10μ"
    fig.update_yaxes(title_text=_tr("fig.change", lang), zeroline=True, exponentformat="power")
    return fig


def unit_weights_text(step: DeepLinearStep, unit: DeepLinearStep, *, lang: str) -> str:
    """The same step with every weight 1 (`unit`) against this one, as numbers: the vanish
    preset's "over 1000× less than with weights 1" (audit 7: the page showed no w = 1 number)."""
    this, one = abs(step.actual), abs(unit.actual)
    more = this > one
    times = this / one if more else one / this if this else math.inf
    key = "same" if times < SAME_WITHIN else "more" if more else "less"  # not "1× more" (an audit)
    return _tr(
        f"unit_note_{key}", lang, unit=readable(unit.actual), this=readable(step.actual),
        times=readable(times, 2),
    )  # fmt: skip


SAME_WITHIN = 1.5  # a change within this factor of the weights-1 step's is "about as much"


def safe_lr_figure(curve: SafeLrCurve, *, lang: str, depth: int | None = None,
                   lr: float | None = None, height: int = 340) -> go.Figure:  # fmt: skip
    """Largest safe learning rate against depth, one line per weight (log y); with BN there
    is no limit, drawn as a band along the top; the chosen depth and lr as dashed guides."""
    fig = go.Figure(layout=base_layout(_tr("fig.safe_title", lang), height=height))
    finite = curve.lr[np.isfinite(curve.lr)]
    top = float(np.nanmax(finite)) * 10 if finite.size else 1.0
    for i, w in enumerate(curve.weights):
        safe = np.where(np.isfinite(curve.lr[i]), curve.lr[i], np.nan)
        fig.add_trace(go.Scatter(
            x=curve.depths, y=f32(safe), mode="lines", name=_tr("fig.weight", lang, w=w),
            line=dict(color=PALETTE[(i + 1) % len(PALETTE)], width=2),
            hovertemplate=_tr("fig.hover_safe", lang) + "<extra></extra>",
        ))  # fmt: skip
    fig.add_trace(go.Scatter(
        x=curve.depths, y=np.full(len(curve.depths), top, dtype=np.float32), mode="lines",
        name=_tr("fig.bn_unlimited", lang), line=dict(color=COLORS["bn"], width=4, dash="dot"),
    ))  # fmt: skip
    if depth is not None:
        fig.add_vline(x=depth, line=dict(color=COLORS["guide"], dash="dash", width=1))
    if lr is not None:
        fig.add_trace(go.Scatter(  # a trace, not a shape: shapes take log10 on a log axis
            x=[curve.depths[0], curve.depths[-1]], y=[lr, lr], mode="lines",
            name=_tr("fig.your_lr", lang, lr=f"{lr:g}"),
            line=dict(color=COLORS["accent"], dash="dash", width=1),
        ))  # fmt: skip
    fig.update_yaxes(type="log", title_text=_tr("fig.safe_lr", lang), exponentformat="power")
    fig.update_xaxes(title_text=_tr("fig.depth", lang))
    return tidy_log_axes(fig)
