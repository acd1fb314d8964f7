"""Regularization view: the train/test accuracy gap of five runs over training."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import plotly.graph_objects as go

from bnviz.figures.theme import COLORS, HERO_HEIGHT, PALETTE, base_layout, f32, minus_signs
from bnviz.i18n import t
from bnviz.lessons.regularization import VARIANTS, Gap

# no BN in the plain colour, dropout beside it; the BN runs in blues from noisy (dark) to none
# (light): batch 32 in a lighter blue than BN's own, or it was 11.6 from batch 8's (audit 26)
RUN_COLORS = {
    "plain": COLORS["plain"], "dropout": PALETTE[3], "bn8": "#0B3C5D", "bn32": "#2E86AB",
    "bn256": "#7FB8D8",
}  # fmt: skip
RUN_DASH = {"plain": "solid", "dropout": "dot", "bn8": "solid", "bn32": "solid", "bn256": "dash"}


def run_label(name: str, lang: str) -> str:
    """'BN, batch 8', 'no BN, dropout 0.5', …"""
    fmt = {"p": f"{VARIANTS['dropout']['dropout']:g}"} if name == "dropout" else {}
    return t(f"running_stats.fig.reg_{name}", lang, **fmt)


def gap_figure(evals: Mapping[str, Mapping[str, np.ndarray]], *, lang: str) -> go.Figure:
    """Train minus test accuracy over steps, one line per run (evals tables by variant name)."""
    traces = []
    for name in VARIANTS:
        ev = evals.get(name)
        if not ev or not len(ev.get("step", ())):
            continue
        # in percentage points, as the sentence counts them ("4-11 points lower"; an audit read
        # 0.05 on the axis under it)
        gap = 100 * (np.asarray(ev["train_acc"]) - np.asarray(ev["test_acc"]))
        traces.append(
            go.Scatter(
                x=np.asarray(ev["step"], dtype=np.int32), y=f32(gap), mode="lines+markers",
                name=run_label(name, lang), marker=dict(size=4),
                line=dict(color=RUN_COLORS[name], width=2.2, dash=RUN_DASH[name]),
                hovertemplate="%{x}: %{y:.1f}<extra>%{fullData.name}</extra>",
            )
        )  # fmt: skip
    layout = base_layout(  # shorter than a hero: the five runs' status line sits above it
        t("running_stats.fig.reg_title", lang), height=HERO_HEIGHT - 20,
        xaxis=dict(title=t("running_stats.fig.step", lang)),
        yaxis=dict(title=t("running_stats.fig.reg_axis", lang), zeroline=True),
    )  # fmt: skip
    return go.Figure(traces, layout)


def gap_lines(gaps: Mapping[str, Gap], *, lang: str) -> list[str]:
    """One line of final numbers per run, in the order of VARIANTS."""
    return [
        t("running_stats.fig.reg_table", lang, label=run_label(n, lang), train=100 * g.train_acc,
          test=100 * g.test_acc, gap=minus_signs(f"{100 * g.gap:.1f}"))  # "−1.2", not "-1.2"
        for n, g in ((n, gaps[n]) for n in VARIANTS if n in gaps)
    ]  # fmt: skip
