"""What each view of the activation-function page draws, from its cached experiments and runs."""

from __future__ import annotations

import atexit
import threading
import time
from collections.abc import Callable

import streamlit as st

from bnviz.figures import activations as figs
from bnviz.figures.theme import minus_signs, readable
from bnviz.lessons import activations as A
from bnviz.lessons import relu_race as R
from bnviz.ui import live, plot
from bnviz.ui.common import PageContext, scheduler, show_table

VIEWS = ("function", "gallery", "zigzag", "dead", "race")
NOTES = {"maxout": "maxout_note", "prelu": "prelu_note"}


@st.cache_data(max_entries=256, show_spinner=False)
def curve(name: str, **params) -> tuple:
    """(Curve on the ±12 grid, its flat regions, f′ at -10/0/10) of one activation."""
    c = A.curve(name, A.default_grid(), **params)
    return c, A.flat_intervals(c.x, c.df), A.local_gradients(name, **params)


@st.cache_data(max_entries=256, show_spinner=False)
def summary(name: str, **params) -> A.Summary:
    """One row of the comparison table (its cost is measured once per process)."""
    return A.summary(name, **params)


@st.cache_data(max_entries=64, show_spinner=False)
def zigzags(lr: float, steps: int, seed: int) -> list:
    """The positive-input and the zero-centered neuron."""
    return [A.zigzag(steps, lr, positive, seed) for positive in (True, False)]


class _Stopped(Exception):
    """The process is ending: a job's computation stops at its next progress report."""


class _Job:
    """A computation in a thread of its own, once per server process: a tab that leaves (or
    reruns) while it runs does not stop it, and the next tab finds it done or further on. At
    the process's end it stops at its next progress report (stop_jobs)."""

    def __init__(self, total: int) -> None:
        self.done, self.total = 0, total  # known before the first progress ("run 0 of 1": audit 15)
        self.result = None
        self.error: BaseException | None = None

    def run(self, key: str, store, compute: Callable) -> None:
        try:
            result = compute(progress=self.count)
            store.put_finished(key, result)  # kept before it is shown: a tab that saw it done
            self.result = result  # and a restart right after find it in the store
        except _Stopped:
            pass
        except BaseException as exc:  # shown to the tabs that wait; the next visit tries again
            self.error = exc
            with _JOBS_LOCK:
                _JOBS.pop(key, None)

    def count(self, done: int, total: int) -> None:
        if _STOPPING.is_set():
            raise _Stopped
        self.done, self.total = done, total


_JOBS: dict[str, _Job] = {}  # by store key: one job per server process
_JOBS_LOCK = threading.Lock()
_THREADS: list[threading.Thread] = []
_STOPPING = threading.Event()


@atexit.register
def stop_jobs(timeout: float = 5.0) -> None:
    """Stop the running jobs and wait for them (at most `timeout` s in all). A daemon thread
    still in torch when the interpreter tore down aborted the process ("terminate called
    without an active exception", exit status 134: a test file run alone while the dead-ReLU
    view's remedy was being measured). A server's SIGTERM ends the process by the signal
    itself (live_routes.lifespan): no atexit, no teardown, nothing to abort."""
    _STOPPING.set()
    end = time.monotonic() + timeout
    for thread in list(_THREADS):
        thread.join(max(0.0, end - time.monotonic()))


def background(key: str, compute: Callable, total: int) -> _Job:
    """The job computing `compute(progress=…)` in `total` parts, kept in the run store under
    `key` across restarts: read from the store, or started now in a thread."""
    with _JOBS_LOCK:
        job = _JOBS.get(key)
        if job is None:
            job = _JOBS[key] = _Job(total)
            store = scheduler().store
            job.result = store.get_finished(key)
            if job.result is None:
                thread = threading.Thread(
                    target=job.run, args=(key, store, compute), name=f"bnviz-job {key}", daemon=True
                )
                _THREADS.append(thread)
                thread.start()
    return job


def race_job() -> _Job:
    """The ReLU/tanh/sigmoid race at its defaults (18 runs, ~20 s): once per server, kept in the
    run store across restarts."""
    return background(R.race_key(), R.convergence_race, R.RACE_RUNS)


def wait_for(ctx: PageContext, job: _Job, progress_key: str) -> None:
    """A progress bar (`progress_key` with done and total) while `job` runs, polled in a
    fragment, so the rest of the page is drawn meanwhile; once it is done the page reruns and
    draws the result in the bar's place."""

    @st.fragment(run_every=2 * POLL_S)
    def waiting() -> None:
        if job.error is not None:
            raise job.error
        if job.result is not None:  # the whole page once: it draws the result, and stops polling
            st.rerun()
        text = ctx.tr(progress_key, done=job.done, total=job.total)
        st.progress(job.done / job.total, text=text)

    waiting()


POLL_S = 0.25


def positive_bias(ctx: PageContext, seed: int) -> None:
    """The positive-bias remedy's sentence, measured in the background (3 x 1000 steps: 10 s
    on an idle server, a minute beside a class's runs): meanwhile the page is drawn, with a
    progress bar in the sentence's place. Once per seed and server, kept in the run store."""

    def compute(progress):
        return A.positive_bias_shares(seed, progress)

    job = background(A.positive_bias_key(seed), compute, A.BIAS_TOTAL_STEPS)
    if job.result is not None:
        st.markdown(figs.positive_bias_text(job.result, lang=ctx.lang))
    else:
        wait_for(ctx, job, "activations.dead.bias_progress")


def questions(ctx: PageContext, cfg: A.ActivationSettings, probes: dict) -> None:
    """The notes' three questions answered for one function, then its mean and flat parts."""
    name = cfg.activation
    st.markdown(f"**{ctx.tr('activations.question.title')}**")
    for x, d in probes.items():
        answer = "flat" if abs(d) < A.FLAT else "passes"
        ask = ctx.tr("activations.question.ask", x=minus_signs(f"{x:g}"))
        # as the chart's label beside it writes f′ (4.5×10⁻⁵, never 4.5e−05)
        said = ctx.tr(f"activations.question.{answer}", d=readable(d, 2))
        st.markdown(f"- *{ask}* {said}")
    s = summary(name, **cfg.params())
    centered = "centered_yes" if s.zero_centered else "centered_no"
    mean = minus_signs(f"{s.mean:.3f}").replace("−0.000", "0.000")  # tanh's is ±1e-22: "0.000"
    st.markdown("- " + ctx.tr(f"activations.{centered}", mean=mean))
    if s.flat:
        regions = figs.regions_text(s.flat, lang=ctx.lang)
        st.markdown("- " + ctx.tr("activations.saturates_yes", regions=regions))
    else:
        st.markdown("- " + ctx.tr("activations.saturates_no"))
    if name in NOTES:
        st.caption(ctx.tr(f"activations.{NOTES[name]}"))


def advice(ctx: PageContext, summaries: dict) -> None:
    """The notes' practical advice, each rule with the evidence measured on this page."""
    with st.container(border=True):
        st.markdown(f"**{ctx.tr('activations.advice.title')}**")
        for rule, why in figs.advice_rows(summaries, lang=ctx.lang):
            st.markdown(f"- **{rule}** {why}")


def show_function(ctx: PageContext, cfg: A.ActivationSettings) -> None:
    """The chosen activation: f and f′ with the probes, and the three questions."""
    c, regions, probes = curve(cfg.activation, **cfg.params())
    left, right = st.columns([3, 2])
    fig = figs.curve_figure(c, lang=ctx.lang, regions=regions, probes=probes, height=420)
    plot.chart(left, fig, "act.curve")
    with right:
        questions(ctx, cfg, probes)


def show_gallery(ctx: PageContext, cfg: A.ActivationSettings) -> None:
    """All nine: f and f′ each, the comparison table, the measured cost, the advice."""
    with st.spinner(ctx.tr("activations.computing")):
        summaries = {n: summary(n, **cfg.params(n)) for n in A.NAMES}
    for start in range(0, len(A.NAMES), 3):
        for col, name in zip(st.columns(3), A.NAMES[start : start + 3], strict=True):
            c, regions, _ = curve(name, **cfg.params(name))
            fig = figs.curve_figure(c, lang=ctx.lang, regions=regions, height=250, legend=False)
            plot.chart(col, fig, f"act.gallery.{name}")
    st.caption(ctx.tr("activations.gallery_note"))
    st.markdown(f"**{ctx.tr('activations.compare_title')}**")
    rows = figs.summary_rows(list(summaries.values()), lang=ctx.lang)
    show_table(rows)
    st.caption(ctx.tr("activations.questions_note"))
    left, right = st.columns(2)
    costs = {n: s.cost_ns for n, s in summaries.items()}
    plot.chart(left, figs.cost_figure(costs, lang=ctx.lang), "act.cost")
    left.caption(ctx.tr("activations.cost_note"))
    with right:
        advice(ctx, summaries)


def show_zigzag(ctx: PageContext, cfg: A.ActivationSettings) -> None:
    """Why zero-centered outputs matter: one neuron's two weights, positive vs centered inputs."""
    runs = zigzags(cfg.lr, cfg.steps, cfg.seed)
    plot.chart(st, figs.zigzag_figure(runs, lang=ctx.lang), "act.zigzag")
    st.caption(ctx.tr("activations.zigzag_note"))
    st.caption(ctx.tr("activations.zigzag_lr_note"))


def show_dead(ctx: PageContext, cfg: A.ActivationSettings) -> None:
    """A ReLU-family MLP trained in the background at a small and a large learning rate."""
    configs = A.dead_relu_pair(cfg.dead_activation, seed=cfg.seed)
    runs = live.attached(ctx, configs)
    live.controls(ctx, configs, runs)
    live.sidebar(ctx, configs["small"], runs)
    labels = {k: ctx.tr(f"activations.dead.{k}", lr=f"{c.lr:g}") for k, c in configs.items()}

    def draw(snaps: dict) -> None:
        plot.chart(st, figs.dead_figure(snaps, lang=ctx.lang), key="act.dead")

    live.live_panel(ctx, runs, labels, draw)
    st.caption(ctx.tr("activations.dead.intro") + " " + ctx.tr("activations.dead.what"))
    st.markdown(ctx.tr("activations.dead.advice"))
    if cfg.dead_activation == "relu":  # the remedy is for ReLU (the others do not die)
        positive_bias(ctx, cfg.seed)


def show_race(ctx: PageContext, cfg: A.ActivationSettings) -> None:
    """Does ReLU converge 6x faster? Steps to a target loss, measured on this machine. While
    the race trains the page is drawn with a progress bar in the chart's place: the page once
    waited for it, and the view before stayed on screen, greyed, for ~20 s with its own share
    link (audit 12; audit 5: 1.5 min of a spinner after a server start)."""
    job = race_job()
    if job.result is None:
        wait_for(ctx, job, "activations.race.progress")
        return
    result = job.result
    plot.chart(st, figs.race_figure(result, lang=ctx.lang), "act.race")
    st.markdown(figs.race_caption(result, lang=ctx.lang))


DRAW = {
    "function": show_function,
    "gallery": show_gallery,
    "zigzag": show_zigzag,
    "dead": show_dead,
    "race": show_race,
}


def draw(ctx: PageContext, view: str, cfg: A.ActivationSettings) -> None:
    """The chosen view's figures, tables or live runs."""
    DRAW[view](ctx, cfg)
