"""The normalization page's drawing: the tensor's shared statistics, who moves whom, the table."""

from __future__ import annotations

import streamlit as st

from bnviz.figures import normalization as figs
from bnviz.figures.theme import readable
from bnviz.lessons import normalization as N
from bnviz.ui import plot
from bnviz.ui.common import PageContext, show_table


def draw(ctx: PageContext, cfg: N.NormSettings) -> None:
    """The chosen normalization's statistics on the tensor, the four's dependence on the other
    examples, torch's refusal where it refuses, and the four side by side in a table."""
    zoo = N.zoo(cfg)
    kind = ctx.tr(f"normalization.kind.{cfg.kind}")
    if cfg.kind in zoo.refused:  # a clear message, torch's own words
        st.warning(ctx.tr("normalization.refused", kind=kind, message=zoo.refused[cfg.kind]))
    elif cfg.kind in zoo.single:  # torch computes it: every output 0 (audit 36: no word of it)
        st.warning(ctx.tr("normalization.single", kind=kind))
    if cfg.kind == "group" and zoo.groups != cfg.groups:
        st.caption(ctx.tr("normalization.groups_used", asked=cfg.groups, used=zoo.groups,
                          channels=cfg.channels))  # fmt: skip
    left, right = st.columns([3, 2])
    plot.chart(left, figs.shared_figure(zoo, cfg.kind, lang=ctx.lang), "normalization.shared")
    plot.chart(right, figs.moved_figure(zoo, lang=ctx.lang), "normalization.moved")
    st.caption(ctx.tr("normalization.table_title"))
    show_table([_row(ctx, zoo, k) for k in N.KINDS])


def _row(ctx: PageContext, zoo: N.Zoo, kind: str) -> dict:
    """One normalization's line of the table."""
    col = lambda key: ctx.tr(f"normalization.col.{key}")  # noqa: E731
    if kind in zoo.refused:
        out = ctx.tr("normalization.refused_cell")
    elif kind in zoo.single:
        out = ctx.tr("normalization.single_cell")
    else:
        mean, std = readable(zoo.out_mean[kind], 1), readable(zoo.out_std[kind], 1)
        out = ctx.tr("normalization.out_cell", mean=mean, std=std)
    moved = zoo.moved.get(kind)
    return {
        col("kind"): ctx.tr(f"normalization.kind.{kind}"),
        col("over"): ctx.tr(f"normalization.over.{kind}", groups=zoo.groups),
        col("values"): zoo.per_stat[kind],
        col("stats"): zoo.n_stats[kind],
        col("out"): out,
        col("moved"): "—" if moved is None else "0" if moved == 0 else f"{moved:.2f}",
    }
