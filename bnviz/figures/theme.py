"""One look for every figure: colors, fonts and a base layout."""

from __future__ import annotations

import copy
import math

import numpy as np
import plotly.graph_objects as go

from bnviz.i18n import t

# Colors: no-BN in warm orange, BN in dark blue everywhere, so a class learns them once. They
# differ in lightness too (L* 57 and 37), not in hue alone: Streamlit's lighter blue #2E86AB
# was the orange's grey on a washed-out projector (audit 25: greyscale ΔE 3.0). The palette's
# next colours are Okabe & Ito's, told apart under deuteranopia and protanopia (CIEDE2000 ≥ 14
# between any two of the first five; green #76B041 beside the orange was 5.2, and beside a
# yellow 4.5); tests/test_theme.py measures them.
BLUE, ORANGE = "#1B5E80", "#E4572E"
COLORS = {
    "plain": ORANGE,
    "bn": BLUE,
    "raw": ORANGE,
    "std": BLUE,
    "grid": "#E5E5E5",
    "guide": "#888888",  # guide lines and marks; text in grey is CHART_TEXT
    "accent": "#009E73",
}
PALETTE = [BLUE, ORANGE, "#009E73", "#E69F00", "#CC79A7", "#56B4E9", "#A23B72", "#3B1F2B"]
# A chart's several series (layers, rates, inits) are told apart without colour too: in
# greyscale the orange, green and amber are one grey, and under deuteranopia the orange and
# green merge (audit 26: the dead-ReLU layers, the lab's per-layer views, babysitting's rates,
# initialization's six inits). The i-th series has its own dash (lines through every step) or
# marker (lines through a few points) as well as its colour. Each dash shows in a legend's
# 30 px sample (plotly's longdash, 15 px on and 15 off, drew an empty one): long dashes, then
# dash-dot-dot, are written out. Seven symbols against eight colours: the deep sigmoid net's
# layers 2 and 10 (one orange) were both squares with eight.
DASHES = ("solid", "dash", "dot", "dashdot", "14px,4px", "8px,3px,2px,3px,2px,3px")
SYMBOLS = ("circle", "square", "diamond", "triangle-up", "x", "triangle-down", "star")
DOT_WIDTH = 1.5  # a dotted line is drawn this much wider: half its ink is gaps (audit 27: on
# babysitting's rates a dotted line over a solid one at the same loss was not seen)
# Projector legibility: no chart text under 14 px (axis ticks, legends, hover), titles 16 px.
# Streamlit's own web font first ("Source Sans", served with the app and already loaded by its
# interface): charts then measure and draw their Latin text alike on every machine, not in
# whatever sans-serif a projector's PC has (DejaVu Sans is ~15 % wider than Liberation Sans).
# Chinese glyphs fall through to the next fonts.
FONT = dict(family="'Source Sans', Inter, 'Noto Sans SC', 'PingFang SC', sans-serif", size=14)
# Chart text on a projector: Streamlit's chart theme writes axis numbers, axis titles and hover
# text at 12 px in #808495, 3.7:1 on white (audit 25: the smallest, palest text of every
# chart). The template the charts are served (projector_template) keeps its look with that
# text at FONT's size in CHART_TEXT (7:1), as the rest of this module assumes.
CHART_TEXT = "#555867"
STREAMLIT_CHART_GREY = "#808495"
LEGEND_ROW_PX = 22  # one row of a legend in 14 px text
HERO_HEIGHT = 300  # a page's main chart: with the header, presets and sentence it fits 1280x720
# A figure's layout.meta for assets/js/load_plotly.js, which stretches a chart's height on a
# window taller than 720 px unless its axes are locked (images, tiles): a square plot in a wide
# column grows all the same (STRETCH); a table keeps its rows' height (KEEP_HEIGHT).
STRETCH = dict(stretch=True)
KEEP_HEIGHT = dict(stretch=False)
# A log axis's labellings, finest first: (mantissas, every how many powers of ten)
LOG_TICKS = [((1, 2, 5), 1), ((1, 3), 1), *(((1,), n) for n in (1, 2, 5, 10, 20, 50, 100))]
LOG_LABEL_PX = 28  # a log y axis's labels stand at least this far apart (14 px, superscripts)
X_LABELS_PX = 50  # what an x axis's tick labels and title take from a plot's height
SUBTITLE_PX = 48  # a subtitle line (add_subtitle); at 28 a top tick label ("1") ran 4-8 px into it
# (plotly centres the title and subtitle in the top margin: half of what is added goes above)


def projector_template(template: dict) -> dict:
    """Streamlit's chart theme with its text FONT's size and CHART_TEXT's colour: every font
    (ticks, axis titles, hover, legend titles, colour bars, of every axis) under its layout."""
    out = copy.deepcopy(template)

    def lift(node: object, name: str = "") -> None:
        if isinstance(node, dict):
            if name.endswith("font"):
                if node.get("size", FONT["size"]) < FONT["size"]:
                    node["size"] = FONT["size"]
                if str(node.get("color", "")).lower() == STREAMLIT_CHART_GREY:
                    node["color"] = CHART_TEXT
            for key, value in node.items():
                lift(value, key)

    lift(out["layout"])
    return out


def contrast(color: str, background: str = "#FFFFFF") -> float:
    """WCAG 2 contrast ratio of two "#RRGGBB" colours (1 to 21; text wants 4.5, large 3)."""

    def luminance(hex_color: str) -> float:
        rgb = [int(hex_color.lstrip("#")[i : i + 2], 16) / 255 for i in (0, 2, 4)]
        lin = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in rgb]
        return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]

    hi, lo = sorted((luminance(color), luminance(background)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def domains(n: int, gap: float = 0.06) -> list[list[float]]:
    """n equal axis domains in [0, 1], first to last (manual subplots: 10x cheaper)."""
    size = (1 - gap * (n - 1)) / n
    return [[i * (size + gap), i * (size + gap) + size] for i in range(n)]


def bottom_legend() -> dict:
    """A horizontal legend at the figure's bottom edge: plotly makes room for it under the
    x-axis title, however many rows it wraps to (paper-relative offsets overlapped the title)."""
    return dict(orientation="h", yref="container", y=0, yanchor="bottom", x=0, font=dict(size=14))


def base_layout(title: str | None = None, *, height: int = HERO_HEIGHT, **extra: object) -> dict:
    """A plotly layout dict shared by all figures (pass it to go.Figure(layout=...))."""
    # No template: "plotly_white" costs 15-30 ms per figure (measured); Streamlit's own chart
    # theme styles the figure in the browser.
    layout: dict = dict(
        font=FONT,
        height=height + 40,  # room for the legend below the plot
        margin=dict(l=55, r=20, t=45 if title else 20, b=40),
        legend=bottom_legend(),
        hovermode="closest",
    )
    if title:
        layout["title"] = dict(text=title, x=0.01, font=dict(size=16))
    layout.update(extra)
    return layout


def series_line(i: int, **line: object) -> dict:
    """The line of a chart's i-th series: its colour and its dash (24 series before a pair of
    both repeats; 6 before a dash does). `width`: plotly's 2 unless given; wider if dotted."""
    dash = DASHES[i % len(DASHES)]
    width = float(line.pop("width", 2)) * (DOT_WIDTH if dash == "dot" else 1)
    return dict(color=PALETTE[i % len(PALETTE)], dash=dash, width=width, **line)


def series_marker(i: int, hollow: bool = False, **marker: object) -> dict:
    """The marker of a chart's i-th series: its colour and its symbol (56 series before a pair
    of both repeats; 7 before a symbol does). `hollow`: an outline, so two series at the same
    point both show (initialization: Xavier's under orthogonal's, with tanh the same std)."""
    symbol = SYMBOLS[i % len(SYMBOLS)] + ("-open" if hollow else "")
    extra = dict(line=dict(width=2)) if hollow else {}
    return dict(color=PALETTE[i % len(PALETTE)], symbol=symbol, **extra, **marker)


def in_color(text: str, color: str) -> str:
    """Text for a title or legend drawn in a color (a run's number in its line's color)."""
    return f'<span style="color:{color}">{text}</span>'


def diverged_mark(color: str, lang: str) -> dict:
    """Scatter arguments of the x labelled "diverged" where a diverged run's curves end (the
    lab's streamed charts and its per-layer panels): one look wherever it appears."""
    return dict(
        mode="markers+text", text=[t("lab.fig.diverged", lang)], textposition="middle right",
        textfont=dict(color=color, size=14), cliponaxis=False, showlegend=False,
        marker=dict(symbol="x-thin", size=14, color=color, line=dict(width=3, color=color)),
    )  # fmt: skip


def add_subtitle(layout: dict, text: str) -> dict:
    """A grey line under the layout's title (a measure, a key to the lines); the plot gives up
    the room, so the figure keeps its height and what is below it stays where it was."""
    layout["title"]["subtitle"] = dict(text=text, font=dict(size=14, color=CHART_TEXT))
    layout["margin"]["t"] += SUBTITLE_PX
    return layout


def log_axis(*values: object, max_labels: int = 8) -> dict:
    """A log axis labelled 1-2-5 (or 1-3 over a wide range) across the data, in 14 px.

    Plotly's own minor labels ("2", "5" between powers of ten, in a smaller font) read as
    values on a projector; past four decades only powers of ten are labelled (as 10ⁿ, not
    plotly's SI "1M"), and at most `max_labels` of them: every 2nd, 5th, 10th … power (71
    decades of one axis once stacked 36 labels into a grey smear).
    """
    v = np.concatenate([np.ravel(np.asarray(a, dtype=np.float64)) for a in values] or [[]])
    v = v[np.isfinite(v) & (v > 0)]
    if not len(v):
        return dict(type="log", exponentformat="power")
    lo, hi = v.min(), v.max()
    powers = range(int(np.floor(np.log10(lo))), int(np.ceil(np.log10(hi))) + 1)
    start = 0 if hi / lo < 100 else 1 if hi / lo < 1e4 else 2
    ticks: list[float] = []
    top = int(np.floor(np.log10(hi * 2)))  # the highest power a label may take
    for digits, stride in LOG_TICKS[start:]:  # the finest labelling that fits
        # every stride-th power from a round one (10⁻¹⁰, 10⁻²⁰), unless that leaves half a
        # stride or more above the top label bare: then from the top's (why BN's w = 0.8 showed
        # its largest bars, 4×10⁻⁵, over 10⁻¹⁰, the highest label, audit 31)
        offset = top % stride if top % stride >= stride / 2 else 0
        found = [
            float(f"{m}e{e}") for e in powers if (e - offset) % stride == 0 for m in digits
            if lo / 2 <= m * 10.0**e <= hi * 2
        ]  # fmt: skip
        if len(found) < 2 and ticks:  # coarser would leave the axis unlabelled
            break
        ticks = found
        if len(ticks) <= max_labels:
            break
    if 1 < hi / lo < 10 and sum(lo <= tick <= hi for tick in ticks) < 2:
        # 0.6-1.4 (a loss's first steps): "1" alone was shown, 0.5 and 2 outside the plot
        ticks = _narrow_ticks(lo, hi, max_labels) or ticks
    return dict(type="log", tickvals=ticks, ticktext=[_tick_text(tick) for tick in ticks])


def _narrow_ticks(lo: float, hi: float, max_labels: int) -> list[float]:
    """Evenly spaced round values inside lo..hi, 2 to min(4, max_labels) of them, for a log
    axis over a narrow range, where the 1-2-5 labels leave one value or none on the axis ([]
    if none fit)."""
    power = 10.0 ** np.floor(np.log10((hi - lo) / 4))
    for step in (m * power for m in (1, 2, 2.5, 5, 10, 20, 25, 50)):
        first = np.ceil(lo / step - 1e-9) * step
        ticks = [float(f"{v:.12g}") for v in np.arange(first, hi + step * 1e-9, step)]
        if 2 <= len(ticks) <= min(4, max_labels):
            return ticks
    return []


def tidy_log_axes(fig: go.Figure, plot_px: float | None = None) -> go.Figure:
    """Label every log axis of fig that has no ticks of its own as log_axis() does, from the
    data of the traces drawn on it and on the axes it matches, and the range it was given (in
    place; returns fig). A y axis gets as many labels as its height holds (LOG_LABEL_PX apart):
    `plot_px`, the plot's height, from a figure whose legend takes many rows; else estimated.
    For figures drawn whole on the server: a streamed chart's axis grows in the browser."""
    names = [k for k in fig.layout.to_plotly_json() if k.startswith(("xaxis", "yaxis"))]
    log = [n for n in names if fig.layout[n].type == "log" and fig.layout[n].tickvals is None]
    ref = {n: n[0] + n[5:] for n in log}  # "yaxis2" -> "y2"
    group = {n: fig.layout[n].matches or ref[n] for n in log}  # matched axes share their ticks
    for name in log:
        values = [
            _finite(getattr(trace, name[0]))
            for trace in fig.data
            for other in log
            if group[other] == group[name]
            and (getattr(trace, name[0] + "axis", None) or name[0]) == ref[other]
        ]
        if fig.layout[name].range is not None:  # log10 bounds: label the whole span shown
            values.append(10.0 ** _finite(fig.layout[name].range))
        ticks = log_axis(*values, max_labels=_labels_fit(fig, name, plot_px))
        fig.layout[name].update(tickvals=ticks.get("tickvals"), ticktext=ticks.get("ticktext"))
    return fig


def _labels_fit(fig: go.Figure, name: str, plot_px: float | None) -> int:
    """How many labels a log axis holds: a y axis's share of the plot height over LOG_LABEL_PX;
    8 along x (its width is the page's). The plot height, unless given: the figure's (plotly's
    default where it sets none) less its margins and X_LABELS_PX."""
    if not name.startswith("yaxis"):
        return 8
    lay = fig.layout
    if plot_px is None:
        top = lay.margin.t if lay.margin.t is not None else 100
        bottom = lay.margin.b if lay.margin.b is not None else 80
        plot_px = (lay.height or 450) - top - bottom - X_LABELS_PX
    low, high = lay[name].domain or (0, 1)
    return max(2, int((high - low) * plot_px // LOG_LABEL_PX) + 1)


def _finite(values: object) -> np.ndarray:
    """A trace's coordinates as floats (None and text as NaN)."""
    if values is None:
        return np.zeros(0)
    try:
        return np.asarray(values, dtype=np.float64).ravel()
    except (TypeError, ValueError):
        return np.array([v if isinstance(v, int | float) else np.nan for v in values], float)


WAITING = "bnviz-waiting"  # the note's name: a streamed chart drops it with its first points
LONE_POINT_PX = 9  # a lone point's marker: visible from the back of a classroom


def _drawn(tr) -> int:
    """How many of a trace's (x, y) points plotly can place (None and text are none)."""
    y = _finite(getattr(tr, "y", None))
    x = _finite(tr.x) if getattr(tr, "x", None) is not None else np.zeros(len(y))
    return int(np.count_nonzero(np.isfinite(x) & np.isfinite(y))) if len(x) == len(y) else 0


def note_if_empty(fig: go.Figure, text: str) -> go.Figure:
    """`fig` with `text` in the middle of its plot when no trace has a point yet (a live chart
    before its first measurement: axes from 0 to 6, or a log axis up to 10^6, and nothing in
    them, while the status line said the run was at step 7)."""
    if not any(_drawn(tr) for tr in fig.data):
        fig.add_annotation(text=text, x=0.5, y=0.5, xref="paper", yref="paper",
                           showarrow=False, name=WAITING)  # fmt: skip
    return fig


def mark_lone_points(fig: go.Figure) -> go.Figure:
    """`fig` with a marker on every line that has one point so far: plotly draws no line
    through a single point, so a run paused before its second evaluation showed axes and a
    legend over nothing. Such a trace is drawn "lines+markers" (its line's colour) until it
    has a second point, unclipped: at step 0 the marker sits on the axis's edge, half cut."""
    for tr in fig.data:
        if getattr(tr, "mode", None) == "lines" and _drawn(tr) == 1:
            tr.update(mode="lines+markers", cliponaxis=False, marker_size=LONE_POINT_PX)
    return fig


def minus_signs(text: str) -> str:
    """A formatted number (or a phrase of them) with typographic minus signs, as plotly's axes
    write them: "−204", "4.5e−05", "x ≤ −2.5"."""
    return text.replace("-", "−")


SUPERSCRIPT = str.maketrans("0123456789-", "⁰¹²³⁴⁵⁶⁷⁸⁹⁻")


def readable(value: float, digits: int = 3) -> str:
    """A number for a class, not a programmer: `digits` significant digits, written out
    between 0.001 and 10 000 ("150", never "1.5e+02"), else "7.8×10⁴", "4.2×10⁻⁵"; "−"."""
    if not math.isfinite(value):
        return "+∞" if value > 0 else "−∞" if value < 0 else "NaN"
    rounded = float(f"{value:.{digits}g}")
    if rounded == 0:
        return "0"
    if 1e-3 <= abs(rounded) < 1e4:
        return minus_signs(f"{rounded:g}")
    mantissa, exponent = f"{value:.{digits - 1}e}".split("e")
    mantissa = mantissa.rstrip("0").rstrip(".") if "." in mantissa else mantissa
    power = "10" + str(int(exponent)).translate(SUPERSCRIPT)
    return minus_signs(f"{mantissa}×{power}")


def compact(value: float) -> str:
    """A setting as the lessons write it: "0.01", "2", and below 0.001 "1e-4", "2.5e-5" (never
    "0.0001" beside a sentence saying 1e-4, nor Python's "1e-05")."""
    if value == 0 or abs(value) >= 1e-3:
        return f"{value:g}"
    return exponent_text(value)


def exponent_text(value: float, digits: int = 3) -> str:
    """`value` in e-notation as the lessons write it, `digits` significant digits at most:
    "1e-3", "6.7e-5", "2.5e-1" (never Python's "6.70e-05")."""
    mantissa, exponent = f"{value:.{digits - 1}e}".split("e")
    return f"{mantissa.rstrip('0').rstrip('.')}e{int(exponent)}"


def _tick_text(tick: float) -> str:
    """'0.05', '300', or '10⁶' / '10⁻⁵' outside 0.001-10 000 (never '1e+06')."""
    if 1e-3 <= tick < 1e4:
        return f"{tick:g}"
    mantissa, exponent = f"{tick:.0e}".split("e")
    power = minus_signs(f"10<sup>{int(exponent)}</sup>")
    return power if mantissa == "1" else f"{mantissa}·{power}"


def f32(values: object) -> np.ndarray:
    """float32 copy for compact chart JSON."""
    return np.asarray(values, dtype=np.float32)


def downsample(x: np.ndarray, *ys: np.ndarray, limit: int = 1000) -> tuple[np.ndarray, ...]:
    """Strided thinning to at most `limit` points, keeping the last point."""
    n = len(x)
    if n <= limit:
        return (x, *ys)
    idx = np.unique(np.append(np.linspace(0, n - 1, limit).astype(int), n - 1))
    return (x[idx], *(y[idx] for y in ys))
