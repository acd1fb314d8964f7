"""What each view of the hyperparameter page draws from its sweeps' snapshots."""

from __future__ import annotations

import numpy as np
import streamlit as st

from bnviz.figures import hyperparams as figs
from bnviz.figures.theme import readable
from bnviz.i18n import listed, t
from bnviz.lessons import hyperparams as H
from bnviz.lessons import hyperparams_views as V
from bnviz.sweep import TooBig
from bnviz.ui import live, plot
from bnviz.ui.common import ERROR_CHARS, PageContext, plain

FIRST = {"coarse": "round1", "grid": "sweep"}  # a view's sweep it draws before the later ones
UNFINISHED = ("error", "interrupted", "stopped")  # worst first: the message says the worst


def _points(snap, fields=("lr", "init_scale")) -> np.ndarray:
    """(N, len(fields)) the swept values of each model."""
    return np.array([[getattr(c, f) for f in fields] for c in snap.configs], dtype=np.float64)


def _chart(fig, key: str) -> None:
    plot.chart(st, fig, key=f"hyperparams.{key}")


def diverged_note(lang: str, snaps, how: str) -> str | None:
    """ "k of N models diverged at steps a–b: <how they are drawn>" over the drawn sweeps'
    snapshots; None when none diverged (nothing is said)."""
    k, n, a, b = V.diverged(snaps)
    if not k:
        return None
    which = "one" if a == b else "many"
    how = t(f"hyperparams.diverged.{how}", lang)
    return t(f"hyperparams.diverged.{which}", lang, k=k, n=n, a=a, b=b, how=how)


def _diverged(ctx: PageContext, snaps, how: str) -> None:
    if note := diverged_note(ctx.lang, snaps, how):
        st.caption(note)


def grid(ctx: PageContext, cfg, snaps) -> None:
    """View 1: loss along lr and along init scale, grid vs random, the best of each."""
    snap = snaps["sweep"]
    n, pts, loss = len(snap.configs) // 2, _points(snap), V.latest(snap)
    groups = {"grid": (pts[:n], loss[:n]), "random": (pts[n:], loss[n:])}
    out = V.gone(snap)
    gone = {"grid": out[:n], "random": out[n:]}
    said = ctx.tr("app.when_ended")  # the line's room from the first draw: the chart stays put
    if snap.done:  # the preset's "more than 10×", "less than the lr": where the sweep ends
        lr, scale = V.grid_spread(loss[:n])
        if np.isfinite([lr, scale]).all():
            said = ctx.tr("hyperparams.grid_spread", lr=readable(lr, 2), scale=readable(scale, 2))
    fig = figs.response_figure(groups, ("lr", "scale"), gone, lang=ctx.lang, subtitle=said)
    _chart(fig, "grid")
    _diverged(ctx, [snap], "top")
    k = len(np.unique(pts[:n, 0]))
    st.caption(ctx.tr("hyperparams.grid_counts", n=n, k=k))
    _repeats(ctx, cfg, snaps)


def too_big(ctx: PageContext, err: ValueError) -> str:
    """Why a sweep cannot train, in the page's language (audit 16: the Chinese page said the
    engine's English, "a sweep trains at most … (MAX_MODEL_STEPS)")."""
    return ctx.tr(err.key, **err.values) if isinstance(err, TooBig) else str(err)


def _repeats(ctx: PageContext, cfg, snaps) -> None:
    """View 1 on many seeds: how often random beats the grid (once both sweeps finished)."""
    seeds = V.repeat_seeds(cfg)
    n, first, last = len(seeds), seeds[0], seeds[-1]
    parts = [snaps.get(f"repeats{k}") for k in (1, 2)]
    if any(_ended_early(p) for p in parts):  # the message above the chart says so
        return
    if None in parts:
        try:
            V.repeat_specs(cfg)
        except ValueError as err:  # what specs() left out
            st.caption(ctx.tr("hyperparams.repeats_too_big", n=n, error=too_big(ctx, err)))
            return
    if None in parts or not all(p.state == "finished" for p in parts):
        st.caption(ctx.tr("hyperparams.repeats_wait", n=n))
        return
    wins, top, total = V.repeat_tally(parts)
    verdict = V.repeat_verdict(wins, total)
    text = ctx.tr("hyperparams.repeats", n=total, first=first, last=last, wins=wins)
    st.caption(text + " " + ctx.tr(f"hyperparams.repeats_{verdict}", top=top, n=total))


def scale(ctx: PageContext, cfg, snaps) -> None:
    """View 2: where uniform and 10^r put their learning rates, and what each finds."""
    snap = snaps["sweep"]
    n, pts, loss = len(snap.configs) // 2, _points(snap, ("lr",)), V.latest(snap)
    groups = {"linear": (pts[:n], loss[:n]), "log": (pts[n:], loss[n:])}
    out = V.gone(snap)
    left, right = st.columns([3, 2])
    with left:
        gone = {"linear": out[:n], "log": out[n:]}
        _chart(figs.response_figure(groups, ("lr",), gone, lang=ctx.lang), "scale")
        _diverged(ctx, [snap], "top")
    with right:
        shares = {k: H.decade_shares(p[:, 0]) for k, (p, _) in groups.items()}
        _chart(figs.decades_figure(shares, lang=ctx.lang), "decades")
    beta = np.array([0.9, 0.9005, 0.999, 0.9995])
    w = H.averaging_window(beta)
    st.caption(  # a note under the charts, as every page's: small and grey (audit 32)
        ctx.tr(
            "hyperparams.momentum_window",
            w0=f"{w[0]:.1f}",
            w1=f"{w[1]:.2f}",
            w2=f"{w[2]:.0f}",
            w3=f"{w[3]:.0f}",
        )
    )


def coarse(ctx: PageContext, cfg, snaps) -> None:
    """View 3: round 1 over the wide box, the box around its best, round 2 inside it."""
    first = snaps["round1"]
    rounds = {"round1": (_points(first), V.latest(first))}
    box = None
    if _ended_early(snaps.get("round2")):  # the message above the chart says so
        _chart(figs.zoom_figure(rounds, None, {"round1": V.gone(first)}, lang=ctx.lang), "coarse")
        _diverged(ctx, [first], "zoom")
        return
    if "round2" in snaps:
        rounds["round2"] = (_points(snaps["round2"]), V.latest(snaps["round2"]))
        box = V.fine_spec(first, cfg)[1]
    drawn = {n: snaps[n] for n in rounds}
    gone = {n: V.gone(s) for n, s in drawn.items()}
    ended = {n for n, s in drawn.items() if s.done}
    _chart(figs.zoom_figure(rounds, box, gone, lang=ctx.lang, ended=ended), "coarse")
    _diverged(ctx, drawn.values(), "zoom")
    if "round2" not in snaps:
        st.caption(ctx.tr("hyperparams.round2_waits"))


def caviar(ctx: PageContext, cfg, snaps) -> None:
    """View 4: every curve, the leaderboard, this server's wall time; the lab for the panda."""
    snap = snaps["sweep"]
    acc, loss = snap.test_acc, V.latest(snap)
    top = V.best(loss)
    left, right = st.columns([3, 2])
    with left:
        fig = figs.curves_figure(snap.eval_step, acc, top, snap.diverged_at, lang=ctx.lang)
        _chart(fig, "curves")
        _diverged(ctx, [snap], "curves")
    with right:
        order = np.argsort(np.nan_to_num(loss, nan=np.inf))[:5]
        st.dataframe(
            {
                ctx.tr("hyperparams.fig.lr"): [f"{snap.configs[i].lr:#.3g}" for i in order],
                ctx.tr("hyperparams.fig.final_loss"): [readable(loss[i]) for i in order],
                ctx.tr("hyperparams.fig.accuracy"): [
                    f"{V.latest(snap, 'test_acc')[i]:.1%}" for i in order
                ],
            },
            hide_index=True,
        )
        if snap.done and np.isfinite(loss).sum() >= 2:  # where the sweep ends, as said
            low, mid, ratio = V.below_median(loss)
            st.caption(
                ctx.tr(
                    "hyperparams.below_median",
                    best=readable(low),
                    median=readable(mid),
                    ratio=readable(ratio, 2),
                )
            )
        wall = ctx.tr(
            "hyperparams.wall_paced" if snap.pace else "hyperparams.wall",
            n=len(snap.configs),
            steps=snap.step,
            seconds=f"{snap.busy_s:.1f}",  # the server's cost, not the classroom's wait
            wall=f"{snap.wall_s:.0f}",
        )
        if not snap.done:  # mid-run its numbers grow (audit 22): said to be so far, with the
            # evaluation the table shows (audit 33: "step 139" above step 120's numbers)
            shown = int(snap.eval_step[-1]) if len(snap.eval_step) else 0
            wall = ctx.tr(
                "hyperparams.so_far", step=snap.step, steps=snap.steps, shown=shown, text=wall
            )
        st.caption(wall)
        st.page_link(
            "pages/01_batchnorm_lab.py",
            label=ctx.tr("hyperparams.panda_link"),
            icon=":material/pets:",
        )


def bn(ctx: PageContext, cfg, snaps) -> None:
    """View 5: the lr x init-scale grid without and with BN, two heatmaps of test accuracy."""
    snap = snaps["sweep"]
    k = len(H.BN_GRID_LRS) * len(H.BN_GRID_SCALES)
    acc = V.latest(snap, "test_acc")
    shape = (len(H.BN_GRID_SCALES), len(H.BN_GRID_LRS))
    out = V.gone(snap)
    fig = figs.bn_heatmaps(
        acc[:k].reshape(shape),
        acc[k:].reshape(shape),
        H.BN_GRID_LRS,
        H.BN_GRID_SCALES,
        gone=(out[:k].reshape(shape), out[k:].reshape(shape)),
        lang=ctx.lang,
    )
    _chart(fig, "bn")
    _diverged(ctx, [snap], "cells")
    st.caption(ctx.tr("hyperparams.bn_fixed", steps=snap.steps))


def importance(ctx: PageContext, cfg, snaps) -> None:
    """View 6: fANOVA importance of the random sweep (once finished) beside the notes' tiers."""
    snap = snaps["sweep"]
    if snap.state != "finished":
        best = V.best(V.latest(snap))
        curves = figs.curves_figure(
            snap.eval_step, snap.test_acc, best, snap.diverged_at, lang=ctx.lang
        )
        _chart(curves, "importance_wait")
        _diverged(ctx, [snap], "curves")
        st.caption(ctx.tr("hyperparams.importance_waits"))
        return
    measured = V.importance_of(snap)
    _chart(figs.importance_figure(measured, lang=ctx.lang), "importance")
    _diverged(ctx, [snap], "left_out")
    # IMPORTANCE_PARAMS: every one named
    order = listed((ctx.tr(f"fields.{n}") for n in measured), ctx.lang)
    agrees = "agrees" if next(iter(measured)) == "lr" else "differs"
    st.caption(ctx.tr(f"hyperparams.importance_{agrees}", order=order))


def failed(ctx: PageContext, specs: dict, runs: dict) -> list[str]:
    """Sweeps that ended without a result (an error, a lost worker, stopped): say so where their
    progress and charts would be, with each job's error in small print, and a button that
    trains them again as new jobs (the finished ones are kept). Their names."""
    bad = {n: r for n, r in runs.items() if r is not None and r.snapshot.state in UNFINISHED}
    if not bad:
        return []
    worst = next(s for s in UNFINISHED if any(r.snapshot.state == s for r in bad.values()))
    names = listed((ctx.tr(f"hyperparams.sweep.{n}") for n in bad), ctx.lang)
    key = f"hyperparams.failed.{worst}" + ("_many" if len(bad) > 1 else "")  # "these searches"
    with st.container(key="hyperparams_failed"):
        st.error(ctx.tr(key, labels=names), icon=":material/error:")
        for name, run in bad.items():
            snap, label = run.snapshot, ctx.tr(f"hyperparams.sweep.{name}")
            where = dict(label=label, step=snap.step, steps=snap.steps)
            if snap.error:
                error = plain(snap.error, ERROR_CHARS)
                st.caption(ctx.tr("hyperparams.failed.detail", **where, error=error))
            else:
                st.caption(ctx.tr("hyperparams.failed.detail_plain", **where))
        if st.button(
            ctx.tr("hyperparams.failed.retry"),
            icon=":material/restart_alt:",
            type="primary",
            key="hyperparams.retry",
        ):
            live.restart(ctx, {n: specs[n] for n in bad})
            st.rerun()
    return list(bad)


def _ended_early(snap) -> bool:
    return snap is not None and snap.state in UNFINISHED


def draw(ctx: PageContext, view: str, cfg, snaps) -> None:
    """The view's charts; sweeps no worker has reported on yet (queued) are left out."""
    ready = {n: s for n, s in snaps.items() if hasattr(s, "eval_step")}
    first = FIRST.get(view)
    if len(ready) < len(snaps) and first not in ready:
        st.info(ctx.tr("hyperparams.starting"), icon=":material/hourglass_top:")
        return
    DRAW[view](ctx, cfg, ready)


DRAW = {
    "grid": grid,
    "scale": scale,
    "coarse": coarse,
    "caviar": caviar,
    "bn": bn,
    "importance": importance,
}
