"""BatchNorm lab figures: pure builders from run snapshots to plotly figures."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import plotly.graph_objects as go

from bnviz.config import RunConfig
from bnviz.figures.theme import (
    COLORS,
    LEGEND_ROW_PX,
    STRETCH,
    X_LABELS_PX,
    base_layout,
    diverged_mark,
    domains,
    downsample,
    f32,
    readable,
    series_line,
    series_marker,
    tidy_log_axes,
)
from bnviz.i18n import t
from bnviz.lessons.batchnorm_lab import gradient_shrink, mean_saturation, percentile_drifts
from bnviz.stepper import Snapshot
from bnviz.telemetry import HIST_BINS, HIST_RANGE, Q15, Q50, Q85

Window = tuple[int, int] | None
RUNS = ("plain", "bn")
# TensorBoard's bands: (0,100), (6.7,93.3), (15.9,84.1), (30.9,69.1) as QUANTILES index pairs
BANDS = ((0, 10), (1, 9), (3, 7), (4, 6))


def _label(name: str, lang: str) -> str:
    return t(f"lab.run.{name}", lang)


def _has(history: Mapping[str, np.ndarray]) -> bool:
    """True when a history has at least one row."""
    return len(history.get("step", ())) > 0


def _window(steps: np.ndarray, window: Window) -> np.ndarray:
    """Boolean mask of the steps inside the chosen window."""
    if window is None:
        return np.ones(len(steps), bool)
    return (steps >= window[0]) & (steps <= window[1])


def _first_sample(snaps: Mapping[str, Snapshot]) -> dict:
    """The step axis of a lab chart while its runs have one telemetry sample (step 0) at most:
    from 0 to where the next sample will be, not plotly's -1 to 1 around the one sample
    (audit 21: dots at step 0 on an axis of negative steps, paused at step 13)."""
    if any(len(s.telemetry.get("step", ())) > 1 for s in snaps.values()) or not snaps:
        return {}
    every = max(s.config.log_every for s in snaps.values())
    return dict(range=[-0.04 * every, every])  # its markers whole, not cut by the axis


NO_NEGATIVE_STEPS = dict(autorangeoptions=dict(minallowed=0))


def _empty(lang: str, height: int = 300) -> go.Figure:
    return go.Figure(layout=base_layout(t("lab.fig.no_data", lang), height=height))


# ---------------------------------------------------------------------------- distributions


def _band_traces(
    x: np.ndarray, q: np.ndarray, color: str, axis: str, show_legend: bool, lang: str
) -> list:
    """Shaded 9-quantile bands (TensorBoard) and the 15/50/85 % lines (Ioffe & Szegedy Fig. 1)."""
    traces = []
    for i, (lo, hi) in enumerate(BANDS):
        xs = np.concatenate([x, x[::-1]])
        ys = np.concatenate([q[:, hi], q[::-1, lo]])
        traces.append(
            go.Scatter(
                x=xs,
                y=f32(ys),
                fill="toself",
                fillcolor=color,
                opacity=0.12 + 0.06 * i,
                line=dict(width=0),
                hoverinfo="skip",
                showlegend=False,
                xaxis="x" + axis,
                yaxis="y" + axis,
            )
        )
    for idx, name, dash in ((Q15, "p15", "dot"), (Q50, "p50", "solid"), (Q85, "p85", "dot")):
        traces.append(
            go.Scatter(
                x=x,
                y=f32(q[:, idx]),
                name=t(f"lab.fig.{name}", lang),
                line=dict(color="#222", width=1.8, dash=dash),
                legendgroup=name,
                showlegend=show_legend,
                xaxis="x" + axis,
                yaxis="y" + axis,
            )
        )
    return traces


def percentile_figure(
    snaps: Mapping[str, Snapshot],
    layer: int,
    *,
    lang: str,
    which: str = "pre",
    window: Window = None,
) -> go.Figure:
    """One layer's pre-activation percentiles over time: no-BN and BN side by side, same y-axis
    (each its own beside a run that diverged), one step axis.
    Each panel's step axis says how far its lines move (the number the caption explains), so
    the Ioffe sentence's "a third to a half as much" is on the first screen (audit 11)."""
    traces, layout_axes, spans = [], {}, {}
    moves = percentile_drifts(snaps, layer) if which == "pre" else {}
    # one y axis to compare the panels, but not with a run that diverged: its last sample
    # (±10,000 at step 0) flattened its partner's lines (audit 20); each panel then has its own
    apart = any(s.state == "diverged" for s in snaps.values())
    for i, ((name, snap), dom) in enumerate(zip(snaps.items(), domains(len(snaps)), strict=True)):
        tel = snap.telemetry
        if not _has(tel) or layer >= tel[which + "_q"].shape[1]:
            continue
        m = _window(tel["step"], window)
        x, q = tel["step"][m], tel[which + "_q"][m, layer]
        axis = "" if i == 0 else str(i + 1)
        if len(x) and np.isfinite(q[:, [1, 9]]).any():
            spans[axis] = (np.nanmin(q[:, 1]), np.nanmax(q[:, 9]))
        traces += _band_traces(x, q, COLORS[name], axis, i == 0, lang)
        if snap.state == "diverged" and len(x):  # an x where its lines end, as on Loss
            traces.append(_diverged_mark(name, x[-1], q[-1, Q50 : Q50 + 1], lang, axis))
        title = f"{_label(name, lang)} — {t('lab.fig.step', lang)}"
        if name in moves:
            title += " · " + t("lab.fig.drift", lang, range=f"{moves[name]:.3g}")
            if name == "bn" and moves.get("plain"):
                ratio = readable(moves["bn"] / moves["plain"])  # as the caption's
                title += t("lab.fig.drift_ratio", lang, ratio=ratio)
        # one step axis for the panels: a run that diverged at step 3 had its one sample at
        # step 0 on an axis from -1 to 1 ("step -0.5") beside its partner's 0 to 1500
        first = next((k[5:] for k in layout_axes if k.startswith("yaxis")), None)
        layout_axes[f"xaxis{axis}"] = dict(domain=dom, title=title, matches=_matched("x", first))
        if first is None:
            layout_axes[f"xaxis{axis}"] |= _first_sample(snaps)
        matches = None if apart else _matched("y", first)
        layout_axes[f"yaxis{axis}"] = dict(anchor=f"x{axis}", matches=matches)
    if not traces:
        return _empty(lang)
    if spans:  # the panels' common range, or (apart) each panel's own
        shared = (min(lo for lo, _ in spans.values()), max(hi for _, hi in spans.values()))
        for key in [k for k in layout_axes if k.startswith("yaxis")]:
            lo, hi = spans.get(key[5:], shared) if apart else shared
            if np.isfinite(lo) and np.isfinite(hi) and hi > lo:
                pad = 0.05 * (hi - lo)
                layout_axes[key]["range"] = [lo - pad, hi + pad]
    title = t(f"lab.fig.percentiles_{which}", lang, layer=layer + 1)
    # 320, not 340: under a preset's three-line sentence the legend ended at 734 px (audit 11)
    return go.Figure(traces, base_layout(title, height=320, **layout_axes))


def _matched(letter: str, first: str | None) -> str | None:
    """A panel's axis shares the first drawn panel's ("y", "y2"), or is the first (None). The
    first run may have no sample yet while its partner has: the panels then start at the
    second (CI: the percentile figure set the range of a "yaxis" that was not there)."""
    return None if first is None else letter + first


HIST_PANELS_PX = 224  # the layers' panels together: 56 px each for the lab's four
HIST_LAYER_MIN_PX = 40  # a deeper net's panels shrink to this, then the chart grows


def histogram_height(layers: int) -> int:
    """The histograms' height in px. With 66 px a layer the lab's four layers and the runs'
    names ended at 720 px only under a one- or two-line sentence: a preset's three lines (large
    learning rate) and its six layers (small, large init) put them below the fold (audit 9).
    Now up to six layers end on a projector's first screen; ten (deep sigmoid) need a scroll."""
    return max(300, round(_hist_layer_px(layers) * layers) + 80)


def _hist_layer_px(layers: int) -> float:
    return max(HIST_LAYER_MIN_PX, min(HIST_PANELS_PX // 4, HIST_PANELS_PX / layers))


def histogram_figure(
    snaps: Mapping[str, Snapshot], *, lang: str, window: Window = None
) -> go.Figure:
    """Histogram over time of every layer's pre-activations: rows = layers, columns = runs."""
    if not all(_has(s.telemetry) for s in snaps.values()):
        return _empty(lang)
    first = next(iter(snaps.values())).telemetry
    layers = first["pre_hist"].shape[1]
    centers = f32(np.linspace(-HIST_RANGE, HIST_RANGE, HIST_BINS + 1)[:-1] + HIST_RANGE / HIST_BINS)
    rows = [[1 - (r + 1) / layers + 0.02, 1 - r / layers - 0.02] for r in range(layers)]
    # over four layers the panels are lower: "layer 5" written along each ran into the next
    # ones', and three tick labels into each other (the title says each row is a layer)
    dense = _hist_layer_px(layers) < HIST_PANELS_PX // 4
    ticks = (-5, 5) if dense else None

    def title(layer: int) -> str:
        return str(layer) if dense else t("lab.fig.layer_n", lang, layer=layer)

    traces, axes, k = [], {}, 0
    for c, ((name, snap), dom) in enumerate(zip(snaps.items(), domains(len(snaps)), strict=True)):
        tel = snap.telemetry
        m = _window(tel["step"], window)
        for r in range(layers):
            k += 1
            ax = "" if k == 1 else str(k)
            z = np.sqrt(tel["pre_hist"][m, r].T)  # sqrt: thin tails stay visible
            steps = tel["step"][m]
            # one sample (a run that diverged at step 3): a column as wide as the sampling
            # interval, not plotly's 1 step, a sliver on the shared axis to 1500
            at = dict(x=steps) if len(steps) != 1 else dict(x0=steps[0], dx=snap.config.log_every)
            traces.append(
                go.Heatmap(
                    **at,
                    y=centers,
                    z=f32(z),
                    colorscale="Blues" if name == "bn" else "Oranges",
                    showscale=False,
                    # one column per sample: blend them, as training is continuous. "fast" (the
                    # browser scales the image): "best" interpolates between the rows' centres
                    # and lost the bottom edge row, where values below −6 are counted (audit 11)
                    zsmooth="fast",
                    xaxis="x" + ax,
                    yaxis="y" + ax,
                    hovertemplate="step %{x}<br>z≈%{y:.2f}<extra></extra>",
                )
            )
            if r == 0 and snap.state == "diverged" and m.any():  # where its samples end
                after = tel["step"][m][-1] + snap.config.log_every  # past its last column
                traces.append(_diverged_mark(name, after, np.array([0.0]), lang, ax))  # z = 0
            axes[f"xaxis{ax}"] = dict(
                domain=dom,
                anchor="y" + ax,
                showticklabels=r == layers - 1,
                title=_label(name, lang) if r == layers - 1 else None,
                matches=None if k == 1 else "x",  # one step axis: a diverged run ends early
                # from step 0: a column is centred on its sample, so plotly's range began half
                # a sampling interval before it, at step −50 (a teacher's pass)
                **((_first_sample(snaps) or NO_NEGATIVE_STEPS) if k == 1 else {}),
            )
            axes[f"yaxis{ax}"] = dict(
                domain=rows[r],
                anchor="x" + ax,
                title=dict(text=title(r + 1), font=dict(size=14)) if c == 0 else None,
                tickfont=dict(size=14),
                tickvals=ticks,
            )
    layout = base_layout(t("lab.fig.histograms", lang), height=histogram_height(layers), **axes)
    return go.Figure(traces, layout)


# ---------------------------------------------------------------------------- per-layer health


PER_LAYER_HEIGHT = 320
# its plot's height before the legend's rows: base_layout's 40 px more, less its margins (45 at
# the top with a title, 40 below) and the x axis's labels (as theme._labels_fit estimates)
PER_LAYER_PLOT_PX = PER_LAYER_HEIGHT + 40 - 45 - 40 - X_LABELS_PX
LEGEND_PER_ROW = 6  # legend entries ("1" … "10", "output") in a row of a half-width chart at 1280


def shrink_label(times: float, lang: str) -> str:
    """The Gradients title's per-layer factor toward the input: "÷4.1 per layer", or, where
    the gradient grows, "×1.2 per layer" ("÷0.81" read as a shrink, audit 33; "…, growing
    toward the input" overran its half of the row at 1280 px)."""
    if times >= 1:
        return t("lab.fig.shrink", lang, times=readable(times, 2))
    return t("lab.fig.grow", lang, times=readable(1 / times, 2))


def per_layer_figure(
    snaps: Mapping[str, Snapshot],
    column: str,
    *,
    lang: str,
    window: Window = None,
    log_y: bool = False,
    guide: float | None = None,
) -> go.Figure:
    """A per-layer statistic over time (saturation, dead, gradients): one panel per run."""
    share = column in ("saturated", "dead")  # of the layer's units
    traces, axes, notes = [], {}, []
    for i, ((name, snap), dom) in enumerate(zip(snaps.items(), domains(len(snaps)), strict=True)):
        tel = snap.telemetry
        if not _has(tel):
            continue
        m = _window(tel["step"], window)
        ax = "" if i == 0 else str(i + 1)
        values = tel[column][m]
        n = values.shape[1]
        head = column in ("grad_norm", "update_ratio")  # one more Linear: the output layer
        for layer in range(n):
            x, y = downsample(tel["step"][m], values[:, layer])
            out = head and layer == n - 1
            full = t("lab.fig.output_layer" if out else "lab.fig.layer_n", lang, layer=layer + 1)
            traces.append(
                go.Scatter(
                    x=x,
                    y=f32(y),
                    # under the legend's title "layer": "layer 1" … "layer 10" took four rows
                    # of a half-width chart and left its plot 110 px (audit 27)
                    name=t("lab.fig.output_short", lang) if out else str(layer + 1),
                    hovertemplate="%{x}: %{y:.3g}<extra>" + full + "</extra>",
                    legendgroup=str(layer),
                    showlegend=i == 0,
                    line=series_line(layer, width=1.8),  # a dash each: 11 sigmoid layers
                    marker=series_marker(layer, size=6),  # (plotly marks under 20 points)
                    xaxis="x" + ax,
                    yaxis="y" + ax,
                )
            )
        if guide is not None and len(tel["step"][m]):
            traces.append(
                go.Scatter(
                    x=[tel["step"][m][0], tel["step"][m][-1]],
                    y=[guide, guide],
                    mode="lines",
                    name=t("lab.fig.guide", lang),
                    line=dict(color=COLORS["guide"], dash="dash"),
                    showlegend=i == 0,
                    xaxis="x" + ax,
                    yaxis="y" + ax,
                )
            )
        if snap.state == "diverged" and len(x):  # an x where its curves end, as on Loss
            traces.append(_diverged_mark(name, x[-1], values[-1], lang, ax))
        if share and len(values) and not values.any():
            notes.append(_all_at_zero(column, snap.config, ax, lang))
        title = _label(name, lang)
        if column == "grad_norm" and len(tel["step"]) and n > 2:  # the deep-sigmoid sentence's
            times = gradient_shrink(snap)  # "shrinks about 4× per layer", measured
            if np.isfinite(times):  # a diverged run's title said "shrinks NaN×"
                title += " · " + shrink_label(times, lang)
        if column == "saturated" and len(tel["step"]):  # the large-init sentence's "over 80 %"
            mean = mean_saturation(snap).mean()  # of the units, at the end
            share = f"{mean:.1%}" if mean < 0.1 else f"{mean:.0%}"  # "1.4%", "95%"
            title += " · " + t("lab.fig.saturated_share", lang, share=share)
        # one step axis for the panels: a run that diverged at step 7 had one point at step 0
        # on an axis from -1 to 1, beside its partner's 0 to 300 (an audit)
        first = next((k[5:] for k in axes if k.startswith("xaxis")), None)
        axes[f"xaxis{ax}"] = dict(domain=dom, title=title, matches=_matched("x", first))
        if first is None:
            axes[f"xaxis{ax}"] |= _first_sample(snaps)
        axes[f"yaxis{ax}"] = dict(
            anchor="x" + ax,
            type="log" if log_y else None,
            exponentformat="power",  # 10⁻⁸, not plotly's SI "10n" on a projector
            rangemode="nonnegative" if share else None,
            tickformat=".2~%" if share else None,  # "95%", "0.5%": as the titles say it (".0%"
            # wrote 0.5 % as "1%", twice on an axis to 2 %)
            matches=_matched("y", first),
            # same axis: labels on the first panel only (in a half-width column they hit it)
            showticklabels=first is None,
        )
    if not traces:
        return _empty(lang)
    layout = base_layout(
        t(f"lab.fig.{column}", lang), height=PER_LAYER_HEIGHT, annotations=notes, **axes
    )
    layout["legend"]["title"] = dict(text=t("lab.fig.layers", lang), side="left")
    # a log axis labels what its plot holds once the legend's rows are taken (the deep sigmoid
    # net's 11 layers and the guide: two rows, and 9 labels 16 px apart touched at 1280)
    rows = -(-sum(tr.showlegend is not False for tr in traces) // LEGEND_PER_ROW)
    plot_px = PER_LAYER_PLOT_PX - LEGEND_ROW_PX * rows
    return tidy_log_axes(go.Figure(traces, layout), plot_px=plot_px)


def _all_at_zero(column: str, cfg: RunConfig, ax: str, lang: str) -> dict:
    """A note across a panel whose every unit stayed unsaturated (alive): its lines lie on the
    axis, which a class read as an empty chart (the deep sigmoid net: 0 of 640 units, the
    gradient shrinks all the same, because sigmoid's slope is at most 0.25)."""
    text = t(f"lab.fig.none_{column}", lang)
    if column == "saturated" and cfg.activation == "sigmoid":
        text += "<br>" + t("lab.fig.sigmoid_slope", lang)
    return _across(text, ax)


def _across(text: str, ax: str) -> dict:
    """A note across the middle of panel `ax`, on a white ground over what the panel draws."""
    return dict(
        text=text, x=0.5, y=0.5, xref=f"x{ax} domain", yref=f"y{ax} domain", showarrow=False,
        font=dict(size=14), bgcolor="rgba(255,255,255,0.85)",
    )  # fmt: skip


def _diverged_mark(name: str, step: float, last: np.ndarray, lang: str, ax: str) -> go.Scatter:
    """An x labelled "diverged" at a diverged run's last sample, amid its layers' last values."""
    finite = last[np.isfinite(last)]
    return go.Scatter(
        x=[step], y=[float(np.median(finite)) if len(finite) else 0.0], xaxis="x" + ax,
        yaxis="y" + ax, **diverged_mark(COLORS.get(name, COLORS["guide"]), lang),
    )  # fmt: skip


FLAT_BOUNDARY = 0.05  # P(class 1) spans less than this over the grid: one guess everywhere


def _same_guess(p: np.ndarray, ax: str, lang: str) -> dict:
    """A note across a boundary panel of one colour: the deep sigmoid, small- and large-init
    nets without BN end guessing the same everywhere (P 0.49, 0.49, 0.70 on seed 0), and a
    class took the plain panel for one that had failed to draw (audit 37)."""
    lo, hi = f"{float(np.min(p)):.2f}", f"{float(np.max(p)):.2f}"
    return _across(t("lab.fig.same_guess", lang, p=lo if lo == hi else f"{lo}–{hi}"), ax)


def _extent(centres: np.ndarray) -> list[float]:
    """The span of a heatmap's cells, edges included, from their centres (evenly spaced)."""
    half = (float(centres[-1]) - float(centres[0])) / (len(centres) - 1) / 2
    return [float(centres[0]) - half, float(centres[-1]) + half]


def boundary_figure(
    snaps: Mapping[str, Snapshot], x: np.ndarray, y: np.ndarray, *, lang: str
) -> go.Figure:
    """Decision boundary (P(class 1)) of each run with the test points on top; a net that
    guesses the same everywhere gets a note saying so."""
    traces, axes, notes = [], {}, []
    for i, ((name, snap), dom) in enumerate(zip(snaps.items(), domains(len(snaps)), strict=True)):
        b = snap.boundary
        if b is None:
            continue
        ax = "" if i == 0 else str(i + 1)
        traces.append(
            go.Heatmap(
                x=f32(b["x"]),
                y=f32(b["y"]),
                z=f32(b["p"]),
                zmin=0,
                zmax=1,
                colorscale="RdBu",
                showscale=False,
                opacity=0.75,
                xaxis="x" + ax,
                yaxis="y" + ax,
                hoverinfo="skip",
            )
        )
        traces.append(
            go.Scatter(
                x=f32(x[:, 0]),
                y=f32(x[:, 1]),
                mode="markers",
                marker=dict(
                    color=y,
                    colorscale=[[0, "#B2182B"], [1, "#2166AC"]],
                    size=5,
                    line=dict(width=0.5, color="white"),
                ),
                showlegend=False,
                xaxis="x" + ax,
                yaxis="y" + ax,
                hoverinfo="skip",
            )
        )
        if np.ptp(b["p"]) < FLAT_BOUNDARY:
            notes.append(_same_guess(b["p"], ax, lang))
        # each panel shrinks to the grid (constrain="domain"): on a wide screen the axes grew
        # instead, to -6..6, blank beside the grid, its labels far from it
        around = dict(showgrid=False, zeroline=False, constrain="domain")
        axes[f"xaxis{ax}"] = dict(
            domain=dom, title=_label(name, lang), range=_extent(b["x"]), **around
        )
        axes[f"yaxis{ax}"] = dict(
            anchor="x" + ax, scaleanchor="x" + ax, range=_extent(b["y"]), **around
        )
    if not traces:
        return _empty(lang)
    # the hero height: at 1280x720 the panels' labels (x-axis titles) stay on the first screen
    # square panels in a wide figure: a taller window makes them larger (load_plotly.js)
    layout = base_layout(t("lab.fig.boundary", lang), meta=STRETCH, annotations=notes, **axes)
    return go.Figure(traces, layout)
