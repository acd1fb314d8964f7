"""Input standardization figures: loss contours with the descent path, loss per step, lr sweep."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from bnviz.figures.theme import COLORS, STRETCH, base_layout, f32, minus_signs, tidy_log_axes
from bnviz.i18n import t
from bnviz.lessons.standardization import Descent, Grid, Sweep

LEVELS = 14  # contour lines, evenly spaced in log10(loss - min): ellipses at every scale
DEPTH = 1e-4  # the deepest contour: 1e-4 x the start's loss - min
MAX_POINTS = 1000  # per trace
FLOOR = 1e-8  # loss chart: gaps below 1e-8 x the start's are rounding noise, drawn at the floor


def _tr(key: str, lang: str, **fmt: object) -> str:
    return t(f"standardization.{key}", lang, **fmt)


def _panel(standardize: bool) -> str:
    return "std" if standardize else "raw"


def thin(n: int, limit: int = MAX_POINTS, head: int = 600) -> np.ndarray:
    """Indices of at most `limit` of n points: the first `head` all, then an odd stride
    (an even stride would alias a zig-zag, which flips side every step, into a straight line)."""
    if n <= limit:
        return np.arange(n)
    stride = int(np.ceil((n - head) / (limit - head - 1))) | 1
    return np.unique(np.r_[np.arange(head), np.arange(head, n, stride), n - 1])


# ---------------------------------------------------------------------------- contours


def _log_gap(grid: Grid, floor: float) -> np.ndarray:
    """log10(loss - min) on the grid, floored (float32 rounding leaves tiny or negative gaps)."""
    return np.log10(np.maximum(grid.z - np.float32(grid.loss_star), floor)).astype(np.float32)


def leaves_panel(d: Descent, grid: Grid) -> int | None:
    """The first step whose point lies outside the panel's contours (None: it stays inside)."""
    w1, w2 = d.path[:, 0], d.path[:, 1]
    out = (w1 < grid.w1[0]) | (w1 > grid.w1[-1]) | (w2 < grid.w2[0]) | (w2 > grid.w2[-1])
    return int(np.argmax(out)) if out.any() else None


def _path_traces(d: Descent, upto: int | None, lang: str, out: int | None) -> list[go.Scatter]:
    """The path up to step `upto` (and no further than `out`, its first step out of the panel:
    leaves_panel), its start and the optimum. A diverging path's steps past the edge were
    strokes across the whole panel, side by side: an audit saw a solid orange block, not a
    zig-zag growing wider."""
    k = len(d.path) - 1 if upto is None else int(np.clip(upto, 0, len(d.path) - 1))
    if out is not None and out <= k:
        k = out  # one stroke out of the panel; _out_notes() says at which step
    idx = thin(k + 1)
    path, color = d.path[idx], COLORS[_panel(d.standardize)]
    hover = _tr("fig.hover_path", lang) + "<extra></extra>"
    return [
        go.Scatter(
            x=f32(path[:, 0]), y=f32(path[:, 1]), customdata=idx, hovertemplate=hover,
            mode="lines+markers", name=_tr("fig.path", lang), line=dict(color=color, width=2),
            marker=dict(size=4, color=color),
        ),
        go.Scatter(
            x=f32(d.path[:1, 0]), y=f32(d.path[:1, 1]), mode="markers", name=_tr("fig.start", lang),
            marker=dict(symbol="circle-open", size=13, color=color, line=dict(width=3)),
        ),
        go.Scatter(
            x=f32(d.w_star[:1]), y=f32(d.w_star[1:]), mode="markers",
            name=_tr("fig.optimum", lang), marker=dict(symbol="star", size=15, color="#222"),
        ),
    ]  # fmt: skip


def _out_notes(d: Descent, upto: int | None, lang: str, grid: Grid, out: int | None) -> list[dict]:
    """ "out at step N" on the edge where a path drawn that far leaves its panel at step `out`
    (leaves_panel; in the legend it took the width of two entries)."""
    if out is None or (upto is not None and upto < out):
        return []
    w1, w2 = np.clip(d.path[out], [grid.w1[0], grid.w2[0]], [grid.w1[-1], grid.w2[-1]])
    top, left = w2 >= grid.w2[-1], w1 < (grid.w1[0] + grid.w1[-1]) / 2  # the text toward the
    return [dict(  # middle: on the panel's far side it ran into the colour bar
        text=_tr("fig.path_out", lang, step=out), x=float(w1), y=float(w2),
        xanchor="left" if left else "right", xshift=6 if left else -6,
        yanchor="top" if top else "bottom", showarrow=False,
        font=dict(color=COLORS[_panel(d.standardize)]), bgcolor="rgba(255,255,255,0.8)",
    )]  # fmt: skip


def _power_ticks(lo: float, hi: float) -> dict:
    """Colorbar ticks at whole powers of ten of a log10 scale."""
    powers = np.arange(np.ceil(lo), np.floor(hi) + 1, dtype=int)
    text = [minus_signs(f"10<sup>{p}</sup>") for p in powers]
    return dict(tickvals=powers.tolist(), ticktext=text)


def contour_figure(
    d: Descent, grid: Grid, *, lang: str, upto: int | None = None,
    equal_aspect: bool | None = None, height: int = 420,
) -> go.Figure:  # fmt: skip
    """Loss contours (log-spaced levels) of one panel with its descent path up to step `upto`.

    equal_aspect: one unit of w1 as long as one of w2 on screen; None (best): when the grid is
    about square, so a round bowl looks round. For the true shape of a long ellipse, build the
    grid with contour_grid(..., equal_aspect=True) and leave this at None.
    """
    gap0 = float(d.losses[0] - d.loss_star)
    lo = np.log10(max(gap0 * DEPTH, 1e-12))
    hi = max(float(np.log10(max(grid.z.max() - grid.loss_star, 1e-12))), lo + 1)
    contour = go.Contour(
        x=f32(grid.w1), y=f32(grid.w2), z=_log_gap(grid, 10**lo), colorscale="Blues",
        reversescale=True, contours=dict(start=lo, end=hi, size=(hi - lo) / LEVELS),
        line=dict(width=0.6, color="rgba(0,0,0,0.25)"), opacity=0.75, showscale=True,
        colorbar=dict(title=dict(text=_tr("fig.log_gap", lang), side="right"), thickness=12,
                      **_power_ticks(lo, hi)),
        hovertemplate=_tr("fig.hover_contour", lang) + "<extra></extra>", name="",
    )  # fmt: skip
    yaxis = dict(title=_tr("fig.w2", lang), range=[grid.w2[0], grid.w2[-1]], exponentformat="e")
    spans = (grid.w1[-1] - grid.w1[0], grid.w2[-1] - grid.w2[0])
    if equal_aspect or (equal_aspect is None and max(spans) <= 2 * min(spans)):
        yaxis.update(scaleanchor="x", scaleratio=1, constrain="domain")
    layout = base_layout(
        _tr(f"panel.{_panel(d.standardize)}", lang), height=height,
        xaxis=dict(title=_tr("fig.w1", lang), range=[grid.w1[0], grid.w1[-1]], constrain="domain"),
        yaxis=yaxis,
    )  # fmt: skip
    # two items a row on both panels: the raw panel's longer tick labels leave its plot less
    # width, and its legend took two rows against one beside it (the plots did not line up)
    layout["legend"] |= dict(entrywidth=0.5, entrywidthmode="fraction")
    # a taller window stretches both panels alike, the square one too (assets/js/load_plotly.js;
    # audit 18: at 1080 px the raw panel grew beside a standardized one that kept its height)
    layout["meta"] = STRETCH
    out = leaves_panel(d, grid)
    layout["annotations"] = _out_notes(d, upto, lang, grid, out)
    return go.Figure(data=[contour, *_path_traces(d, upto, lang, out)], layout=layout)


# ---------------------------------------------------------------------------- loss per step


def _gap_trace(d: Descent, upto: int | None, lang: str) -> list[go.Scatter]:
    """loss - min per step (floored for the log axis) and the step where it reached 1 %."""
    panel, gap0 = _panel(d.standardize), float(d.losses[0] - d.loss_star)
    k = len(d.losses) - 1 if upto is None else int(np.clip(upto, 0, len(d.losses) - 1))
    idx = thin(k + 1)
    gap = np.maximum(d.losses[idx] - d.loss_star, gap0 * FLOOR)
    name, color = _tr(f"panel.{panel}", lang), COLORS[panel]
    out = [go.Scatter(x=idx, y=f32(gap), name=name, mode="lines", line=dict(color=color, width=2))]
    marks = [(d.steps_to_converge, "fig.converged", "circle"), (d.diverged_at, "fig.diverged", "x")]
    for step, key, symbol in marks:
        if step is not None and step <= k:
            y = max(min(float(d.losses[step] - d.loss_star), 1e300), gap0 * FLOOR)
            out.append(
                go.Scatter(
                    x=[step], y=f32([y]), mode="markers", name=f"{name} · {_tr(key, lang)}",
                    marker=dict(symbol=symbol, size=11, color=color, line=dict(width=2)),
                )
            )  # fmt: skip
    return out


def loss_figure(
    raw: Descent, std: Descent, *, lang: str, upto: int | None = None, height: int = 360
) -> go.Figure:
    """loss - minimum per step, raw vs standardized, on a log axis (straight line = steady rate)."""
    data = [*_gap_trace(raw, upto, lang), *_gap_trace(std, upto, lang)]
    layout = base_layout(
        _tr("fig.loss_title", lang), height=height,
        xaxis=dict(title=_tr("fig.step", lang)),
        yaxis=dict(title=_tr("fig.gap", lang), type="log", exponentformat="power"),
    )  # fmt: skip
    return tidy_log_axes(go.Figure(data=data, layout=layout))


# ---------------------------------------------------------------------------- learning-rate sweep


def _sweep_traces(s: Sweep, lang: str, top: float, used: float | None) -> list[go.Scatter]:
    """Converged points, those that did not converge (o) or diverged (x) at the top, 2/λmax,
    and (dotted) the learning rate the panel uses."""
    panel = _panel(s.standardize)
    name, color = _tr(f"panel.{panel}", lang), COLORS[panel]
    late = ~np.isfinite(s.steps_to_converge) & ~s.diverged
    hover = _tr("fig.hover_sweep", lang) + "<extra></extra>"
    out = [  # all learning rates, nan where not converged: the line breaks there
        go.Scatter(
            x=f32(s.lrs), y=f32(s.steps_to_converge), name=name, mode="lines+markers",
            hovertemplate=hover, line=dict(color=color, width=2), marker=dict(size=7),
        )
    ]  # fmt: skip
    for mask, symbol, key in ((late, "circle-open", "not_within"), (s.diverged, "x", "diverged")):
        text = _tr(f"fig.{key}", lang, steps=f"{s.steps:,}")
        out.append(
            go.Scatter(
                x=f32(s.lrs[mask]), y=f32(np.full(mask.sum(), top)), mode="markers",
                name=f"{name} · {text}", showlegend=False,
                hovertemplate=f"%{{x:.3g}}: {text}<extra></extra>",
                marker=dict(symbol=symbol, size=8, color=color, line=dict(width=1.5, color=color)),
            )
        )  # fmt: skip
    limit = _tr("fig.limit", lang, panel=name)
    out.append(
        go.Scatter(
            x=f32([s.lr_max_stable] * 2), y=f32([0.8, top]), mode="lines", name=limit,
            showlegend=False, line=dict(color=color, width=1.5, dash="dash"),
            hovertemplate=f"{limit} = %{{x:.3g}}<extra></extra>",
        )
    )  # fmt: skip
    if used is not None:
        text = _tr("fig.used", lang, panel=name)
        out.append(
            go.Scatter(
                x=f32([used] * 2), y=f32([0.8, top]), mode="lines", name=text, showlegend=False,
                line=dict(color=color, width=1.5, dash="dot"),
                hovertemplate=f"{text} = %{{x:.3g}}<extra></extra>",
            )
        )  # fmt: skip
    return out


def _key_traces(steps: int, lang: str, used: bool) -> list[go.Scatter]:
    """Legend-only entries explaining the symbols, once for both problems."""
    gray = COLORS["guide"]
    keys = [
        ("fig.not_within", dict(mode="markers", marker=dict(symbol="circle-open", color=gray))),
        ("fig.diverged", dict(mode="markers", marker=dict(symbol="x", color=gray))),
        ("fig.limit_key", dict(mode="lines", line=dict(color=gray, dash="dash"))),
    ]
    if used:
        keys.append(("fig.used_key", dict(mode="lines", line=dict(color=gray, dash="dot"))))
    text = {k: _tr(k, lang, steps=f"{steps:,}") for k, _ in keys}
    return [go.Scatter(x=[None], y=[None], name=text[k], **kw) for k, kw in keys]


def sweep_figure(
    raw: Sweep, std: Sweep, *, lang: str, used: tuple[float, float] | None = None,
    height: int = 380,
) -> go.Figure:  # fmt: skip
    """Steps to reach 1 % against the learning rate (log x), both problems, 2/λmax dashed;
    used: the (raw, standardized) learning rates of the panels, drawn dotted."""
    top = float(max(raw.steps, std.steps)) * 1.3
    raw_used, std_used = used or (None, None)
    data = [*_sweep_traces(raw, lang, top, raw_used), *_sweep_traces(std, lang, top, std_used)]
    data += _key_traces(max(raw.steps, std.steps), lang, used is not None)
    layout = base_layout(
        _tr("fig.sweep_title", lang), height=height,
        xaxis=dict(title=_tr("fig.lr", lang), type="log", exponentformat="power"),
        yaxis=dict(
            title=_tr("fig.steps_axis", lang), type="log", range=[-0.1, np.log10(top) + 0.1]
        ),
    )  # fmt: skip
    return tidy_log_axes(go.Figure(data=data, layout=layout))
