"""Hyperparameter-search figures: designs, decade shares, lr x init-scale heatmaps, importance."""

from __future__ import annotations

from collections.abc import Collection, Mapping

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from bnviz.figures.theme import (
    COLORS,
    HERO_HEIGHT,
    PALETTE,
    add_subtitle,
    base_layout,
    f32,
    log_axis,
    readable,
)
from bnviz.i18n import strings, t
from bnviz.lessons.hyperparams import NOTES_RANKING, good_share, notes_tier
from bnviz.lessons.hyperparams_views import round_measure

DIVERGED = "#222222"  # the × of a model whose loss stopped being finite, in every figure
DIVERGED_CELL = "#D0D0D0"  # its heatmap cell: grey, outside Viridis
CELL_TEXT = "%{z:.1%}"  # a BN-grid cell's accuracy as the titles' threshold is written: 89.6%


def _tr(key: str, lang: str, **fmt: object) -> str:
    return t(f"hyperparams.fig.{key}", lang, **fmt)


def _x_marks(k: int, lang: str, **where: object) -> dict:
    """Scatter arguments of the × markers of k diverged models (one legend entry)."""
    return dict(mode="markers", name=_tr("diverged", lang, k=k), meta="diverged",
                legendgroup="diverged", marker=dict(symbol="x", size=12, color=DIVERGED),
                **where)  # fmt: skip


def designs_figure(grid: np.ndarray, rand: np.ndarray, *, lang: str) -> go.Figure:
    """Grid and random trials in the (lr, ε) plane, log axes, with the lrs each tests as ticks."""
    k = len(np.unique(grid[:, 0]))
    fig = go.Figure(layout=base_layout(_tr("designs", lang, n=len(grid), k=k)))
    for name, pts, color in (("grid", grid, COLORS["plain"]), ("random", rand, COLORS["bn"])):
        fig.add_scatter(x=f32(pts[:, 0]), y=f32(pts[:, 1]), mode="markers", name=_tr(name, lang),
                        marker=dict(color=color, size=9), meta=name)  # fmt: skip
        for lr in np.unique(pts[:, 0]):  # where each design probes the axis that matters
            fig.add_vline(x=float(lr), line=dict(color=color, width=1, dash="dot"), opacity=0.4)
    both = np.concatenate([grid, rand])
    fig.update_xaxes(log_axis(both[:, 0]), title=_tr("lr", lang))
    fig.update_yaxes(log_axis(both[:, 1]), title=_tr("eps", lang))
    return fig


def _pow10(k: int) -> str:
    """10^k with a superscript exponent: 10⁻⁴."""
    return "10" + str(k).translate(str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹"))


def decades_figure(shares: Mapping[str, np.ndarray], lo_exp: int = -4, *, lang: str) -> go.Figure:
    """Grouped bars: share of samples per decade, for each scale ("linear", "log")."""
    fig = go.Figure(layout=base_layout(_tr("decades", lang)))
    for i, (scale, share) in enumerate(shares.items()):
        labels = [f"{_pow10(lo_exp + j)}–{_pow10(lo_exp + j + 1)}" for j in range(len(share))]
        fig.add_bar(x=labels, y=f32(share), name=_tr(scale, lang), meta=scale,
                    marker_color=PALETTE[i % len(PALETTE)])  # fmt: skip
    fig.update_layout(barmode="group", yaxis=dict(title=_tr("share", lang), tickformat=".0%"))
    fig.update_xaxes(title=_tr("decade", lang))
    return fig


def bn_heatmaps(
    acc_plain: np.ndarray,
    acc_bn: np.ndarray,
    lrs,
    scales,
    threshold: float = 0.9,
    gone=None,
    *,
    lang: str,
) -> go.Figure:
    """Final test accuracy over lr (columns) x init scale (rows), without and with BN.

    gone: (plain, bn) bool arrays of acc's shape, the models that diverged (no accuracy):
    their cells grey with an ×, not blank.
    """
    titles = []
    for key, acc in (("no_bn", acc_plain), ("bn", acc_bn)):
        good, total = good_share(acc, threshold)
        titles.append(_tr(key, lang, good=good, total=total, threshold=f"{100 * threshold:.0f}"))
    fig = make_subplots(rows=1, cols=2, subplot_titles=titles, horizontal_spacing=0.08)
    xs = [f"{v:.2g}" for v in lrs]
    ys = [f"{v:.2g}" for v in scales]
    for col, acc in ((1, acc_plain), (2, acc_bn)):
        # each cell's accuracy written in it: on the colour alone 89.6 % read as the title's 90 %
        fig.add_heatmap(z=f32(acc), x=xs, y=ys, zmin=0.5, zmax=1.0, colorscale="Viridis",
                        texttemplate=CELL_TEXT, textfont=dict(size=11),
                        showscale=col == 2, colorbar=dict(title=_tr("accuracy", lang)),
                        row=1, col=col)  # fmt: skip
        mask = np.asarray(gone[col - 1], bool) if gone is not None else None
        if mask is not None and mask.any():
            fig.add_heatmap(z=np.where(mask, 1.0, np.nan).astype(np.float32), x=xs, y=ys,
                            text=np.where(mask, "×", ""), texttemplate="%{text}",
                            textfont=dict(size=22, color=DIVERGED), showscale=False,
                            colorscale=[[0, DIVERGED_CELL], [1, DIVERGED_CELL]],
                            name=_tr("diverged", lang, k=int(mask.sum())), meta="diverged",
                            hovertemplate=_tr("diverged_cell", lang) + "<extra></extra>",
                            row=1, col=col)  # fmt: skip
        fig.update_xaxes(title=_tr("lr", lang), type="category", row=1, col=col)
        fig.update_yaxes(type="category", showticklabels=col == 1, row=1, col=col)  # same rows
    fig.update_yaxes(title=_tr("scale", lang), type="category", row=1, col=1)
    fig.update_layout(base_layout(height=HERO_HEIGHT))
    return fig


def importance_figure(importances: Mapping[str, float], *, lang: str) -> go.Figure:
    """Horizontal bars of measured importance, each labelled with the notes' tier."""
    names = list(importances)[::-1]  # largest on top
    values = [importances[n] for n in names]
    tiers = [
        _tr("tier", lang, tier=notes_tier(n) + 1)
        if notes_tier(n) < len(NOTES_RANKING)
        else _tr("not_ranked", lang)
        for n in names
    ]
    labels = [strings(lang).get(f"fields.{n}", n) for n in names]  # a setting no page names: as is
    fig = go.Figure(layout=base_layout(_tr("importance", lang)))
    fig.add_bar(x=f32(values), y=labels, orientation="h", text=tiers, textposition="outside",
                marker_color=COLORS["bn"], name=_tr("measured", lang))  # fmt: skip
    # room right of the longest bar for its tier label; ticks never past 100 % (the shares
    # sum to 1: an axis to 120 % beside a 53 % bar read as a scale of something else)
    upper = max([*values, 0.05]) * 1.5
    ticks = np.arange(0, min(upper, 1) + 1e-9, 0.1 if upper <= 0.6 else 0.25)
    fig.update_xaxes(title=_tr("measured", lang), range=[0, upper], tickvals=ticks,
                     tickformat=".0%")  # fmt: skip
    return fig


def response_figure(
    groups: Mapping[str, tuple],
    axes: tuple[str, ...],
    gone=None,
    *,
    lang: str,
    subtitle: str | None = None,
) -> go.Figure:
    """Loss against each axis (log x), one colour per design; groups: name -> (points (n, d), loss).

    The best point of each design is drawn large (its value in the legend). gone: name -> (n,)
    bool, the models that diverged (no loss): drawn as × along the top, above every loss.
    `subtitle`: a line under the title (a measure the page states).
    """
    fig = make_subplots(rows=1, cols=len(axes), shared_yaxes=True, horizontal_spacing=0.05)
    gone = {n: np.asarray(m, bool) for n, m in (gone or {}).items() if np.any(m)}
    for i, (name, (pts, loss)) in enumerate(groups.items()):
        color = PALETTE[i % len(PALETTE)]
        top = int(np.argmin(np.nan_to_num(loss, nan=np.inf))) if len(loss) else 0
        for col in range(len(axes)):
            fig.add_scatter(
                x=f32(pts[:, col]),
                y=f32(loss),
                mode="markers",
                name=_tr(name, lang),
                legendgroup=name,
                showlegend=col == 0,
                meta=name,
                marker=dict(color=color, size=8, opacity=0.8),
                row=1,
                col=col + 1,
            )
            if len(loss) and np.isfinite(loss[top]):
                fig.add_scatter(
                    x=[float(pts[top, col])],
                    y=[float(loss[top])],
                    mode="markers",
                    name=_tr("best_of", lang, name=_tr(name, lang), loss=f"{loss[top]:.3g}"),
                    showlegend=col == 0,
                    legendgroup=name,
                    meta=f"best-{name}",
                    marker=dict(
                        color=color, size=16, symbol="star", line=dict(color="black", width=1)
                    ),
                    row=1,
                    col=col + 1,
                )
    if gone:
        pts = np.concatenate([groups[n][0][m] for n, m in gone.items()])
        finite = np.concatenate([np.asarray(loss, np.float64) for _, loss in groups.values()])
        finite = finite[np.isfinite(finite) & (finite > 0)]
        top = float(finite.max()) * 3 if len(finite) else 1.0  # half a decade above the highest
        for col in range(len(axes)):
            fig.add_scatter(x=f32(pts[:, col]), y=np.full(len(pts), top, np.float32),
                            showlegend=col == 0, row=1, col=col + 1,
                            **_x_marks(len(pts), lang))  # fmt: skip
    losses = [np.asarray(loss, np.float64) for _, loss in groups.values()]
    if gone:
        losses.append(np.array([top]))  # the ×s' row
    for col, axis in enumerate(axes):
        xs = [pts[:, col] for pts, _ in groups.values()]
        fig.update_xaxes(log_axis(*xs), title=_tr(axis, lang), row=1, col=col + 1)
    fig.update_yaxes(log_axis(*losses), title=_tr("final_loss", lang), row=1, col=1)
    layout = base_layout(_tr("response", lang), height=HERO_HEIGHT)
    fig.update_layout(add_subtitle(layout, subtitle) if subtitle else layout)
    return fig


def zoom_figure(
    rounds: Mapping[str, tuple], box, gone=None, *, lang: str, ended: Collection[str] = ()
) -> go.Figure:
    """Both rounds of coarse to fine in the (lr, init scale) plane, coloured by loss; the box.

    gone: round -> (n,) bool, the models that diverged (no loss to colour): drawn as ×.
    ended: the rounds that have finished: their legend gives their decades and median loss.
    """
    fig = go.Figure(layout=base_layout(_tr("zoom", lang), height=HERO_HEIGHT))
    gone = {n: np.asarray(m, bool) for n, m in (gone or {}).items()}
    out = []
    for i, (name, (pts, loss)) in enumerate(rounds.items()):
        keep = ~gone.get(name, np.zeros(len(pts), bool))
        out.append(pts[~keep])
        decades, median = round_measure(pts[:, 0], loss)  # the preset's measures, in the legend
        label = _tr(name, lang)
        if name in ended and np.isfinite(median):
            label += " · " + _tr("round_measure", lang, decades=f"{decades:.1f}",
                                 median=readable(median, 2))  # fmt: skip
        pts, loss = pts[keep], np.asarray(loss)[keep]
        fig.add_scatter(
            x=f32(pts[:, 0]),
            y=f32(pts[:, 1]),
            mode="markers",
            name=label,
            meta=name,
            marker=dict(
                size=11,
                color=f32(np.log10(loss)),
                coloraxis="coloraxis",
                symbol=("circle", "diamond")[i % 2],
                line=dict(color=PALETTE[i], width=2),
            ),
        )
    out = np.concatenate(out) if out else np.zeros((0, 2))
    if len(out):
        fig.add_scatter(x=f32(out[:, 0]), y=f32(out[:, 1]), **_x_marks(len(out), lang))
    if box is not None:
        (x0, y0), (x1, y1) = box
        fig.add_shape(  # log axes: plotly places shapes in data units
            type="rect",
            x0=float(x0),
            x1=float(x1),
            y0=float(y0),
            y1=float(y1),
            line=dict(color=COLORS["bn"], dash="dash"),
        )
    fig.update_layout(
        coloraxis=dict(colorscale="Viridis_r", colorbar=dict(title=_tr("log_loss", lang)))
    )
    every = [pts for pts, _ in rounds.values()]
    if box is not None:
        every.append(np.asarray(box, np.float64))
    every = np.concatenate(every) if every else np.zeros((0, 2))
    fig.update_xaxes(log_axis(every[:, 0]), title=_tr("lr", lang))
    fig.update_yaxes(log_axis(every[:, 1]), title=_tr("scale", lang))
    return fig


CURVES_FLOOR = 0.4  # the accuracy axis starts here (moons: chance is 0.5), or lower if one is


def curves_figure(
    step: np.ndarray, acc: np.ndarray, best: int, diverged_at=None, *, lang: str
) -> go.Figure:
    """Every model's test accuracy over training (thin grey), the best one bold.

    diverged_at: (N,) the step each model diverged at, -1 if none: its curve stops there
    (NaN after), and an × marks the step, at its last accuracy (at the axis floor if none).
    """
    fig = go.Figure(layout=base_layout(_tr("curves", lang), height=HERO_HEIGHT))
    seen = np.asarray(acc, np.float64)[np.isfinite(acc)]
    bottom = min(CURVES_FLOOR, np.floor(seen.min() * 10) / 10) if len(seen) else CURVES_FLOOR
    named = 1 if best == 0 else 0  # the grey curve that stands for all the others in the legend
    for i, row in enumerate(acc):
        top = i == best
        fig.add_scatter(
            x=f32(step),
            y=f32(row),
            mode="lines",
            showlegend=top or i == named,
            legendrank=1 if top else 2,  # the best model first
            name=_tr("best", lang) if top else _tr("others", lang, n=len(acc) - 1),
            meta="best" if top else "model",
            line=dict(
                color=COLORS["bn"] if top else "rgba(120,120,120,0.35)", width=3 if top else 1
            ),
        )
    at = np.asarray(diverged_at if diverged_at is not None else [], np.int64)
    if (at >= 0).any():
        rows = np.flatnonzero(at >= 0)
        floor, last = bottom + 0.02, []
        for i in rows:
            seen = acc[i][np.isfinite(acc[i])]
            last.append(max(float(seen[-1]), floor) if len(seen) else floor)
        text = [_tr("diverged_at", lang, step=int(at[i])) for i in rows]
        fig.add_scatter(x=f32(at[rows]), y=f32(last), text=text, hoverinfo="text",
                        **_x_marks(len(rows), lang))  # fmt: skip
    fig.update_xaxes(title=_tr("step", lang))
    fig.update_yaxes(title=_tr("accuracy", lang), range=[bottom, 1.02])  # no curve cut off
    return fig
