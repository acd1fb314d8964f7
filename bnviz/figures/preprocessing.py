"""Data preprocessing figures: the five-panel cloud, loss bowls, training speed, PCA, photos."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from bnviz.figures.theme import CHART_TEXT, COLORS, PALETTE, base_layout, f32, tidy_log_axes
from bnviz.i18n import t
from bnviz.lessons.preprocessing import Panel, Path, bowl_shape
from bnviz.lessons.preprocessing_data import TARGET, MeanImage, steps_to_target
from bnviz.lessons.two_weights import Problem, contour_grid
from bnviz.stepper import Snapshot

ROUND_KAPPA = 1.05  # a bowl rounder than this has no long axis worth an angle (whitened: 1.0)
INPUT_COLORS = {"raw": COLORS["raw"], "center": PALETTE[3], "normalize": PALETTE[0],
                "whiten": PALETTE[2]}  # fmt: skip


def _tr(key: str, lang: str, **fmt: object) -> str:
    return t(f"preprocessing.{key}", lang, **fmt)


def cov_text(cov: np.ndarray) -> str:
    """A 2x2 covariance matrix as two lines of text."""
    tidy = np.where(np.abs(cov) < 0.005, 0.0, cov)  # no "-0.00" for a rounding-size value
    return "<br>".join("[" + ", ".join(f"{v:5.2f}" for v in row) + "]" for row in tidy)


def _axis(letter: str, i: int) -> str:
    """Plotly's name of subplot i's axis: 'x', 'x2', ..."""
    return letter if i == 1 else f"{letter}{i}"


def mosaic(images: np.ndarray, cols: int, pad: int = 1) -> np.ndarray:
    """Tiles (n, h, w[, 3]) side by side, `cols` per row, NaN (or white) gaps: one array."""
    n, h, w = images.shape[:3]
    rows = -(-n // cols)
    shape = (rows * (h + pad) - pad, cols * (w + pad) - pad, *images.shape[3:])
    out = np.full(shape, np.nan if images.ndim == 3 else 1.0)
    for i, img in enumerate(images):
        r, c = divmod(i, cols)
        out[r * (h + pad) : r * (h + pad) + h, c * (w + pad) : c * (w + pad) + w] = img
    return out


# ---------------------------------------------------------------------------- the 2-D picture


def panels_figure(panels: list[Panel], *, lang: str = "en") -> go.Figure:
    """The lecture figure: one scatter per step, its covariance matrix under it."""
    titles = [_tr(f"panel.{p.kind}", lang) for p in panels]
    fig = make_subplots(1, len(panels), subplot_titles=titles, horizontal_spacing=0.04)
    for i, p in enumerate(panels, start=1):
        fig.add_trace(
            go.Scatter(
                x=f32(p.points[:, 0]), y=f32(p.points[:, 1]), mode="markers", showlegend=False,
                marker=dict(size=3, color=PALETTE[0], opacity=0.6), name=titles[i - 1],
            ),
            1, i,
        )  # fmt: skip
        fig.add_annotation(
            text=_tr("fig.cov", lang) + "<br>" + cov_text(p.cov), showarrow=False,
            xref=f"{_axis('x', i)} domain", yref=f"{_axis('y', i)} domain", x=0.5, y=-0.18,
            yanchor="top",
            font=dict(family="monospace", size=14),  # 11 px was the smallest text (audit 25)
        )  # fmt: skip
        fig.update_xaxes(zeroline=True, zerolinecolor=COLORS["guide"], row=1, col=i)
        fig.update_yaxes(
            zeroline=True, zerolinecolor=COLORS["guide"], scaleanchor=_axis("x", i), row=1, col=i
        )
    fig.update_layout(base_layout(height=330, margin=dict(l=30, r=10, t=40, b=105)))
    return fig


def bowls_figure(
    problems: dict[str, Problem], paths: dict[str, Path] | None = None, *, lang: str = "en"
) -> go.Figure:
    """Loss contours of the two-weight model on raw, centered and whitened features, with the
    gradient-descent path of each when given."""
    names = list(problems)
    titles, labels = [], {}
    for k in names:
        kappa, angle = bowl_shape(problems[k])
        key = "fig.bowl_title" if kappa >= ROUND_KAPPA else "fig.bowl_title_round"
        titles.append(_tr(key, lang, name=_tr(f"panel.{k}", lang),
                          kappa=kappa, angle=angle))  # fmt: skip
        if paths is not None:  # the steps in the title: as hover text a projector never showed
            n = paths[k].steps_to_converge  # them, and the preset's sentence is about them
            one = "_one" if n == 1 else ""  # not "1 steps" (audit 7)
            steps = n if n is not None else "—"
            labels[k] = _tr(f"fig.gd_path{one}", lang, steps=steps)
            titles[-1] += "<br>" + _tr(f"fig.gd_steps{one}", lang, steps=steps)
    fig = make_subplots(1, len(names), subplot_titles=titles, horizontal_spacing=0.07)
    for i, k in enumerate(names, start=1):
        p = problems[k]
        path = None if paths is None else paths[k].weights
        span = _span(p) if path is None else None  # None: cover the path
        g = contour_grid(p, path, resolution=80, equal_aspect=True, span=span)
        gap = np.log10(np.maximum(g.z - np.float32(g.loss_star), 1e-6))
        fig.add_trace(
            go.Contour(x=f32(g.w1), y=f32(g.w2), z=f32(gap), showscale=False, ncontours=14,
                       contours_coloring="lines", colorscale="Blues", name=titles[i - 1]),
            1, i,
        )  # fmt: skip
        if path is not None:
            fig.add_trace(
                go.Scatter(x=f32(path[:, 0]), y=f32(path[:, 1]), mode="lines+markers",
                           name=labels[k], line=dict(color=COLORS["raw"], width=2),
                           marker=dict(size=3), showlegend=False),
                1, i,
            )  # fmt: skip
        fig.update_yaxes(  # the axes shrink to the grid (constrain="domain"): cut to the panel's
            # shape instead, plotly left bits of the contour lines at its corners (audit 16)
            scaleanchor=_axis("x", i), title_text="w₂" if i == 1 else None, row=1, col=i,
            constrain="domain", range=[float(g.w2[0]), float(g.w2[-1])],
        )  # fmt: skip
        fig.update_xaxes(title_text="w₁", row=1, col=i, constrain="domain",
                         range=[float(g.w1[0]), float(g.w1[-1])])  # fmt: skip
    top = 60 if paths is None else 80  # 2-line titles, 3 with the steps
    fig.update_layout(base_layout(height=330 + top - 60, margin=dict(l=55, r=20, t=top, b=40)))
    return fig


def _span(p: Problem) -> np.ndarray:
    """Half-widths that show a few contours of the flattest direction."""
    lam = np.linalg.eigvalsh(p.hessian)
    return np.full(2, 2.0 / np.sqrt(lam[0]))


# ---------------------------------------------------------------------------- training


# Inside the plot, right, between raw (near chance) and the others (above 90 %): the empty
# part of the chart, whose legend row under it did not fit 1280x720.
TRAINING_LEGEND = dict(
    orientation="v", x=0.99, xanchor="right", y=0.25, yanchor="bottom", yref="paper",
    bgcolor="rgba(255,255,255,0.85)", font=dict(size=14),
)  # fmt: skip


def run_label(kind: str, snap: Snapshot, target: float, lang: str) -> str:
    """'Centered · 90 % at step 110', '… · not 90 % yet', '… · not 90 % in 300 steps' or
    '… · diverged at step N'."""
    hit = steps_to_target(snap, target)
    if hit is not None:
        state = _tr("fig.reached", lang, step=hit)
    elif snap.state == "diverged":
        state = _tr("fig.diverged_at", lang, step=snap.diverged_at)
    elif snap.done:
        state = _tr("fig.not_reached", lang, steps=snap.step)
    else:
        state = _tr("fig.not_yet", lang)
    return _tr(f"input.{kind}", lang) + " · " + state


def training_figure(
    snaps: Mapping[str, Snapshot], *, target: float = TARGET, lang: str = "en"
) -> go.Figure:
    """Test accuracy over steps of the raw / centered / normalized / whitened runs, growing
    live; each legend entry says when its run reached the target."""
    fig = go.Figure(layout=base_layout(_tr("fig.training_title", lang), height=290))
    fig.update_layout(legend=TRAINING_LEGEND, margin=dict(b=45))  # no legend row under it
    for kind, snap in snaps.items():
        evals = snap.evals
        fig.add_trace(go.Scatter(
            x=np.asarray(evals.get("step", ())), y=f32(evals.get("test_acc", ())), mode="lines",
            name=run_label(kind, snap, target, lang), line=dict(color=INPUT_COLORS[kind], width=2),
        ))  # fmt: skip
    fig.add_hline(y=target, line=dict(color=COLORS["guide"], dash="dash"))
    steps = max((s.steps for s in snaps.values()), default=0)
    fig.update_xaxes(title_text=_tr("fig.step", lang), range=[0, steps])  # the whole run, at once
    fig.update_yaxes(title_text=_tr("fig.test_acc", lang), range=[0, 1])
    return fig


# ---------------------------------------------------------------------------- PCA on digits


SAID_KS = (2, 10)  # the k the PCA sentence names: their values are written on both charts


def _said_values(ks, values: np.ndarray, lang: str) -> list[str]:
    """The value at each of SAID_KS in % ("73 %"; "73%" in Chinese), "" at the other k: the
    sentence's numbers on the chart, not read off a curve (audit 31)."""
    return [_tr("fig.percent", lang, value=f"{100 * v:.0f}") if k in SAID_KS else "" for k, v in
            zip(ks, values, strict=True)]  # fmt: skip


def explained_figure(cumulative: np.ndarray, *, lang: str = "en") -> go.Figure:
    """Cumulative explained variance against the number of components k."""
    k = np.arange(1, len(cumulative) + 1)
    fig = go.Figure(layout=base_layout(_tr("fig.explained_title", lang), height=300))
    fig.add_trace(go.Scatter(x=k, y=f32(cumulative), mode="lines+markers+text",
                             name=_tr("fig.explained", lang), marker=dict(size=4),
                             text=_said_values(k, cumulative, lang),
                             textposition="bottom right"))  # fmt: skip
    fig.update_xaxes(title_text=_tr("fig.k", lang))
    fig.update_yaxes(title_text=_tr("fig.explained", lang), range=[0, 1.02])
    return fig


def reconstructions_figure(recs: np.ndarray, ks, *, lang: str = "en") -> go.Figure:
    """Digits rebuilt from k components: one row per k (recs (len(ks), M, 64))."""
    tiles = recs.reshape(-1, 8, 8)
    img = mosaic(tiles, cols=recs.shape[1])
    fig = go.Figure(go.Heatmap(z=f32(img), colorscale="Greys", showscale=False, zmin=0, zmax=16))
    fig.update_layout(base_layout(_tr("fig.recon_title", lang), height=60 + 55 * len(ks)))
    # the axes shrink to the mosaic (constrain="domain"): on a wide screen the digits sat small
    # in the middle, their row labels far left, grid lines across the empty sides
    fig.update_yaxes(
        autorange="reversed", scaleanchor="x", tickvals=[4 + 9 * i for i in range(len(ks))],
        ticktext=[_tr("fig.k_label", lang, k=k) for k in ks], constrain="domain",
        showgrid=False, zeroline=False, ticks="",
    )  # fmt: skip
    fig.update_xaxes(
        showticklabels=False, ticks="", constrain="domain", showgrid=False, zeroline=False
    )
    return fig


def accuracy_k_figure(ks, acc: np.ndarray, *, lang: str = "en") -> go.Figure:
    """Test accuracy of the small network on the first k principal components."""
    fig = go.Figure(layout=base_layout(_tr("fig.acc_k_title", lang), height=300))
    fig.add_trace(go.Scatter(x=list(ks), y=f32(acc), mode="lines+markers+text",
                             name=_tr("fig.test_acc", lang), text=_said_values(ks, acc, lang),
                             textposition="bottom right"))  # fmt: skip
    fig.update_xaxes(title_text=_tr("fig.k", lang), type="log")
    fig.update_yaxes(title_text=_tr("fig.test_acc", lang), range=[0, 1])
    return tidy_log_axes(fig)


# ---------------------------------------------------------------------------- photos


def _rgb(img: np.ndarray) -> np.ndarray:
    """[0, 1] floats -> uint8 RGB for go.Image."""
    return (np.clip(img, 0, 1) * 255).round().astype(np.uint8)


def _bare_axes(fig: go.Figure) -> None:
    """An image's axes: no labels, ticks or grid (the template's outside ticks drew unlabelled
    marks along each photo's left and bottom edges, audit 31)."""
    bare = dict(showticklabels=False, ticks="", showgrid=False, zeroline=False)
    fig.update_xaxes(**bare)
    fig.update_yaxes(**bare)


def mean_image_figure(stats: MeanImage, *, lang: str = "en") -> go.Figure:
    """AlexNet's mean image (32x32x3) next to VGG's three per-channel means."""
    swatch = np.broadcast_to(stats.channel_mean, stats.mean_image.shape)
    stretched = (stats.mean_image - stats.mean_image.min()) / np.ptp(stats.mean_image)
    titles = [_tr(f"fig.{k}", lang) for k in ("mean_image", "mean_stretched", "channel_mean")]
    fig = make_subplots(1, 3, subplot_titles=titles)
    for i, img in enumerate((stats.mean_image, stretched, swatch), start=1):
        fig.add_trace(go.Image(z=_rgb(img), name=titles[i - 1]), 1, i)
    _bare_axes(fig)
    fig.update_layout(base_layout(height=240))
    return fig


def centered_figure(patches: dict[str, np.ndarray], *, lang: str = "en") -> go.Figure:
    """One patch as is and after each centering (centered ones drawn around mid-grey)."""
    titles = [_tr(f"fig.patch_{k}", lang) for k in patches]
    fig = make_subplots(1, len(patches), subplot_titles=titles)
    for i, (k, img) in enumerate(patches.items(), start=1):
        shown = img if k == "original" else img + 0.5
        fig.add_trace(go.Image(z=_rgb(shown), name=titles[i - 1]), 1, i)
    _bare_axes(fig)
    fig.update_layout(base_layout(height=240, margin=dict(l=20, r=20, t=60, b=20)))  # 2-line titles
    return fig


def noise_gain_figure(eps: np.ndarray, gains: np.ndarray, *, lang: str = "en") -> go.Figure:
    """How much whitening enlarges pixel noise, against eps (log-log)."""
    fig = go.Figure(layout=base_layout(_tr("fig.noise_title", lang), height=300))
    fig.add_trace(go.Scatter(x=f32(eps), y=f32(gains), mode="lines+markers",
                             name=_tr("fig.noise_gain", lang)))  # fmt: skip
    fig.add_hline(y=1.0, line=dict(color=COLORS["guide"], dash="dot"))
    fig.add_annotation(  # the dotted line named: an audit read it as an axis. (On a log axis an
        # annotation's y is log10 of the value: plotly put add_hline's own label at y = 10.)
        text=_tr("fig.no_gain", lang), x=1, xref="x domain", xanchor="right", y=0, yref="y",
        yanchor="bottom", showarrow=False, font=dict(color=CHART_TEXT),
    )  # fmt: skip
    fig.update_xaxes(title_text="eps", type="log")
    fig.update_yaxes(title_text=_tr("fig.noise_gain", lang), type="log")
    return tidy_log_axes(fig)
