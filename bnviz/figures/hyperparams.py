"""Hyperparameter-search figures: designs, decade shares, lr x init-scale heatmaps, importance."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from bnviz.figures.theme import COLORS, PALETTE, base_layout, f32
from bnviz.i18n import t
from bnviz.lessons.hyperparams import good_share, notes_tier


def _tr(key: str, lang: str, **fmt: object) -> str:
    return t(f"hyperparams.fig.{key}", lang, **fmt)


def designs_figure(grid: np.ndarray, rand: np.ndarray, *, lang: str) -> go.Figure:
    """Grid and random trials in the (lr, ε) plane, log axes, with the lrs each tests as ticks."""
    k = len(np.unique(grid[:, 0]))
    fig = go.Figure(layout=base_layout(_tr("designs", lang, n=len(grid), k=k)))
    for name, pts, color in (("grid", grid, COLORS["plain"]), ("random", rand, COLORS["bn"])):
        fig.add_scatter(x=f32(pts[:, 0]), y=f32(pts[:, 1]), mode="markers", name=_tr(name, lang),
                        marker=dict(color=color, size=9), meta=name)  # fmt: skip
        for lr in np.unique(pts[:, 0]):  # where each design probes the axis that matters
            fig.add_vline(x=float(lr), line=dict(color=color, width=1, dash="dot"), opacity=0.4)
    fig.update_xaxes(type="log", title=_tr("lr", lang))
    fig.update_yaxes(type="log", title=_tr("eps", lang))
    return fig


def decades_figure(shares: Mapping[str, np.ndarray], lo_exp: int = -4, *, lang: str) -> go.Figure:
    """Grouped bars: share of samples per decade, for each scale ("linear", "log")."""
    fig = go.Figure(layout=base_layout(_tr("decades", lang)))
    for i, (scale, share) in enumerate(shares.items()):
        labels = [f"[1e{lo_exp + j}, 1e{lo_exp + j + 1})" for j in range(len(share))]
        fig.add_bar(x=labels, y=f32(share), name=_tr(scale, lang), meta=scale,
                    marker_color=PALETTE[i % len(PALETTE)])  # fmt: skip
    fig.update_layout(barmode="group", yaxis=dict(title=_tr("share", lang), tickformat=".0%"))
    fig.update_xaxes(title=_tr("decade", lang))
    return fig


def bn_heatmaps(
    acc_plain: np.ndarray, acc_bn: np.ndarray, lrs, scales, threshold: float = 0.9, *, lang: str
) -> go.Figure:
    """Final test accuracy over lr (columns) x init scale (rows), without and with BN."""
    titles = []
    for key, acc in (("no_bn", acc_plain), ("bn", acc_bn)):
        good, total = good_share(acc, threshold)
        titles.append(_tr(key, lang, good=good, total=total, threshold=f"{threshold:.0%}"))
    fig = make_subplots(rows=1, cols=2, subplot_titles=titles, horizontal_spacing=0.08)
    xs = [f"{v:.2g}" for v in lrs]
    ys = [f"{v:.2g}" for v in scales]
    for col, acc in ((1, acc_plain), (2, acc_bn)):
        fig.add_heatmap(z=f32(acc), x=xs, y=ys, zmin=0.5, zmax=1.0, colorscale="Viridis",
                        showscale=col == 2, colorbar=dict(title=_tr("accuracy", lang)),
                        row=1, col=col)  # fmt: skip
        fig.update_xaxes(title=_tr("lr", lang), type="category", row=1, col=col)
    fig.update_yaxes(title=_tr("scale", lang), type="category", row=1, col=1)
    fig.update_layout(base_layout(height=380))
    return fig


def importance_figure(importances: Mapping[str, float], *, lang: str) -> go.Figure:
    """Horizontal bars of measured importance, each labelled with the notes' tier."""
    names = list(importances)[::-1]  # largest on top
    values = [importances[n] for n in names]
    tiers = [_tr("tier", lang, tier=notes_tier(n) + 1) for n in names]
    fig = go.Figure(layout=base_layout(_tr("importance", lang)))
    fig.add_bar(x=f32(values), y=names, orientation="h", text=tiers, textposition="outside",
                marker_color=COLORS["bn"], name=_tr("measured", lang))  # fmt: skip
    fig.update_xaxes(title=_tr("measured", lang), range=[0, 1.2], tickformat=".0%")
    return fig
