"""Babysitting figures: first loss vs ln C, loss curves, train/validation, ratios, weights."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import plotly.graph_objects as go

from bnviz.figures.preprocessing import mosaic
from bnviz.figures.theme import (
    CHART_TEXT,
    COLORS,
    KEEP_HEIGHT,
    PALETTE,
    STRETCH,
    base_layout,
    compact,
    downsample,
    exponent_text,
    f32,
    log_axis,
    readable,
    series_line,
    series_marker,
)
from bnviz.i18n import t
from bnviz.lessons.babysitting import (
    STRIP_UNITS,
    RatioRow,
    expected_first_loss,
    final,
    first_loss,
    lr_factor,
    strip,
    weight_images,
)
from bnviz.stepper import Snapshot

# The diagnosis words' colours, a traffic light (too high red-orange, ok green, too low amber),
# dark enough to be text a projector shows (audit 25: "too low" in #F3A712 was 2.0:1; these
# are at least 5:1); the word itself says it without colour
STATUS_COLORS = {"too_high": "#B23A12", "ok": "#00734F", "too_low": "#8A5A00", "none": CHART_TEXT}
STRIP_GAP = 5  # weight-pixels between two moments of the strip (1 between two units)
STRIP_HEIGHT = 240  # px of tiles: with the title and labels the chart fits 1280x720


def _tr(key: str, lang: str, **fmt: object) -> str:
    return t(f"babysitting.{key}", lang, **fmt)


def _has(history: Mapping[str, np.ndarray]) -> bool:
    """True once a snapshot's history has at least one row."""
    return len(history.get("step", ())) > 0


FIRST_LOSS_FLOOR = 10  # the first-loss bars start this many times below ln C


def first_loss_figure(snaps: Mapping[str, Snapshot], *, lang: str = "en") -> go.Figure:
    """The measured first loss of each run as bars, against the ln C line."""
    snaps = {n: s for n, s in snaps.items() if _has(s.losses)}  # queued runs: no bar yet
    names = list(snaps)
    values = [first_loss(s) for s in snaps.values()]
    fig = go.Figure(layout=base_layout(_tr("fig.first_loss_title", lang), height=300))
    fig.add_trace(go.Bar(x=[_tr(f"preset.{n}", lang) for n in names], y=values,
                         text=[f"{v:.3f}" for v in values], name=_tr("fig.first_loss", lang),
                         marker_color=PALETTE[0]))  # fmt: skip
    ln_c = expected_first_loss()
    fig.add_hline(y=ln_c, line=dict(color=COLORS["guide"], dash="dash"))
    # on a log axis an annotation's y is log10 of the value (add_hline's put the note at 200);
    # on the left, just above the line: on the right it sat on the tall bar
    fig.add_annotation(text=_tr("fig.ln_c", lang, value=ln_c), x=0, xref="x domain",
                       xanchor="left", y=np.log10(ln_c), yref="y", yanchor="bottom",
                       showarrow=False)  # fmt: skip
    # bars rise from a decade below ln C: from the data's least value, the 2.303 bar was a 10 px
    # sliver beside 1.0·randn's 262 and read as almost 0 (audit 33)
    floor = ln_c / FIRST_LOSS_FLOOR
    top = max([ln_c, *[v for v in values if np.isfinite(v)]]) * 2
    fig.update_yaxes(
        title_text=_tr("fig.loss", lang),
        **log_axis(values, ln_c, floor),
        range=[np.log10(floor), np.log10(top)],
    )
    return fig


def run_label(label: str, snap: Snapshot, lang: str) -> str:
    """A run named with its learning rate: "too low (lr 1e-4)", "太低（学习率 1e-4）"."""
    return _tr("fig.run_lr", lang, label=label, lr=compact(snap.config.lr))


def loss_curves_figure(
    snaps: Mapping[str, Snapshot],
    *,
    lang: str = "en",
    title: str = "loss_curves_title",
    note: str | None = None,
) -> go.Figure:
    """Mini-batch loss per step for each run on one log chart; a diverged run is marked.
    `note`: a fact of the runs, written in the plot's top right corner, where the log axis
    has room (the rates' dead ReLUs: as a caption under the chart it was below a 1280x720
    screen, the status line of the diverged run taking two lines).

    A lone run's legend leaves out its name (the status line above says it), as the accuracy
    chart beside it does: "20 examples, no regularization (lr 0.01) · training loss ends at
    4.7×10⁻⁶" was cut at the edge of its half of the row at 1280 px (audit 27).
    """
    fig, ys = go.Figure(layout=base_layout(_tr(f"fig.{title}", lang))), []
    several = sum(_has(s.losses) for s in snaps.values()) > 1
    ceiling = _ceiling(snaps)
    for i, (name, snap) in enumerate(snaps.items()):
        if not _has(snap.losses):
            continue
        label = (
            run_label(_tr(f"preset.{name}", lang), snap, lang)
            if several
            else _tr("fig.lr_only", lang, lr=compact(snap.config.lr))
        )
        if snap.state == "diverged":
            label += " · " + _tr("fig.diverged_at", lang, step=snap.diverged_at)
        elif snap.state == "finished" and np.isfinite(end := final(snap, "train_loss")):
            label += " · " + _tr("fig.ends_at", lang, loss=readable(end, 2))  # as said above
        steps, loss = downsample(snap.losses["step"], np.asarray(snap.losses["loss"]))
        y = f32(np.clip(loss, None, ceiling))  # a blow-up leaves through the top (below)
        line = series_line(i)  # a dash each: good and high were one grey
        trace = go.Scatter(x=steps, y=y, mode="lines", name=label, line=line)
        fig.add_trace(trace.update(showlegend=True))  # a lone run's too: a row, as beside it
        ys.append(y)
    fig.update_xaxes(title_text=_tr("fig.step", lang), range=_steps(snaps))
    fig.update_yaxes(title_text=_tr("fig.loss", lang), **log_axis(*ys))
    if note:
        fig.add_annotation(
            text=note, x=0.99, y=0.98, xref="x domain", yref="y domain", xanchor="right",
            yanchor="top", align="right", showarrow=False, bgcolor="rgba(255,255,255,0.85)",
        )  # fmt: skip
    return fig


CEILING_OVER = 10  # a diverged run's line leaves the chart this many times above the others'
LOSS_CAP = 1e6  # ... or, with no other run, here (its blow-up before NaN)


def _ceiling(snaps: Mapping[str, Snapshot]) -> float:
    """Where the loss chart ends: a decade above the highest loss of the runs that did not
    diverge. A diverged run's line is cut there: up to 10⁶, the rates' log axis gave nine
    decades to its blow-up and pressed the other three runs into one, where "too low" and "high"
    (both near 2) lay on one line (audit 33)."""
    kept = [
        np.asarray(s.losses["loss"], dtype=np.float64)
        for s in snaps.values()
        if _has(s.losses) and s.state != "diverged"
    ]
    finite = np.concatenate(kept) if kept else np.zeros(0)
    finite = finite[np.isfinite(finite)]
    return float(min(LOSS_CAP, CEILING_OVER * finite.max())) if len(finite) else LOSS_CAP


def _steps(snaps: Mapping[str, Snapshot]) -> list[int] | None:
    """The step axis of a run's charts: its whole length from the start, so the loss chart
    (last step 199) and the accuracy chart beside it (last evaluation at 200) line up."""
    return [0, max(s.steps for s in snaps.values())] if snaps else None


def accuracy_figure(
    snaps: Mapping[str, Snapshot], *, lang: str = "en", labels: Mapping[str, str] | None = None
) -> go.Figure:
    """Training (solid) and validation (dashed) accuracy of each run, named by `labels` (the
    status lines' names; the preset's by default: "With weight decay" beside "Weight decay 0.1").

    A lone run's legend names the two lines only (the status line above names the run): with
    its name each took a row, and the plot ended ~40 px above the loss chart's beside it.
    """
    fig = go.Figure(layout=base_layout(_tr("fig.gap_title", lang)))
    several = sum(_has(s.evals) for s in snaps.values()) > 1
    for i, (name, snap) in enumerate(snaps.items()):
        if not _has(snap.evals):
            continue
        color = PALETTE[i % len(PALETTE)]
        for col, dash in (("train_acc", "solid"), ("test_acc", "dash")):  # a marker per run
            line = _tr(f"fig.{col}", lang)
            fig.add_trace(go.Scatter(
                x=snap.evals["step"], y=f32(snap.evals[col]),
                mode="lines+markers" if several else "lines",
                name=f"{(labels or {}).get(name) or _tr(f'preset.{name}', lang)} · {line}"
                if several
                else line,
                line=dict(color=color, dash=dash), marker=series_marker(i, size=6),
            ))  # fmt: skip
    fig.update_xaxes(title_text=_tr("fig.step", lang), range=_steps(snaps))
    fig.update_yaxes(title_text=_tr("fig.accuracy", lang), range=[0, 1.02])
    return fig


def advice_text(row: RatioRow, lang: str) -> str:
    """The recommended change, with the factor this layer's ratio asks for."""
    factor = f"{lr_factor(row.log_ratio):g}" if np.isfinite(row.log_ratio) else ""
    return _tr(f"advice.{row.advice}", lang, factor=factor)


def ratio_text(row: RatioRow) -> str:
    """A layer's update/weight ratio as the lesson writes its target ("≈ 1e-3"): "6.7e-5"
    (it was "6.7e-05" under a title saying 1e-3); "—" when there is none."""
    return exponent_text(10**row.log_ratio, 2) if np.isfinite(row.log_ratio) else "—"


def ratio_table_figure(rows: list[RatioRow], *, lang: str = "en") -> go.Figure:
    """The update/weight diagnosis: layer, ratio, status, recommended change."""
    last = len(rows) - 1
    layer = [_tr("fig.head", lang) if r.layer == last else str(r.layer + 1) for r in rows]
    ratio = [ratio_text(r) for r in rows]
    status = [_tr(f"status.{r.status}", lang) for r in rows]
    advice = [advice_text(r, lang) for r in rows]
    colors = [STATUS_COLORS[r.status] for r in rows]
    header = [_tr(f"fig.col_{k}", lang) for k in ("layer", "ratio", "status", "advice")]
    fig = go.Figure(go.Table(
        header=dict(values=header, align="left"),
        cells=dict(values=[layer, ratio, status, advice], align="left",
                   font=dict(color=["black", "black", colors, "black"])),
    ))  # fmt: skip
    fig.update_layout(base_layout(_tr("fig.ratio_title", lang), height=60 + 30 * len(rows)))
    fig.update_layout(meta=KEEP_HEIGHT)
    return fig


def _tiles(imgs: np.ndarray) -> np.ndarray:
    """Each 8x8 tile scaled to its own largest |weight| (noise and strokes both readable)."""
    span = np.abs(imgs).reshape(len(imgs), -1).max(1)[:, None, None]
    return imgs / np.where(span > 0, span, 1.0)


def weights_strip_figure(
    snap: Snapshot, *, units: int = STRIP_UNITS, lang: str = "en"
) -> go.Figure:
    """The first units' 8x8 weight images (rows) at the strip's moments (columns), the step
    above each moment and the roughness of every kept unit under it."""
    if not _has(snap.first_layer):
        return go.Figure(layout=base_layout(_tr("fig.weights_waiting", lang), height=200))
    frames = strip(snap)
    side = 8
    units = min(units, snap.first_layer["w"].shape[1])
    height, pitch = units * (side + 1) - 1, side + STRIP_GAP
    width = len(frames) * pitch - STRIP_GAP
    img = np.full((height, width), np.nan)
    shapes, notes = [], []
    for i, f in enumerate(frames):
        x0, mid = i * pitch, i * pitch + (side - 1) / 2
        if f.row is None:  # not reached yet: an empty frame where it will appear
            shapes.append(dict(type="rect", x0=x0 - 0.5, x1=x0 + side - 0.5, y0=-0.5,
                               y1=height - 0.5, fillcolor="#F2F2F2", line=dict(width=0),
                               layer="below"))  # fmt: skip
        else:
            tiles = _tiles(weight_images(snap, f.row)[:units])
            img[:, x0 : x0 + side] = mosaic(tiles, cols=1)
        key = "fig.strip_now" if f.live else "fig.strip_step"
        step = f.step if f.step is not None else f.target
        head = dict(x=mid, y=-0.5, yanchor="bottom", text=_tr(key, lang, step=step))
        notes.append(head if f.row is not None else head | dict(font=dict(color=COLORS["guide"])))
        if f.row is not None:
            text = _tr("fig.strip_roughness", lang, value=f.roughness)
            notes.append(dict(x=mid, y=height - 0.5, yanchor="top", text=text))
    fig = go.Figure(go.Heatmap(z=f32(img), colorscale="RdBu", zmid=0, zmin=-1, zmax=1,
                               showscale=False, hoverinfo="skip"))  # fmt: skip
    title = _tr("fig.strip_title", lang, units=units, frames=len(frames))
    margin = dict(l=70, r=10, t=90, b=45)  # unit labels; title and two-line steps; roughness
    layout = base_layout(title, margin=margin, shapes=shapes, showlegend=False)
    fig.update_layout(layout, height=STRIP_HEIGHT + margin["t"] + margin["b"])  # no legend row
    # tiles lock their axes, but the strip is a sixth of its column's width: on a 1920x1080
    # screen it grows like the charts (8x8 tiles of 55 px in a blank panel, an audit on 12-08)
    fig.update_layout(meta=STRETCH)
    for note in notes:
        fig.add_annotation(xref="x", yref="y", showarrow=False, **note)
    centers = [u * (side + 1) + (side - 1) / 2 for u in range(units)]
    fig.update_yaxes(autorange=False, range=[height - 0.5, -0.5], scaleanchor="x",
                     tickvals=centers, ticks="", showgrid=False, zeroline=False,
                     ticktext=[_tr("fig.unit", lang, n=u + 1) for u in range(units)])  # fmt: skip
    fig.update_xaxes(range=[-0.5, width - 0.5], showticklabels=False, ticks="", showgrid=False,
                     zeroline=False, constrain="domain")  # fmt: skip
    return fig


def ratio_tables_figure(tables: Mapping[str, list[RatioRow]], *, lang: str = "en") -> go.Figure:
    """Several runs' diagnoses in one table, a run label (its learning rate) before each block."""
    columns: list[list[str]] = [[], [], [], [], []]
    colors: list[str] = []
    for label, rows in tables.items():
        last = len(rows) - 1
        for r in rows:
            columns[0].append(label if r.layer == 0 else "")
            columns[1].append(_tr("fig.head", lang) if r.layer == last else str(r.layer + 1))
            columns[2].append(ratio_text(r))
            columns[3].append(_tr(f"status.{r.status}", lang))
            columns[4].append(advice_text(r, lang))
            colors.append(STATUS_COLORS[r.status])
    keys = ("run", "layer", "ratio", "status", "advice")
    fig = go.Figure(go.Table(
        columnwidth=[2, 1, 1.3, 1.3, 3],
        header=dict(values=[_tr(f"fig.col_{k}", lang) for k in keys], align="left"),
        cells=dict(values=columns, align="left", height=26,
                   font=dict(color=["black", "black", "black", colors, "black"])),
    ))  # fmt: skip
    height = 60 + 26 * (len(colors) + 1)
    fig.update_layout(base_layout(_tr("fig.ratio_title", lang), height=height), meta=KEEP_HEIGHT)
    return fig
