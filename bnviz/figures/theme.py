"""One look for every figure: colors, fonts and a base layout."""

from __future__ import annotations

import numpy as np

# Colors: no-BN in warm orange, BN in blue everywhere, so a class learns them once.
COLORS = {
    "plain": "#E4572E",
    "bn": "#2E86AB",
    "raw": "#E4572E",
    "std": "#2E86AB",
    "grid": "#E5E5E5",
    "guide": "#888888",
    "accent": "#76B041",
}
PALETTE = ["#2E86AB", "#E4572E", "#76B041", "#F3A712", "#7D5BA6", "#17BEBB", "#A23B72", "#3B1F2B"]
# Projector legibility: no chart text under 14 px (axis ticks, legends, hover), titles 16 px.
FONT = dict(family="Inter, 'Noto Sans SC', 'PingFang SC', sans-serif", size=14)
HERO_HEIGHT = 300  # a page's main chart: with the header, presets and sentence it fits 1280x720


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
