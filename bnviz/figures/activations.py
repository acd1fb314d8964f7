"""Activation function figures: f and f′ with flat regions, cost, the zig-zag, dead ReLUs."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import plotly.graph_objects as go

from bnviz.figures.theme import (
    COLORS,
    PALETTE,
    STRETCH,
    base_layout,
    f32,
    minus_signs,
    readable,
    series_marker,
    tidy_log_axes,
)
from bnviz.i18n import listed, t
from bnviz.lessons.activations import ADVICE, POSITIVE_BIASES, Curve, Summary, ZigZag, deep_silent
from bnviz.lessons.relu_race import Race, race_ratios
from bnviz.stepper import Snapshot

SHADE = "rgba(136, 136, 136, 0.18)"  # flat regions
QUADRANT = "rgba(0, 158, 115, 0.14)"  # quadrants I and III: where positive inputs can step
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


def _probe_trace(probes: Mapping[float, float], lang: str) -> go.Scatter:
    """The notes' three questions as marked points on f′ (their labels: _probe_notes)."""
    xs = sorted(probes)
    return go.Scatter(
        x=f32(xs),
        y=f32([probes[x] for x in xs]),
        yaxis="y2",
        mode="markers",
        name=_tr("fig.probes", lang),
        hoverinfo="skip",
        marker=dict(size=10, color=COLORS["accent"], symbol="diamond"),
    )


def _probe_notes(probes: Mapping[float, float], df_range: Sequence[float]) -> list[dict]:
    """A label per marked point, "f′(x) = value", on a pale box so no curve runs through it.

    Labels go toward the middle (right of the left points, left of the last). A point in the
    lower half is labelled above it, clear of the zero line where f and f′ often both run; one
    in the upper half below it, unless it is f′'s peak (sigmoid's and tanh's at 0): that one is
    labelled at its own height on its left, where f′ is still rising and f is low (below it,
    f crossed the label).
    """
    xs = sorted(probes)
    ys = [probes[x] for x in xs]
    middle = (df_range[0] + df_range[1]) / 2
    notes = []
    for i, (x, y) in enumerate(zip(xs, ys, strict=True)):
        last = i == len(xs) - 1
        peak = 0 < i < len(xs) - 1 and y > max(ys[i - 1], ys[i + 1]) and y > middle
        place = (
            dict(xanchor="right", yanchor="middle", xshift=-10)
            if peak
            else dict(
                xanchor="right" if last else "left",
                yanchor="bottom" if y <= middle else "top",
                xshift=-4 if last else 4,
                yshift=12 if y <= middle else -8,
            )
        )
        text = minus_signs(f"f′({x:g}) = ") + readable(y, 2)
        box = dict(showarrow=False, font=dict(size=14), bgcolor="rgba(255, 255, 255, 0.85)")
        notes.append(dict(x=x, y=y, xref="x", yref="y2", text=text, **box, **place))
    return notes


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
    height: int = 360,
    legend: bool = True,
) -> go.Figure:
    """f (left axis) and f′ (right axis), flat regions shaded, f′ at -10, 0, 10 marked.

    A gallery draws many small ones: a lower `height` and `legend=False`, titled by the
    function's name alone (its axes say f and f′; the full title was cut in a third of 1280 px).
    """
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
    f_range, df_range = _zero_aligned(c.f, c.df)
    notes = []
    if probes:
        traces.append(_probe_trace(probes, lang))
        notes = _probe_notes(probes, df_range)
    layout = base_layout(
        _tr("fig.curve_title", lang, name=name) if legend else name,
        height=height,
        showlegend=legend,
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
        annotations=notes,
    )
    return go.Figure(data=traces, layout=layout)


def regions_text(
    regions: Sequence[tuple[float, float]], lo: float = -12.0, hi: float = 12.0, *, lang: str
) -> str:
    """Flat intervals in words: "x ≤ −4.59, x ≥ 4.59" (open-ended at the grid's ends lo, hi)."""
    parts = []
    for a, b in regions:
        if a <= lo and b >= hi:
            parts.append("x ∈ ℝ")
        elif a <= lo:
            parts.append(minus_signs(f"x ≤ {b:.3g}"))
        elif b >= hi:
            parts.append(minus_signs(f"x ≥ {a:.3g}"))
        else:
            parts.append(minus_signs(f"{a:.3g} ≤ x ≤ {b:.3g}"))
    return listed(parts, lang)


def cost_figure(costs: Mapping[str, float], *, lang: str) -> go.Figure:
    """Measured forward time per element of each activation (ns), one horizontal bar each,
    the first on top: nine names with their formulas, slanted under vertical bars, ran under
    their neighbours' bars."""
    names = [_tr(f"name.{n}", lang) for n in costs][::-1]
    bar = go.Bar(
        x=f32(list(costs.values())[::-1]),
        y=names,
        orientation="h",
        marker=dict(color=PALETTE[0]),
        hovertemplate="%{y}: %{x:.2f} ns<extra></extra>",
    )
    layout = base_layout(
        _tr("fig.cost_title", lang),
        xaxis=dict(title=_tr("fig.cost_ns", lang)),
        yaxis=dict(automargin=True),
    )
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
    path = _tr("fig.detour", lang, times=f"{run.detour:.1f}")
    quadrants = _tr("fig.same_sign", lang, share=f"{run.same_sign:.0%}")
    return f"{base} · {arrival} · {path} · {quadrants}"


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


ZIGZAG_HEIGHT = 410  # px: the legend's three rows end within 1280x720 under a three-line
# sentence (440 cut the last row, "start w₀ and target w*", at the screen's edge: stop 54)


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
                mode="markers",
                name=_tr("fig.target", lang),
                marker=dict(symbol=["circle", "star"], size=[9, 16], color=COLORS["guide"]),
            )
        )
        # labels on a pale box above the paths (as trace text they sat under the lines that
        # run through both points): w₀ up-left, where no step goes (the first is down-right),
        # w* down-right of the star, outside the paths' last turns around it
        box = dict(showarrow=False, font=dict(size=14), bgcolor="rgba(255, 255, 255, 0.85)")
        notes = [
            dict(x=start[0], y=start[1], text="w₀", xanchor="right", yanchor="bottom", **box),
            dict(x=target[0], y=target[1], text="w*", xanchor="left", yanchor="top", **box),
        ]
        for note, (dx, dy) in zip(notes, [(-6, 6), (10, -10)], strict=True):
            note.update(xref="x", yref="y", xshift=dx, yshift=dy)
        shapes = _quadrants(*start, lang) + _quadrants(0.0, 0.0, lang, "2")
    else:
        shapes, notes = [], []
    layout = base_layout(
        _tr("fig.zigzag_title", lang),
        height=ZIGZAG_HEIGHT,
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
        annotations=notes,
        # square plots grow in a taller window: at 1920x1080 they kept 440 px, small beside
        # a wide empty gap (audit 30)
        meta=STRETCH,
    )
    return go.Figure(data=traces, layout=layout)


# ---------------------------------------------------------------------------- dead ReLUs


def _dead_title(snap: Snapshot, lang: str) -> str:
    """A run's panel title: its learning rate, and once evaluated its test accuracy and the
    share of dead units in layers 2 and up taken together (the share the sentence states
    over seeds 0-4, here for this run)."""
    text = _tr("fig.dead_panel", lang, lr=f"{snap.config.lr:g}")
    acc = snap.evals.get("test_acc", ())
    if len(acc):
        text += " · " + _tr("fig.dead_acc", lang, acc=f"{acc[-1]:.0%}")
    if len(acc) and snap.config.depth > 1 and "no_grad" in snap.evals:
        share = f"{deep_silent(snap)[-1]:.0%}"
        text += " · " + _tr("fig.dead_deep", lang, last=snap.config.depth, share=share)
    return text


def _dead_traces(snap: Snapshot, panel: int, lang: str) -> list[go.Scatter]:
    """Per layer: the share of dead units (no gradient on any example), solid, at each
    evaluation; for the remedies also the share never positive (dotted), which ReLU's equals."""
    ax = "" if panel == 0 else str(panel + 1)
    steps = snap.evals.get("step", np.zeros(0))
    empty = np.zeros((0, snap.config.depth))
    dead = snap.evals.get("no_grad", empty)  # (T, layers)
    silent = snap.evals.get("dead", empty)
    asleep = snap.config.activation != "relu"
    traces = []
    for layer in range(dead.shape[1]):
        color = PALETTE[layer % len(PALETTE)]
        common = dict(x=steps, legendgroup=str(layer), xaxis="x" + ax, yaxis="y" + ax)
        traces.append(
            go.Scatter(
                y=f32(dead[:, layer]),
                name=_tr("fig.dead_layer", lang, layer=layer + 1),
                showlegend=panel == 0,
                mode="lines+markers",  # a marker each: layers 2-4 were one grey
                line=dict(color=color, width=2),
                marker=series_marker(layer, size=7, maxdisplayed=25),  # not a marker a step
                hovertemplate="%{x}: %{y:.0%}<extra>" + str(layer + 1) + "</extra>",
                **common,
            )
        )
        if asleep:
            traces.append(
                go.Scatter(
                    y=f32(silent[:, layer]),
                    name=_tr("fig.dead_asleep", lang),
                    showlegend=panel == 0 and layer == 0,
                    mode="lines",  # no markers: plotly marked a few points as its layer's
                    line=dict(color=color, width=1.5, dash="dot"),
                    hovertemplate="%{x}: %{y:.0%}<extra>" + str(layer + 1) + " ·</extra>",
                    **common,
                )
            )
    return traces


def _dead_axes(snap: Snapshot, panel: int, domain: list[float], lang: str) -> dict:
    """The panel's x axis (all planned steps), y axis (0-100 %) and its title above it."""
    ax = "" if panel == 0 else str(panel + 1)
    title = _tr("fig.dead_share", lang) if panel == 0 else None
    return {
        f"xaxis{ax}": dict(
            domain=domain, anchor="y" + ax, title=_tr("fig.step", lang),
            range=[0, snap.config.steps],
        ),
        f"yaxis{ax}": dict(anchor="x" + ax, range=[0, 1], tickformat=".0%", title=title),
        "note": dict(
            text=_dead_title(snap, lang), x=sum(domain) / 2, y=1.0, xref="paper", yref="paper",
            xanchor="center", yanchor="bottom", yshift=10, showarrow=False, font=dict(size=14),
        ),
    }  # fmt: skip


def dead_figure(snaps: Mapping[str, Snapshot], *, lang: str) -> go.Figure:
    """Share of dead units on the whole training set, per layer over steps; a panel per run.

    Reads `evals["no_grad"]` and `evals["dead"]` (T, layers), measured every `eval_every`
    steps. Panels are ordered by learning rate (small first) and share the y axis 0-100 %, so
    the two can be compared.
    """
    ordered = sorted(snaps.values(), key=lambda s: s.config.lr)
    gap = 0.08
    size = (1 - gap * (len(ordered) - 1)) / max(len(ordered), 1)
    traces, axes, notes = [], {}, []
    for i, snap in enumerate(ordered):
        traces += _dead_traces(snap, i, lang)
        panel = _dead_axes(snap, i, [i * (size + gap), i * (size + gap) + size], lang)
        notes.append(panel.pop("note"))
        axes.update(panel)
    name = _tr(f"name.{ordered[0].config.activation}", lang) if ordered else ""
    layout = base_layout(
        _tr("fig.dead_title", lang, name=name), height=320, annotations=notes, **axes
    )
    layout["margin"] = dict(l=60, r=20, t=75, b=40)
    return go.Figure(data=traces, layout=layout)


# ---------------------------------------------------------------------------- the advice


def advice_rows(summaries: Mapping[str, Summary], *, lang: str) -> list[tuple[str, str]]:
    """The notes' four rules, each with the measured evidence from this page: (rule, why)."""
    s = summaries

    def d(name: str, i: int) -> str:  # f′ at -10 (0), 0 (1) or 10 (2)
        return readable(s[name].local[i], 2)

    values = {
        "use_relu": dict(
            relu_ns=readable(s["relu"].cost_ns, 2),
            sig_ns=readable(s["sigmoid"].cost_ns, 2),
            sig_d=d("sigmoid", 2),
        ),
        "try_leaky": dict(
            leaky=d("leaky_relu", 0),
            elu=d("elu", 0),
            elu_mean=readable(s["elu"].mean, 2),
            relu_mean=readable(s["relu"].mean, 2),
        ),
        "try_tanh": dict(tanh_mean=readable(s["tanh"].mean, 2), tanh_d=d("tanh", 2)),
        "no_sigmoid": dict(sig_d=d("sigmoid", 2), sig_mean=readable(s["sigmoid"].mean, 2)),
    }
    return [
        (_tr(f"advice.{key}", lang), _tr(f"advice.{key}_why", lang, **values[key]))
        for key in ADVICE
    ]


# ---------------------------------------------------------------------------- ReLU vs tanh


def race_figure(race: Race, *, lang: str) -> go.Figure:
    """Steps to the target loss per activation: one bar (the median seed, its steps written on
    it), a dot per seed, on a log axis: on a linear one sigmoid's ~1850 steps left ReLU's and
    tanh's ~60 two slivers alike, and the view asks how those two compare (audit 30).

    A seed that never reached the target is drawn at max_steps as an open circle.
    """
    names = [_tr(f"name.{n}", lang) for n in race.activations]
    capped = np.where(np.isnan(race.steps), race.max_steps, race.steps)
    median = np.median(capped, axis=1)
    bar = go.Bar(
        x=names, y=f32(median), marker=dict(color=PALETTE[0]),
        text=[f"{m:.0f}" for m in median], textposition="inside", insidetextanchor="middle",
        name=_tr("fig.race_median", lang), hovertemplate="%{x}: %{y:.0f}<extra></extra>",
    )  # fmt: skip
    traces: list = [bar]
    for j, seed in enumerate(race.seeds):
        missed = np.isnan(race.steps[:, j])
        traces.append(
            go.Scatter(
                x=names,
                y=f32(capped[:, j]),
                mode="markers",
                showlegend=j == 0,
                name=_tr("fig.race_seed", lang, steps=race.max_steps),
                marker=dict(
                    color=COLORS["guide"],
                    symbol=["circle-open" if m else "circle" for m in missed],
                    size=9,
                ),
                hovertemplate=_tr("fig.race_hover", lang, seed=seed) + "<extra></extra>",
            )
        )
    low = max(float(np.nanmin(capped)), 1.0)  # the axis from a decade below the fewest steps
    layout = base_layout(
        _tr("fig.race_title", lang, target=race.target),
        yaxis=dict(
            title=_tr("fig.race_steps", lang), type="log",
            range=[float(np.log10(low)) - 1, float(np.log10(race.max_steps)) + 0.15],
        ),
    )  # fmt: skip
    return tidy_log_axes(go.Figure(data=traces, layout=layout))


def race_caption(race: Race, *, lang: str) -> str:
    """The setting, then the measured ratios next to the paper's 6x (two paragraphs)."""
    ratios = race_ratios(race)
    what = _tr(
        "race.what", lang, lrs=listed((f"{lr:g}" for lr in race.lrs), lang), target=race.target,
        seeds=listed(race.seeds, lang),
    )  # fmt: skip
    measured = _tr(
        "race.measured", lang, tanh_lo=f"{ratios['tanh'][0]:.1f}",
        tanh_hi=f"{ratios['tanh'][1]:.1f}", sigmoid_lo=f"{ratios['sigmoid'][0]:.0f}",
    )  # fmt: skip
    return what + "\n\n" + measured


def positive_bias_text(shares: list[float], *, lang: str) -> str:
    """The positive-bias remedy's sentence with the dead shares measured per starting bias."""
    return t(
        "activations.dead.positive_bias", lang, shares=listed((f"{s:.0%}" for s in shares), lang),
        biases=listed((f"{b:g}" for b in POSITIVE_BIASES), lang),
    )  # fmt: skip
