"""Normalization zoo figures: which values share one mean and variance; who moves whom."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from bnviz.figures.theme import BLUE, CHART_TEXT, COLORS, KEEP_HEIGHT, add_subtitle, base_layout
from bnviz.i18n import t
from bnviz.lessons.normalization import KINDS, Zoo, shade

# the highlighted statistic's values, then the others in two greys, one group against the next
SHARED_COLORS = [[0.0, "#E6E6E6"], [0.33, "#E6E6E6"], [0.34, "#BDBDBD"], [0.66, "#BDBDBD"],
                 [0.67, BLUE], [1.0, BLUE]]  # fmt: skip
MOVED_COLORS = {"batch": COLORS["plain"], "layer": BLUE, "instance": BLUE, "group": BLUE}


def _tr(key: str, lang: str, **fmt: object) -> str:
    return t(f"normalization.{key}", lang, **fmt)


CELL_GAP_UP_TO = 60  # columns drawn with a 1 px gap between them: more, and the gaps ate the
# colour (audit 36: 6 channels of 8x8 pixels drew a white chart at 1280); channels stay apart


def shared_map(ids: np.ndarray, shade: np.ndarray) -> np.ndarray:
    """(N, C·(S+1) - 1): 2 where a value shares the first value's statistic, else its grey
    (`shade`, 0 or 1); NaN columns between channels (a gap that shows where one ends)."""
    n, c, s = ids.shape
    colour = np.where(ids == ids[0, 0, 0], 2.0, shade.astype(float))
    padded = np.concatenate([colour, np.full((n, c, 1), np.nan)], axis=2)
    return padded.reshape(n, c * (s + 1))[:, :-1]


def shared_figure(zoo: Zoo, kind: str, *, lang: str = "en") -> go.Figure:
    """The tensor as N rows of C blocks of H·W pixels; blue: the values whose mean and variance
    normalize the first one (Wu & He 2018, fig. 2, flattened)."""
    ids = zoo.ids[kind]
    n, c, s = ids.shape
    z = shared_map(ids, shade(kind, n, c, s, zoo.groups))
    col = np.arange(z.shape[1])
    channel, pixel = col // (s + 1) + 1, col % (s + 1) + 1
    hover = [
        [_tr("fig.cell", lang, example=i + 1, channel=channel[j], pixel=pixel[j])
         for j in range(z.shape[1])]
        for i in range(n)
    ]  # fmt: skip
    if kind in zoo.single:  # torch refuses, or computes 0 everywhere
        said = _tr("fig.refused", lang)
        said = f'<span style="color:{COLORS["plain"]}">{said}</span>'
    else:
        said = _tr("fig.counts", lang, stats=zoo.n_stats[kind], values=zoo.per_stat[kind])
    layout = base_layout(_tr(f"fig.shared_title.{kind}", lang), meta=KEEP_HEIGHT)
    fig = go.Figure(
        go.Heatmap(
            z=z,
            zmin=0,
            zmax=2,
            colorscale=SHARED_COLORS,
            showscale=False,
            xgap=1 if z.shape[1] <= CELL_GAP_UP_TO else 0,
            ygap=2,
            text=hover,
            hovertemplate="%{text}<extra></extra>",
        ),
        layout=add_subtitle(layout, said),
    )
    centers = [(k * (s + 1) + (s - 1) / 2) for k in range(c)]
    fig.update_xaxes(
        tickvals=centers, ticktext=[str(k + 1) for k in range(c)], showgrid=False,
        title=_tr("fig.channels", lang), zeroline=False,
    )  # fmt: skip
    fig.update_yaxes(
        tickvals=list(range(n)), ticktext=[str(i + 1) for i in range(n)], autorange="reversed",
        showgrid=False, title=_tr("fig.examples", lang), zeroline=False,
    )  # fmt: skip
    return fig


def moved_figure(zoo: Zoo, *, lang: str = "en") -> go.Figure:
    """How far the first example's outputs move when the second example is drawn again: one
    bar per normalization (BatchNorm's only, the others exactly 0)."""
    names = [_tr(f"kind.{k}", lang) for k in KINDS]
    values = [zoo.moved.get(k, 0.0) for k in KINDS]
    text = [
        _tr("fig.refused_short", lang) if k in zoo.refused
        else _tr("fig.all_zero", lang) if k in zoo.single
        else _tr("fig.exactly_zero", lang) if zoo.moved.get(k) == 0.0
        else f"{zoo.moved[k]:.2f}" if k in zoo.moved else ""
        for k in KINDS
    ]  # fmt: skip
    fig = go.Figure(
        go.Bar(  # across: each name and its "0 exactly" on one line (audit 36: upright bars
            # squeezed "0 exactly" to 9 px under names set at a slant)
            x=values,
            y=names,
            orientation="h",
            text=text,
            textposition="outside",
            cliponaxis=False,
            marker_color=[MOVED_COLORS[k] for k in KINDS],
            hoverinfo="skip",
        ),
        layout=add_subtitle(
            base_layout(_tr("fig.moved_title", lang)), _tr("fig.moved_subtitle", lang)
        ),
    )
    top = max([*values, 0.1]) * 1.6  # room for the bar's own number
    fig.update_xaxes(range=[0, top], title=_tr("fig.moved_axis", lang), rangemode="tozero")
    fig.update_yaxes(autorange="reversed")  # BatchNorm on top, in the table's order
    fig.update_layout(showlegend=False, uniformtext=dict(minsize=14, mode="show"))
    if not zoo.moved:  # batch size 1: there is no other example to change
        fig.add_annotation(
            text=_tr("fig.one_example", lang), x=0.5, y=0.5, xref="paper", yref="paper",
            showarrow=False, font=dict(size=15, color=CHART_TEXT),
        )  # fmt: skip
        fig.update_traces(text=None)
        # no bars: the axes' names and 0-0.15 ticks would measure nothing (an audit, 12-08)
        fig.update_xaxes(visible=False)
        fig.update_yaxes(visible=False)
    return fig
