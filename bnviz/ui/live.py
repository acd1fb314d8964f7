"""Run controls (start, pause, resume, step, reset, learning rate) and the live panel."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable

import streamlit as st

from bnviz.config import RunConfig
from bnviz.runner import Busy, Run
from bnviz.stepper import Snapshot
from bnviz.ui.common import PageContext, scheduler, session_id
from bnviz.ui.controls import log_grid

ACTIVE = ("queued", "running")
POLL_S = 0.5  # twice a second: smooth enough, ~10 ms of server CPU per chart


_FIGURES: OrderedDict = OrderedDict()
_FIGURES_LOCK = threading.Lock()
FIGURE_CACHE = 256  # figures kept across sessions (a class looks at the same snapshots)


def cached_figure(snaps: dict[str, Snapshot], *view: object, build: Callable[[], object]):
    """The figure of these snapshots and view, built once for every tab that shows it.

    Measured with 30 tabs: building plotly figures was ~40 % of the server's CPU per poll,
    and every tab watching a shared run asked for the same figure.
    """
    key = (tuple((n, s.run_id, s.taken_at, s.state) for n, s in snaps.items()), *view)
    with _FIGURES_LOCK:
        if key in _FIGURES:
            _FIGURES.move_to_end(key)
            return _FIGURES[key]
    fig = build()
    with _FIGURES_LOCK:
        _FIGURES[key] = fig
        while len(_FIGURES) > FIGURE_CACHE:
            _FIGURES.popitem(last=False)
    return fig


def problems(ctx: PageContext, configs: dict[str, RunConfig]) -> bool:
    """Explain settings that cannot train (e.g. BN with batch size 1); True if any."""
    found = {key: fmt for cfg in configs.values() for key, fmt in cfg.problems()}
    for key, fmt in found.items():
        st.warning(ctx.tr(key, **fmt))
    return bool(found)


def attached(ctx: PageContext, configs: dict[str, RunConfig]) -> dict[str, Run | None]:
    """The runs this tab watches for these configs (shared runs included), or None."""
    sched, sid = scheduler(), session_id()
    return {n: sched.watch(cfg, sid, f"{ctx.name}.{n}") for n, cfg in configs.items()}


def _start(ctx: PageContext, configs: dict[str, RunConfig], reset: bool = False) -> None:
    sched, sid = scheduler(), session_id()
    try:
        for name, cfg in configs.items():
            slot = f"{ctx.name}.{name}"
            run = sched.watch(cfg, sid, slot)
            if reset and run is not None:
                sched.reset(run.run_id, sid, slot)
            elif run is None:
                sched.start(cfg, sid, slot)
    except Busy as busy:
        st.session_state[f"{ctx.name}.busy"] = ctx.tr(busy.reason, **busy.values)


def controls(ctx: PageContext, configs: dict[str, RunConfig], runs: dict[str, Run | None]) -> None:
    """A stable row of buttons acting on every run of the page at once."""
    sched = scheduler()
    snaps = [r.snapshot for r in runs.values() if r is not None]
    started = len(snaps) == len(runs)
    running = any(s.state in ACTIVE for s in snaps)
    paused = any(s.state == "paused" for s in snaps)
    blocked = problems(ctx, configs)
    cols = st.columns(5)
    if cols[0].button(
        ctx.tr("run.start"),
        icon=":material/play_arrow:",
        type="primary",
        disabled=blocked or started,
        use_container_width=True,
    ):
        _start(ctx, configs)
        st.rerun()
    if cols[1].button(
        ctx.tr("run.pause"), icon=":material/pause:", disabled=not running, use_container_width=True
    ):
        for r in runs.values():
            sched.control(r.run_id, "pause")
        st.rerun()
    if cols[2].button(
        ctx.tr("run.resume"),
        icon=":material/resume:",
        disabled=not paused,
        use_container_width=True,
    ):
        for r in runs.values():
            sched.control(r.run_id, "resume")
        st.rerun()
    if cols[3].button(
        ctx.tr("run.step"),
        icon=":material/skip_next:",
        disabled=not paused,
        use_container_width=True,
        help=ctx.tr("run.step_help"),
    ):
        for r in runs.values():
            sched.control(r.run_id, "step", 1)
        st.rerun()
    if cols[4].button(
        ctx.tr("run.reset"),
        icon=":material/restart_alt:",
        disabled=blocked or not snaps,
        use_container_width=True,
    ):
        _start(ctx, configs, reset=True)
        st.rerun()
    busy = st.session_state.pop(f"{ctx.name}.busy", None)
    if busy:
        st.error(busy)


def live_lr(ctx: PageContext, cfg: RunConfig, runs: dict[str, Run | None]) -> None:
    """Change the learning rate of the running runs ("babysitting")."""
    from bnviz.config import specs

    live = [r for r in runs.values() if r is not None and r.snapshot.state in ("running", "paused")]
    current = live[0].snapshot.lr if live and live[0].snapshot.lr == live[0].snapshot.lr else cfg.lr
    grid = log_grid(specs(RunConfig)["lr"], float(f"{current:.6g}"))
    new = st.select_slider(
        ctx.tr("run.live_lr"),
        grid,
        value=float(f"{current:.6g}"),
        disabled=not live,
        help=ctx.tr("run.live_lr_help"),
        key=f"{ctx.name}.live_lr",
    )
    if live and abs(new - current) > 1e-12:
        for r in live:
            scheduler().control(r.run_id, "lr", new)


def status(ctx: PageContext, label: str, snap: Snapshot) -> None:
    """One line per run: state, step, steps/s, progress; divergence and errors spelled out."""
    state = ctx.tr(f"run.state.{snap.state}")
    if snap.state == "queued" and snap.queue_position:
        state = ctx.tr("run.queued_at", position=snap.queue_position)
    text = ctx.tr(
        "run.status" if snap.state == "running" else "run.status_idle",
        label=label,
        state=state,
        step=snap.step,
        steps=snap.steps,
        rate=snap.steps_per_s,
    )
    st.progress(min(1.0, snap.progress), text=text)
    if snap.state == "diverged":
        st.warning(ctx.tr("run.diverged", label=label, step=snap.diverged_at))
    elif snap.state == "error":
        st.error(ctx.tr("run.error", label=label, error=snap.error or ""))


def live_panel(
    ctx: PageContext,
    runs: dict[str, Run | None],
    labels: dict[str, str],
    draw: Callable[[dict[str, Snapshot]], None],
) -> None:
    """Poll the runs twice a second while any is active and redraw; stop polling when done."""
    sched = scheduler()
    ids = {n: r.run_id for n, r in runs.items() if r is not None}
    if not ids:
        st.info(ctx.tr("run.press_start"))
        return
    first = {n: sched.poll(i) for n, i in ids.items()}
    active = any(s is not None and s.state in ACTIVE for s in first.values())
    frozen = st.toggle(
        ctx.tr("run.freeze"), key=f"{ctx.name}.freeze", help=ctx.tr("run.freeze_help")
    )

    @st.fragment(run_every=POLL_S if active and not frozen else None)
    def panel() -> None:
        snaps = {n: sched.poll(i) for n, i in ids.items()}
        if any(s is None for s in snaps.values()):  # dropped after a long idle time
            st.info(ctx.tr("run.dropped"))
            return
        for name, snap in snaps.items():
            status(ctx, labels[name], snap)
        draw(snaps)
        if active and not frozen and not any(s.state in ACTIVE for s in snaps.values()):
            st.rerun()  # the runs ended: a full rerun stops the timer

    panel()
