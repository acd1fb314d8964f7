"""Running-statistics figures: batch vs running vs population statistics, train vs eval mode."""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
import plotly.graph_objects as go

from bnviz.figures.theme import (
    COLORS,
    PALETTE,
    add_subtitle,
    base_layout,
    domains,
    downsample,
    f32,
    in_color,
    log_axis,
    readable,
)
from bnviz.i18n import listed, t
from bnviz.lessons.running_stats import (
    BN_UNITS,
    LATE,
    BatchNoise,
    LayerMeasure,
    ModeSeries,
    UnitSeries,
)

# blue and a dark magenta (PALETTE's pink, #CC79A7, vanished under the grey dots: audit 26)
RUN_COLORS = {"main": COLORS["bn"], "compare": PALETTE[6]}
DOTS = "#9A9A9A"  # batch statistics: grey, so the lines stand out
POPULATION = "#222222"  # the quantity the running statistics estimate


def _tr(key: str, lang: str, **fmt: object) -> str:
    return t(f"running_stats.fig.{key}", lang, **fmt)


def momentum_label(momentum: float | None, lang: str) -> str:
    """'m = 0.1', or the cumulative average for momentum=None."""
    if momentum is None:
        return _tr("cumulative", lang)
    return _tr("momentum", lang, m=f"{momentum:g}")


def _empty(lang: str, title: str, height: int = 320) -> go.Figure:
    """The chart's title, and "waiting for data…" in the plot (in the title it was cut at 1280)."""
    fig = go.Figure(layout=base_layout(title, height=height))
    fig.add_annotation(text=_tr("no_data", lang), x=0.5, y=0.5, xref="paper", yref="paper",
                       showarrow=False)  # fmt: skip
    return fig


def _range(dots: list[np.ndarray], lines: list[np.ndarray]) -> list[float] | None:
    """A y-range that shows every line and all but the wildest 2 % of the dots on each side."""
    parts = [np.nanpercentile(d, [2, 98]) for d in dots if np.isfinite(d).any()]
    parts += [np.array([np.nanmin(v), np.nanmax(v)]) for v in lines if np.isfinite(v).any()]
    if not parts:
        return None
    lo, hi = min(p[0] for p in parts), max(p[1] for p in parts)
    pad = 0.06 * (hi - lo) if hi > lo else 0.5
    return [float(lo - pad), float(hi + pad)]


# ---------------------------------------------------------------------------- one unit over time


def _dots(x, y, name: str, meta: str, symbol: str = "circle", size: float = 5):
    x, y = downsample(x, y)
    return go.Scatter(
        x=x.astype(np.int32), y=f32(y), name=name, meta=meta, mode="markers", opacity=0.6,
        marker=dict(color=DOTS, size=size, symbol=symbol), hovertemplate="%{y:.4f}",
    )  # fmt: skip


def _line(x, y, name: str, meta: str, color: str, width: float, dash: str = "solid"):
    x, y = downsample(x, y)
    return go.Scatter(
        x=x.astype(np.int32), y=f32(y), name=name, meta=meta, mode="lines",
        line=dict(color=color, width=width, dash=dash), hovertemplate="%{y:.4f}",
    )  # fmt: skip


# The legend's entries in reading order: the runs' lines (the lesson's subject) on the first
# row, then the grey dots and the black dashed target. Plotly gives a legend the plot's width
# (~300 px in a half-width column at 1280x720) and, unless every entry is in a legend group of
# its own, makes every entry as wide as the longest, one per row: 4-5 rows before.
LEGEND_ORDER = ("main", "compare", "batch_mean", "batch_var", "pop")
LEGEND_ENTRIES = 4  # at most, either chart: two rows at 1280x720, in both languages


def _legend_names(series: Mapping[str, UnitSeries], which: str, lang: str) -> dict[str, str]:
    """Each run's legend name: the statistic on the first ("running_mean, m = 0.1"), only the
    momentum on the second ("m = 0.9": the same kind of line, another color); momentum=None is
    "m = None" (the cumulative average named in full would wrap the row)."""
    names = {}
    for name, s in series.items():
        m = "None" if s.momentum is None else f"{s.momentum:g}"
        label = _tr("momentum", lang, m=m)
        names[name] = _tr(f"running_{which}", lang, label=label) if not names else label
    return names


def stats_figure(
    series: Mapping[str, UnitSeries],
    which: str,
    *,
    lang: str,
    layer: int,
    unit: int,
    measures: Mapping[str, LayerMeasure] | None = None,
) -> go.Figure:
    """which='mean' or 'var': batch statistic per step (dots), torch's running buffer of each
    run (lines) and the population statistic of the current network (black line).

    `measures`: each run's measure of the layer over all its recorded units (the running mean's
    distance from the population, or running_var ÷ population variance, from step LATE), in
    a subtitle, each number in its run's color; pass a run still training as NO_MEASURE.

    The legend is two rows at 1280x720: the runs' lines, then the dots and the population line;
    the variance's two kinds of dots share one entry (÷B dots, ÷(B − 1) crosses). Hovering a
    trace names it in full."""
    title = _tr(f"{which}_title", lang, layer=layer + 1, unit=unit + 1)
    main = series.get("main")
    if main is None:
        return _empty(lang, title)
    batch = main.batch_mean if which == "mean" else main.batch_var
    traces = [_dots(main.step, batch, _tr(f"batch_{which}", lang), f"batch_{which}")]
    dots = [batch]
    if which == "var":
        unbiased = main.batch_var_unbiased
        label = _tr("batch_var_unbiased", lang)
        traces.append(_dots(main.step, unbiased, label, "batch_var_unbiased", "x-thin", 6))
        traces[-1].marker.line = dict(color=DOTS, width=1)
        traces[-1].update(legendgroup="batch_var", showlegend=False)  # in the ÷B dots' entry
        dots.append(unbiased)
    pop = main.pop_mean if which == "mean" else main.pop_var
    lines, over = [pop], []
    for name, s in series.items():  # both runs above the dots; the compared one dotted, so it
        # is told from the main one without colour too (audit 26: drawn under the dots, the
        # compared momentum's line vanished on the projector)
        running = s.running_mean if which == "mean" else s.running_var
        label = _tr(f"running_{which}", lang, label=momentum_label(s.momentum, lang))
        width, dash = (2.6, "solid") if name == "main" else (2.2, "dot")
        over.append(_line(s.step, running, label, name, RUN_COLORS[name], width, dash))
        lines.append(running)
    target = _line(main.eval_step, pop, _tr(f"pop_{which}", lang), "pop", POPULATION, 2.2, "dash")
    traces = traces + over + [target]
    short = _legend_names(series, which, lang) | {
        "batch_var": _tr("legend_batch_var", lang, cross=in_color("×", DOTS)),
        "pop": _tr(f"legend_pop_{which}", lang),
    }
    for trace in traces:  # legend in reading order, whatever the drawing order
        if trace.meta == "batch_var_unbiased":
            continue
        trace.hovertemplate = f"%{{y:.4f}}<extra>{trace.name}</extra>"  # the full name
        trace.name = short.get(trace.meta, trace.name)
        trace.legendrank = 1 + LEGEND_ORDER.index(trace.meta)
        trace.legendgroup = trace.meta  # each entry its own width (see LEGEND_ORDER)
    yaxis = dict(title=_tr(f"{which}_axis", lang), range=_range(dots, lines))
    layout = base_layout(
        title, height=320, xaxis=dict(title=_tr("step", lang)), yaxis=yaxis,
    )  # fmt: skip
    layout["legend"] |= dict(tracegroupgap=0)  # groups of one entry: rows as tight as before
    if measures is not None:  # from the first draw, so the plot does not move at step LATE
        add_subtitle(layout, _measures_text(measures, series, which, lang))  # legend stays put
    return go.Figure(traces, layout)


def _measures_text(
    measures: Mapping[str, LayerMeasure], series: Mapping[str, UnitSeries], which: str, lang: str
) -> str:
    """ "8 units from step 150: running_var ÷ population 1.92×, 1.31×", each value in its run's
    color; app.when_ended ("… when the runs end") while no run has ended."""
    values, units = [], 0
    for name, measure in measures.items():
        value = measure.var_ratio if which == "var" else measure.mean_error
        if name in series and np.isfinite(value):
            text = f"{value:.2f}×" if which == "var" else readable(value, 2)
            values.append(in_color(text, RUN_COLORS[name]))
            units = measure.units
    text = listed(values, lang) if values else t("app.when_ended", lang)
    return _tr(f"measure_{which}", lang, n=units or BN_UNITS, late=LATE, values=text)


# ---------------------------------------------------------------------------- train vs eval mode


def _mode_lines(modes: Mapping[str, ModeSeries], metric: str, lang: str) -> list[tuple]:
    """(step, values, label, color, dash): train mode once (training is the same for every
    momentum), then eval mode for each run."""
    main = modes["main"]
    out = [(main.step, getattr(main, f"batch_{metric}"), _tr("batch_mode", lang),
            COLORS["accent"], "dash")]  # fmt: skip
    for name, m in modes.items():
        label = _tr("eval_mode", lang, label=momentum_label(m.momentum, lang))
        out.append((m.step, getattr(m, f"running_{metric}"), label, RUN_COLORS[name], "solid"))
    return out


def mode_figure(modes: Mapping[str, ModeSeries], *, lang: str) -> go.Figure:
    """Accuracy and loss of the same network with batch statistics and with running ones."""
    title, main = _tr("mode_title", lang), modes.get("main")
    if main is None or not (main.step > 0).any():  # log steps: the evaluation at 0 is not drawn
        return _empty(lang, title)
    traces, axes = [], {}
    for i, (metric, dom) in enumerate(zip(("acc", "loss"), domains(2, 0.14), strict=True)):
        axis, ys = "" if i == 0 else "2", []
        for step, y, label, color, dash in _mode_lines(modes, metric, lang):
            x, y = downsample(step[step > 0], y[step > 0])  # log steps: the early part shows
            ys.append(y)
            traces.append(
                go.Scatter(
                    x=x.astype(np.int32), y=f32(y), name=label, mode="lines",
                    line=dict(color=color, width=2.2, dash=dash), legendgroup=label,
                    showlegend=i == 0, xaxis="x" + axis, yaxis="y" + axis,
                )
            )  # fmt: skip
        axes[f"xaxis{axis}"] = log_axis(main.step) | dict(
            domain=dom, title=_tr("step_log", lang), anchor="y" + axis
        )
        y_axis = dict(title=_tr(f"{metric}_axis", lang), anchor="x" + axis)
        y_axis |= dict(range=[0, 1.02]) if metric == "acc" else log_axis(*ys)
        axes[f"yaxis{axis}"] = y_axis
    return go.Figure(traces, base_layout(title, height=320, **axes))


# ---------------------------------------------------------------------------- batch noise


def noise_figure(
    noise: BatchNoise, unit: int, *, lang: str, layer: int = 0, batch_size: int | None = None
) -> go.Figure:
    """Spread across batches of the batch mean (÷σ) and batch variance (÷σ²) against the batch
    size, log-log, one line per BN layer, with the 1/√B law of independent draws."""
    sizes = noise.sizes.astype(np.float32)
    sigma2 = noise.pop_var[:, unit]  # (L,)
    panels = (
        ("mean", noise.mean_std[:, :, unit] / np.sqrt(sigma2), 1 / np.sqrt(sizes)),
        ("var", noise.var_std[:, :, unit] / sigma2, noise.pred_var_std[:, 0, unit] / sigma2[0]),
    )
    traces, axes = [], {}
    for i, ((which, rel, guide), dom) in enumerate(zip(panels, domains(2, 0.14), strict=True)):
        axis = "" if i == 0 else "2"
        on = dict(xaxis="x" + axis, yaxis="y" + axis, showlegend=i == 0)
        for k in range(rel.shape[1]):
            label = _tr("layer_n", lang, layer=k + 1)
            traces.append(
                go.Scatter(
                    x=sizes, y=f32(rel[:, k]), name=label, mode="lines+markers",
                    line=dict(color=PALETTE[k % len(PALETTE)], width=3 if k == layer else 1.5),
                    marker=dict(size=8 if k == layer else 5), legendgroup=label, **on,
                )
            )  # fmt: skip
        traces.append(
            go.Scatter(
                x=sizes, y=f32(guide), name=_tr(f"guide_{which}", lang), mode="lines",
                line=dict(color=POPULATION, width=1.5, dash="dash")  # the two guides' keys
                if which == "mean"  # looked alike side by side in the legend (audit 28)
                else dict(color=POPULATION, width=2.2, dash="dot"),
                **on | dict(showlegend=True),
            )
        )  # fmt: skip
        axes[f"xaxis{axis}"] = dict(
            domain=dom, type="log", title=_tr("batch_size", lang), anchor="y" + axis,
            tickvals=sizes.tolist(), ticktext=[str(int(s)) for s in sizes],
        )  # fmt: skip
        axes[f"yaxis{axis}"] = log_axis(rel, guide) | dict(
            title=_tr(f"noise_{which}_axis", lang), anchor="x" + axis
        )
    layout = base_layout(_tr("noise_title", lang, unit=unit + 1), height=340, **axes)
    falls = [  # the caption's "about 11 times smaller" (layer 1), measured for every layer
        in_color(
            _tr("noise_fall_layer", lang, layer=k + 1, times=readable(noise.fall(k, unit), 2)),
            PALETTE[k % len(PALETTE)],
        )
        for k in range(noise.mean_std.shape[1])
    ]
    first, last = int(sizes[0]), int(sizes[-1])
    add_subtitle(
        layout, _tr("noise_fall", lang, first=first, last=last, layers=listed(falls, lang))
    )
    if batch_size is not None and batch_size >= 2:
        layout["shapes"] = [
            dict(type="line", x0=batch_size, x1=batch_size, y0=0, y1=1, xref=x, yref=f"{y} domain",
                 line=dict(color=COLORS["guide"], width=1, dash="dot"))
            for x, y in (("x", "y"), ("x2", "y2"))
        ]  # fmt: skip
        layout["annotations"] = [  # the line named (audit 33: a dotted line with no label)
            dict(text=_tr("your_batch", lang, b=batch_size), x=math.log10(batch_size), y=1,
                 xref=x, yref=f"{y} domain", xanchor="left", yanchor="top", showarrow=False,
                 xshift=3, font=dict(color=COLORS["guide"]))
            for x, y in (("x", "y"), ("x2", "y2"))
        ]  # fmt: skip
    return go.Figure(traces, layout)
