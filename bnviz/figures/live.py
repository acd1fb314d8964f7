"""Live chart figures: every trace of a view present from the start, so points can be appended."""

from __future__ import annotations

import plotly.graph_objects as go

from bnviz.figures.theme import COLORS, base_layout
from bnviz.i18n import t

UIREVISION = "live"  # the same value on every redraw: plotly keeps the user's zoom and hover
AXES = {
    "loss": dict(title="lab.fig.loss", y="lab.fig.loss_axis", yaxis=dict(type="log")),
    "accuracy": dict(
        title="lab.fig.accuracy", y="lab.fig.accuracy_axis", yaxis=dict(range=[0, 1.02])
    ),
}


def _trace(tr: dict, lang: str) -> go.Scatter:
    """One series: thin and faint for mini-batch losses, bold (test dashed) for evaluations."""
    color = COLORS.get(tr["run"], COLORS["guide"])
    label = t(f"lab.run.{tr['run']}", lang)
    if tr["table"] == "losses":
        name, line, opacity = f"{label} · {t('lab.fig.batch', lang)}", dict(width=1), 0.35
    else:
        dash = "dash" if tr["column"].startswith("test") else "solid"
        name, line, opacity = (
            f"{label} · {t('lab.fig.' + tr['column'], lang)}",
            dict(width=2.5, dash=dash),
            1.0,
        )
    return go.Scatter(
        x=tr["x"],
        y=tr["y"],
        name=name,
        mode="lines",
        line=dict(color=color, **line),
        opacity=opacity,
    )


def live_figure(traces: list[dict], view: str, *, lang: str) -> go.Figure:
    """The chart of a live view from bnviz.live_api.traces() records (empty traces kept)."""
    axes = AXES[view]
    layout = base_layout(
        t(axes["title"], lang),
        xaxis=dict(title=t("lab.fig.step", lang)),
        yaxis=dict(title=t(axes["y"], lang), **axes["yaxis"]),
        uirevision=UIREVISION,
        legend=dict(orientation="h", yanchor="top", y=-0.28, x=0, font=dict(size=11)),
    )  # the legend below the axis title: live figures have no Streamlit theme to place it
    return go.Figure([_trace(tr, lang) for tr in traces], layout)
