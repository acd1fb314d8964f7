"""Activation function figures: f and f′ with flat regions, cost per element, the zig-zag."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import plotly.graph_objects as go

from bnviz.figures.theme import COLORS, PALETTE, base_layout, f32
from bnviz.i18n import t
from bnviz.lessons.activations import Curve, Summary, ZigZag

SHADE = "rgba(136, 136, 136, 0.18)"  # flat regions
QUADRANT = "rgba(118, 176, 65, 0.14)"  # quadrants I and III: where positive inputs can step
VIEW = 1.2  # half-width of the gradient-direction panel


def _tr(key: str, lang: str, **fmt: object) -> str:
    return t(f"activations.{key}", lang, **fmt)


# ---------------------------------------------------------------------------- f and f′


def _flat_shapes(regions: Sequence[tuple[float, float]], lang: str) -> list[dict]:
    """Grey bands over the x intervals where |f′| < 0.01; the first one carries the legend."""
    return [
        dict(
            type="rect",
            xref="x",
            yref="paper",
            x0=a,
            x1=b,
            y0=0,
            y1=1,
            fillcolor=SHADE,
            line_width=0,
            layer="below",
            name=_tr("fig.flat", lang),
            showlegend=i == 0,
        )
        for i, (a, b) in enumerate(regions)
    ]


def _probe_trace(c: Curve, probes: Mapping[float, float], lang: str) -> go.Scatter:
    """The notes' three questions as marked points on f′, labelled with their value."""
    xs = list(probes)
    ys = [probes[x] for x in xs]
    return go.Scatter(
        x=f32(xs),
        y=f32(ys),
        yaxis="y2",
        mode="markers+text",
        name=_tr("fig.probes", lang),
        text=[f"f′({x:g}) = {y:.2g}" for x, y in zip(xs, ys, strict=True)],
        textposition="top center",
        marker=dict(size=10, color=COLORS["accent"], symbol="diamond"),
    )


def _zero_aligned(*series: np.ndarray) -> list[list[float]]:
    """Axis ranges with y = 0 at the same height for every series (f and f′ share the zero line)."""
    bounds = [(min(float(np.nanmin(y)), 0.0), max(float(np.nanmax(y)), 1e-9)) for y in series]
    below = max(0.04, *(-lo / (hi - lo) for lo, hi in bounds))  # axis share below zero
    ranges = []
    for lo, hi in bounds:
        span = max(hi / (1 - below), -lo / below)
        ranges.append([-below * span * 1.05, (1 - below) * span * 1.05])
    return ranges


def curve_figure(
    c: Curve,
    *,
    lang: str,
    regions: Sequence[tuple[float, float]] = (),
    probes: Mapping[float, float] | None = None,
) -> go.Figure:
    """f (left axis) and f′ (right axis), flat regions shaded, f′ at -10, 0, 10 marked."""
    name = _tr(f"name.{c.name}", lang)
    traces = [
        go.Scatter(x=f32(c.x), y=f32(c.f), name="f(x)", line=dict(color=PALETTE[0], width=2.5)),
        go.Scatter(
            x=f32(c.x),
            y=f32(c.df),
            name="f′(x)",
            yaxis="y2",
            line=dict(color=PALETTE[1], width=2, dash="dash"),
        ),
    ]
    if probes:
        traces.append(_probe_trace(c, probes, lang))
    f_range, df_range = _zero_aligned(c.f, c.df)
    layout = base_layout(
        _tr("fig.curve_title", lang, name=name),
        xaxis=dict(title="x", zeroline=True),
        yaxis=dict(title="f(x)", zeroline=True, range=f_range),
        yaxis2=dict(
            title="f′(x)",
            overlaying="y",
            side="right",
            showgrid=False,
            range=df_range,
            tickmode="auto",
            zeroline=False,
        ),
        shapes=_flat_shapes(regions, lang),
    )
    return go.Figure(data=traces, layout=layout)


def cost_figure(costs: Mapping[str, float], *, lang: str) -> go.Figure:
    """Measured forward time per element of each activation (ns), one bar each."""
    names = [_tr(f"name.{n}", lang) for n in costs]
    bar = go.Bar(
        x=names,
        y=f32(list(costs.values())),
        marker=dict(color=PALETTE[0]),
        hovertemplate="%{x}: %{y:.2f} ns<extra></extra>",
    )
    layout = base_layout(_tr("fig.cost_title", lang), yaxis=dict(title=_tr("fig.cost_ns", lang)))
    return go.Figure(data=[bar], layout=layout)


def summary_rows(summaries: Sequence[Summary], *, lang: str) -> list[dict[str, object]]:
    """The comparison table as rows of {translated column: value}, ready for st.dataframe."""
    yes, no = _tr("table.yes", lang), _tr("table.no", lang)
    columns = [_tr(f"table.{k}", lang) for k in ("d_minus10", "d_zero", "d_plus10")]
    rows = []
    for s in summaries:
        row: dict[str, object] = {_tr("table.name", lang): _tr(f"name.{s.name}", lang)}
        row.update(zip(columns, s.local, strict=True))
        row[_tr("table.mean", lang)] = s.mean
        row[_tr("table.centered", lang)] = yes if s.zero_centered else no
        row[_tr("table.saturates", lang)] = yes if s.flat else no
        row[_tr("table.cost", lang)] = s.cost_ns
        rows.append(row)
    return rows


# ---------------------------------------------------------------------------- the zig-zag


def _quadrants(x0: float, y0: float, lang: str, axes: str = "") -> list[dict]:
    """Shade quadrants I and III around (x0, y0): the only directions a step can take."""
    far = 1e3  # the bands run off the visible range
    return [
        dict(
            type="rect",
            xref=f"x{axes}",
            yref=f"y{axes}",
            x0=x0,
            x1=x0 + s * far,
            y0=y0,
            y1=y0 + s * far,
            fillcolor=QUADRANT,
            line_width=0,
            layer="below",
            name=_tr("fig.quadrants", lang),
            showlegend=s == 1 and not axes,
        )
        for s in (1, -1)
    ]


def _run_label(run: ZigZag, lang: str) -> str:
    base = _tr("fig.positive" if run.positive_inputs else "fig.centered", lang)
    steps = run.steps_to_target
    arrival = _tr("fig.never", lang) if steps is None else _tr("fig.steps", lang, n=steps)
    return f"{base} · {arrival} · {_tr('fig.same_sign', lang, share=f'{run.same_sign:.0%}')}"


def _run_traces(run: ZigZag, lang: str) -> list[go.Scatter]:
    """The weights' path (left panel) and each step's gradient direction (right panel)."""
    color = COLORS["raw" if run.positive_inputs else "std"]
    label = _run_label(run, lang)
    norm = np.linalg.norm(run.grads, axis=1, keepdims=True)
    unit = run.grads / np.where(norm > 0, norm, 1.0)
    with np.errstate(invalid="ignore"):
        path = np.where(np.isfinite(run.path), run.path, np.nan)
    return [
        go.Scatter(
            x=f32(path[:, 0]),
            y=f32(path[:, 1]),
            name=label,
            mode="lines+markers",
            line=dict(color=color, width=1.5),
            marker=dict(size=4),
            legendgroup=label,
        ),
        go.Scatter(
            x=f32(unit[:, 0]),
            y=f32(unit[:, 1]),
            xaxis="x2",
            yaxis="y2",
            mode="markers",
            marker=dict(color=color, size=6, opacity=0.5),
            showlegend=False,
            legendgroup=label,
        ),
    ]


def zigzag_figure(runs: Sequence[ZigZag], *, lang: str) -> go.Figure:
    """Left: w's path from (0, 0) to w*; right: the direction of every step's gradient."""
    ordered = sorted(runs, key=lambda r: r.positive_inputs)  # positive on top: it is the point
    traces = [tr for run in ordered for tr in _run_traces(run, lang)]
    if runs:
        target, start = runs[0].target, runs[0].path[0]
        traces.append(
            go.Scatter(
                x=f32([start[0], target[0]]),
                y=f32([start[1], target[1]]),
                mode="markers+text",
                text=["w₀", "w*"],
                textposition="top right",
                name=_tr("fig.target", lang),
                marker=dict(symbol=["circle", "star"], size=[9, 16], color=COLORS["guide"]),
            )
        )
        shapes = _quadrants(*start, lang) + _quadrants(0.0, 0.0, lang, "2")
    else:
        shapes = []
    layout = base_layout(
        _tr("fig.zigzag_title", lang),
        height=440,
        xaxis=dict(domain=[0, 0.6], range=[-0.7, 1.9], title="w₁", constrain="domain"),
        yaxis=dict(range=[-1.9, 0.7], title="w₂", scaleanchor="x", constrain="domain"),
        xaxis2=dict(
            domain=[0.68, 1],
            range=[-VIEW, VIEW],
            title=_tr("fig.grad_dir", lang),
            constrain="domain",
        ),
        yaxis2=dict(anchor="x2", range=[-VIEW, VIEW], scaleanchor="x2", constrain="domain"),
        shapes=shapes,
    )
    return go.Figure(data=traces, layout=layout)
