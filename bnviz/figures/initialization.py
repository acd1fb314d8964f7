"""Weight initialization figures: std per layer, per-layer histograms, the mean/std table."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
import plotly.graph_objects as go

from bnviz.figures.theme import (
    COLORS,
    HERO_HEIGHT,
    LEGEND_ROW_PX,
    base_layout,
    domains,
    f32,
    readable,
    series_line,
    series_marker,
    tidy_log_axes,
)
from bnviz.i18n import t
from bnviz.lessons.initialization import INITS, GradStats, LayerStats

COLUMNS = 5  # histogram panels per row: 10 layers fill two rows
PANEL_HEIGHT = 130  # two rows of panels and their two-line titles fit the first screen
MIN_DECADES = 2.0  # the least span of a std chart's log axis (shared_log_range)
STD_PLOT_PX = 200  # std_figure's plot height, measured at 1280x720 and 1920x1080
PANEL_GAP = 0.045  # of the width between panels: one panel's "1" and the next one's "−1" apart


def _tr(key: str, lang: str, **fmt: object) -> str:
    return t(f"initialization.{key}", lang, **fmt)


# ---------------------------------------------------------------------------- std per layer


def _series(init: str, i: int) -> int:
    """One series number (colour and marker) per init on every chart, whichever it shows."""
    return INITS.index(init) if init in INITS else i


def shared_log_range(*curves: Mapping[str, np.ndarray]) -> list[float] | None:
    """A log10 y range covering every positive std of several charts, so they compare by eye,
    and at least MIN_DECADES tall: with BN every layer's std is about 0.63, and plotly's own
    range (0.62 to 1) drew the input's 1 falling to 0.63 as a collapse down the whole chart,
    under a sentence saying every layer looks alike (audit 30)."""
    values = np.concatenate([np.asarray(c, dtype=np.float64) for d in curves for c in d.values()])
    values = values[np.isfinite(values) & (values > 0)]
    if not len(values):
        return None
    lo, hi = np.log10(values.min()), np.log10(values.max())
    pad = max(0.1 * (hi - lo), 0.2, (MIN_DECADES - (hi - lo)) / 2)
    return [float(lo - pad), float(hi + pad)]


def std_figure(
    curves: Mapping[str, np.ndarray],
    *,
    lang: str,
    bn: bool = False,
    y_range: Sequence[float] | None = None,
    highlight: str | None = None,
    shorter: int = 0,
) -> go.Figure:
    """Std of every layer's outputs (layer 0 = the input X), one line per init, log y.

    y_range: log10 bounds (default: shared_log_range of curves); highlight: the init drawn
    bold; shorter: px less plot height (the comparison's six-row legend ends on the first
    screen).
    """
    traces = []
    for i, (init, stds) in enumerate(curves.items()):
        stds = np.asarray(stds, dtype=np.float64)
        name = _tr(f"init.{init}", lang)
        if not (stds[1:] > 0).any():
            name += " · " + _tr("fig.zero_std", lang)  # a std of 0 has no place on a log axis
        traces.append(
            go.Scatter(
                x=np.arange(len(stds)),
                y=f32(np.where(stds > 0, stds, np.nan)),
                name=name,
                # a dash and an outlined marker each: Xavier's line lay under orthogonal's
                # (with tanh the same std), and in grey the two are one (audit 27)
                mode="lines+markers",
                line=series_line(_series(init, i), width=4 if init == highlight else 2),
                marker=series_marker(_series(init, i), True, size=10 if init == highlight else 8),
                hovertemplate="%{x}: σ = %{y:.3g}<extra>" + name + "</extra>",
            )
        )
    title = _tr("fig.std_title_bn" if bn else "fig.std_title", lang)
    layout = base_layout(
        title,
        # the legend's long names take a row each in a half-width column: the plot keeps its
        # height (six rows once squeezed it to 60 px, its ten labels on top of each other)
        height=HERO_HEIGHT - shorter + LEGEND_ROW_PX * len(traces),
        xaxis=dict(title=_tr("fig.layer", lang), dtick=1),
        yaxis=dict(title=_tr("fig.std", lang), type="log", exponentformat="power"),
    )
    if y_range is None:
        y_range = shared_log_range(curves)
    if y_range is not None:
        layout["yaxis"]["range"] = list(y_range)
    return tidy_log_axes(go.Figure(data=traces, layout=layout), plot_px=STD_PLOT_PX - shorter)


# ---------------------------------------------------------------------------- histograms


def _panel_label(record: LayerStats | GradStats, lang: str) -> str:
    text = _tr("fig.panel", lang, layer=record.layer, std=readable(record.std, 2))
    saturated = getattr(record, "saturated", math.nan)
    if not math.isnan(saturated):
        text += "<br>" + _tr("fig.panel_saturated", lang, share=f"{saturated:.0%}")
    return text


def _bar(record: LayerStats | GradStats, axis: str, color: str) -> go.Bar:
    """One layer's histogram as the share of values per bin."""
    centers = (record.edges[:-1] + record.edges[1:]) / 2
    share = record.hist / max(int(record.hist.sum()), 1)
    return go.Bar(
        x=f32(centers),
        y=f32(share),
        width=float(record.edges[1] - record.edges[0]),
        xaxis=f"x{axis}",
        yaxis=f"y{axis}",
        marker=dict(color=color, line=dict(width=0)),
        showlegend=False,
        hovertemplate="%{x:.3g}: %{y:.1%}<extra>" + str(record.layer) + "</extra>",
    )


def _axes(i: int, cols: int, rows: int, edges: np.ndarray) -> tuple[dict, dict]:
    """x and y axis of panel i (row-major, row 0 on top); every x axis shows the same bins."""
    row, col = divmod(i, cols)
    axis = "" if i == 0 else str(i + 1)
    xaxis = dict(
        domain=domains(cols, PANEL_GAP)[col],
        anchor=f"y{axis}",
        range=[float(edges[0]), float(edges[-1])],
        showticklabels=row == rows - 1,
        nticks=4,
    )
    if i:
        xaxis["matches"] = "x"  # zooming one panel zooms them all
    yaxis = dict(domain=domains(rows, 0.2)[::-1][row], anchor=f"x{axis}", showticklabels=False)
    return xaxis, yaxis


def _note(text: str, axis: str) -> dict:
    """A panel's title, centered above it."""
    return dict(
        text=text, x=0.5, y=1.0, xref=f"x{axis} domain", yref=f"y{axis} domain",
        yanchor="bottom", showarrow=False, font=dict(size=14),
    )  # fmt: skip


def histogram_grid(
    records: Sequence[LayerStats | GradStats], *, lang: str, bn: bool = False
) -> go.Figure:
    """One small panel per layer on the same bins: collapse to 0 or pile-up at ±1 at a glance."""
    grads = bool(records) and isinstance(records[0], GradStats)
    title = _tr("fig.grad_hist_title" if grads else "fig.act_hist_title", lang)
    if not records:
        return go.Figure(layout=base_layout(title))
    cols = min(len(records), COLUMNS)
    rows = math.ceil(len(records) / cols)
    layout = base_layout(title, height=PANEL_HEIGHT * rows + 90, bargap=0)
    layout["margin"]["t"] = 85  # the figure's title above the first row's two-line titles
    # the title at the top (plotly centres it in the margin: it touched the panels' titles)
    layout["title"].update(y=1, yref="container", yanchor="top", pad=dict(t=12))
    traces, notes = [], []
    for i, record in enumerate(records):
        axis = "" if i == 0 else str(i + 1)
        traces.append(_bar(record, axis, COLORS["bn" if bn else "plain"]))
        layout[f"xaxis{axis}"], layout[f"yaxis{axis}"] = _axes(i, cols, rows, records[0].edges)
        notes.append(_note(_panel_label(record, lang), axis))
    axis_title = _tr("fig.grad_value" if grads else "fig.act_value", lang)
    notes.append(  # under the last row's tick labels, whatever the figure's height
        dict(text=axis_title, x=0.5, y=0, yanchor="top", yshift=-22, xref="paper", yref="paper",
             showarrow=False)
    )  # fmt: skip
    layout["annotations"] = notes
    return go.Figure(data=traces, layout=layout)


# ---------------------------------------------------------------------------- the table


def _number(value: float) -> float | None:
    """NaN (not applicable) as None, so a table shows an empty cell."""
    return None if math.isnan(value) else float(value)


def table_rows(
    records: Sequence[LayerStats | GradStats], *, lang: str, input_record: LayerStats | None = None
) -> list[dict[str, object]]:
    """The mean/std table as rows of {translated column: value}, ready for st.dataframe."""
    rows = []
    saturating = any(not math.isnan(getattr(r, "saturated", math.nan)) for r in records)
    for r in ([input_record] if input_record is not None else []) + list(records):
        layer = _tr("table.input", lang) if r.layer == 0 else str(r.layer)
        row = {
            _tr("table.layer", lang): layer,
            _tr("table.mean", lang): float(r.mean),
            _tr("table.std", lang): float(r.std),
        }
        if isinstance(r, GradStats):
            row[_tr("table.weight_grad_std", lang)] = float(r.weight_std)
        else:
            if saturating:  # ReLU and friends have no saturated share: no column of blanks
                row[_tr("table.saturated", lang)] = _number(r.saturated)
            row[_tr("table.distinct", lang)] = int(r.distinct)
        rows.append(row)
    return rows
