"""Live chart figures: every trace of a view present from the start, so points can be appended."""

from __future__ import annotations

import plotly.graph_objects as go

from bnviz.figures.theme import (
    COLORS,
    HERO_HEIGHT,
    base_layout,
    bottom_legend,
    diverged_mark,
    note_if_empty,
    readable,
    tidy_log_axes,
)
from bnviz.i18n import t

LEGEND_ROW = 28  # px: the runs' legend row stands this far above the line styles' row
DIVERGED = "diverged"  # the table name of a run's divergence mark (live_api.diverged_mark)
UIREVISION = "live"  # the same value on every redraw: plotly keeps the user's zoom and hover
AXES = {
    "loss": dict(
        title="lab.fig.loss", y="lab.fig.loss_axis", yaxis=dict(type="log", exponentformat="power")
    ),
    "accuracy": dict(
        title="lab.fig.accuracy", y="lab.fig.accuracy_axis", yaxis=dict(range=[0, 1.02])
    ),
}


def _style_legend(traces: list, styles: tuple[tuple[str, str, float], ...], lang: str) -> list:
    """Two short legend rows: a color per run, then a line style per series (grey, legend2).

    Six "run · series" entries wrapped to three rows below the fold at 1280x720; in one legend,
    the loss chart's five entries took two rows in English and the accuracy chart's four one,
    so the two plots beside each other ended at different heights.
    """
    seen = set()
    for tr in traces:
        run = tr.legendgroup
        solid = tr.mode == "lines" and tr.line.dash in (None, "solid") and tr.opacity is None
        tr.showlegend = run not in seen and solid
        tr.name = t(f"lab.run.{run}", lang) if tr.showlegend else tr.name
        seen |= {run} if tr.showlegend else set()
    for key, dash, width in styles:
        traces.append(
            go.Scatter(
                x=[None], y=[None], name=t(f"lab.fig.{key}", lang), mode="lines",
                line=dict(color=COLORS["guide"], dash=dash, width=width), hoverinfo="skip",
                legend="legend2",
            )
        )  # fmt: skip
    return traces


STYLES = {  # the line styles the legend explains once, in grey: (i18n key, dash, width)
    "loss": (("train_loss", "solid", 2.5), ("test_loss", "dash", 2.5), ("batch", "solid", 1)),
    "accuracy": (("train_acc", "solid", 2.5), ("test_acc", "dash", 2.5)),
}


def _trace(tr: dict, lang: str) -> go.Scatter:
    """One series: thin and faint for mini-batch losses, bold (test dashed) for evaluations;
    a diverged run's mark, an x labelled "diverged" where its curve ends (on the axis's top
    edge when the curve left the chart: its hover says the value it reached)."""
    color = COLORS.get(tr["run"], COLORS["guide"])
    label = t(f"lab.run.{tr['run']}", lang)
    if tr["table"] == DIVERGED:
        mark = diverged_mark(color, lang)
        mark["text"] *= len(tr["x"])
        if "reached" in tr:  # the step and the value, said (audit 20: "1, 4.67e+31")
            said = [t("lab.fig.reached", lang, step=x, value=readable(v)) for x, v in
                    zip(tr["x"], tr["reached"], strict=True)]  # fmt: skip
            mark.update(hovertext=said, hoverinfo="text")
        return go.Scatter(
            x=tr["x"], y=tr["y"], name=f"{label} · {t('lab.fig.diverged', lang)}",
            legendgroup=tr["run"], **mark,
        )  # fmt: skip
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
        opacity=opacity if opacity < 1 else None,
        legendgroup=tr["run"],
    )


FEW_STEPS = 5  # up to this many steps, the step axis ticks every step


def live_figure(traces: list[dict], view: str, *, lang: str, span: int = 0) -> go.Figure:
    """The chart of a live view from bnviz.live_api.traces() records (empty traces kept).

    The step axis spans 0..`span` at least (live_api.x_span: the runs' first evaluation after
    step 0, later the last step trained). With only step 0's evaluation, plotly's own range
    was -1..1: an empty accuracy chart with a vertical zero line for the first seconds of every
    run. Later the accuracy chart ended at the last evaluation (step 300) beside a loss chart
    at step 390: the two charts side by side now end at the same step.
    """
    axes = AXES[view]
    layout = base_layout(
        t(axes["title"], lang),
        height=HERO_HEIGHT - 20,  # the streamed chart's status lines sit above it
        # no Streamlit theme (nor plotly.py's template) in the browser to place titles: room for
        # ticks, title and legend, and automargin (plotly.js defaults it off) so a legend that
        # wraps to two rows pushes the plot up instead of the axis title into the tick labels
        margin=dict(l=60, r=20, t=40, b=90),
        xaxis=dict(
            title=t("lab.fig.step", lang),
            automargin=True,
            rangemode="nonnegative",
            autorangeoptions=dict(include=[0, span]) if span else None,
            dtick=1 if 0 < span <= FEW_STEPS else None,  # a run of 1-5 steps: no "step 0.2"
        ),
        yaxis=dict(title=t(axes["y"], lang), automargin=True, **axes["yaxis"]),
        uirevision=UIREVISION,
        legend=dict(bottom_legend(), xref="container"),  # runs: a row above (y set below)
        legend2=dict(bottom_legend(), xref="container"),  # line styles, the row below
    )
    layout["legend"]["y"] = LEGEND_ROW / layout["height"]
    lines = _style_legend([_trace(tr, lang) for tr in traces], STYLES[view], lang)
    fig = tidy_log_axes(go.Figure(lines, layout))  # streamed: live_api.y_ticks as it grows
    return note_if_empty(fig, t("lab.fig.no_data", lang))  # paused at step 0: axes, nothing
