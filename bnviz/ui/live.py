"""Run controls (start, pause, resume, step, reset, learning rate) and the live panel."""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable

import streamlit as st

from bnviz.config import RunConfig
from bnviz.i18n import strings
from bnviz.live_api import shown_step, steered_lr
from bnviz.pool import PAUSE_WAIT_S
from bnviz.runner import Busy, Run, slot_name
from bnviz.stepper import TERMINAL, Snapshot
from bnviz.ui.common import ERROR_CHARS, PageContext, plain, scheduler, session_id
from bnviz.ui.controls import log_grid, shown
from bnviz.ui.stream_chart import TIME_LEFT_FROM_S, streaming

ACTIVE = ("queued", "running")
POLL_S = 0.5  # twice a second: smooth enough, ~10 ms of server CPU per chart
RATES_IN_A_ROW = 2  # status lines side by side that still give their steps per second
PAUSED_POLL_S = 2.0  # paused runs: asked less often (the streamed charts' IDLE_MS)


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


def _problems(spec: object) -> list:
    """A RunConfig's problems; a sweep spec (validated when made) has none."""
    return spec.problems() if isinstance(spec, RunConfig) else []


def trainable(configs: dict[str, RunConfig]) -> dict[str, RunConfig]:
    """The configs that can train (BN at batch size 1 cannot; its partner without BN can)."""
    return {name: cfg for name, cfg in configs.items() if not _problems(cfg)}


def problems(ctx: PageContext, configs: dict[str, RunConfig]) -> bool:
    """Explain settings that cannot train (e.g. BN with batch size 1); True if any.

    When others of the page's runs can (they train: `attached`), the shorter `<key>_others`
    says so: the page's sentence and charts are about those.
    """
    found = {key: fmt for cfg in configs.values() for key, fmt in _problems(cfg)}
    others = bool(found) and bool(trainable(configs))
    table = strings(ctx.lang)
    for key, fmt in found.items():
        short = f"{key}_others"
        st.warning(ctx.tr(short if others and short in table else key, **fmt))
    return bool(found)


CLASS_SECONDS = 30.0  # classroom pace: a run lasts about this long, so a class can watch it
MIN_PACE = 10.0  # steps/s: never slower than this, whatever the run's length


def pace_for(steps: int, classroom: bool) -> float | None:
    """The steps/s cap of a run of `steps` steps (None: as fast as the server can)."""
    return max(MIN_PACE, steps / CLASS_SECONDS) if classroom else None


def classroom_pace(ctx: PageContext) -> bool:
    """True when this page trains at classroom pace (the default; a sidebar toggle, whose
    default on every run is this: controls.shown)."""
    return bool(shown(f"{ctx.name}.pace", True))


def attached(
    ctx: PageContext, configs: dict[str, RunConfig], autostart: bool = True
) -> dict[str, Run | None]:
    """The runs this tab watches for these configs (shared runs included).

    With autostart, missing runs are started at once (shared by config, so a class opening
    the same page costs one training), those whose settings can train: at batch size 1 the
    lab's net without BN trains beside the BN net's explanation.
    """
    sched, sid = scheduler(), session_id()
    runs = {n: sched.watch(cfg, sid, slot(ctx, n)) for n, cfg in configs.items()}
    if autostart and any(runs[n] is None for n in trainable(configs)):
        _start(ctx, configs, hold=_held(runs))
        runs = {n: sched.watch(cfg, sid, slot(ctx, n)) for n, cfg in configs.items()}
    return runs


def slot(ctx: PageContext, name: str) -> str:
    """This page's place for its run `name` in the tab (what the tab watches there)."""
    return slot_name(ctx.name, name)


def leave(ctx: PageContext, names) -> None:
    """This tab stops watching the page's runs `names` (another view's: they stop counting
    against the tab; nobody else watching, they pause and go on when the view comes back)."""
    for name in names:
        scheduler().leave(session_id(), slot(ctx, name))


def _held(runs: dict[str, Run | None]) -> bool:
    """Whether the page's runs were paused by hand (audit 15: on babysitting's gap check,
    paused, a new weight decay started its run beside the paused one without decay, and the
    page showed Pause and Resume both enabled). An idle-paused run goes on when polled."""
    return any(r is not None and r.state == "paused" and not r.auto_paused for r in runs.values())


def _start(
    ctx: PageContext, configs: dict[str, RunConfig], reset: bool = False, hold: bool = False
) -> None:
    """Start the configs' missing runs (with reset: all of them again from step 0); with
    hold, they wait paused at step 0 beside the page's paused runs until Resume."""
    sched, sid = scheduler(), session_id()
    classroom = classroom_pace(ctx)
    started = {}
    try:
        for name, cfg in trainable(configs).items():
            run = sched.watch(cfg, sid, slot(ctx, name))
            if reset and run is not None:
                run = sched.reset(run.run_id, sid, slot(ctx, name))
            elif run is None:  # held: paused before any worker has it, Resume enabled
                pace = pace_for(cfg.steps, classroom)
                run = sched.start(cfg, sid, slot(ctx, name), paused=hold, pace=pace)
            else:
                continue
            if run is not None and run.open:
                sched.control(run.run_id, "pace", pace_for(run.steps, classroom))
                started[name] = run
    except Busy as busy:
        st.session_state[f"{ctx.name}.busy"] = ctx.tr(busy.reason, **busy.values)
    if hold:  # a run found open (a shared run another tab trains) waits with the others
        _act({n: r for n, r in started.items() if r.state != "paused"}, "pause")


def restart(ctx: PageContext, configs: dict[str, RunConfig]) -> None:
    """Train these runs again from step 0 as new jobs (after an error: not the failed one)."""
    _start(ctx, configs, reset=True)


def _act(runs: dict[str, Run | None], action: str, value: float | None = None) -> None:
    """Send `action` to every run, then wait (up to ACT_WAIT_S) until their workers have done it.

    The page reruns next and draws its buttons and status from the runs' snapshots: drawn
    before a worker had paused, the page said "training" with Pause enabled and Resume off;
    drawn before it had resumed, "paused", and it started no redraw timer, so the class saw
    a frozen page while the run trained on; a Step showed nothing until the next one (audit 5).
    """
    sched = scheduler()
    before = {r.run_id: sched.poll(r.run_id) for r in runs.values() if r is not None}
    if action == "pause" and value is None:
        value = pause_step(before.values())
    for run_id in before:
        sched.control(run_id, action, value)
    # a pause at one step: a run behind trains on to it for up to PAUSE_WAIT_S (under load in
    # CI one took over 2 s, and the page drew it training, Pause enabled, beside its partner)
    wait = PAUSE_WAIT_S + 0.5 if action == "pause" and value is not None else ACT_WAIT_S
    deadline = time.monotonic() + wait
    while any(not acted(action, value, old, sched.poll(i)) for i, old in before.items()):
        if time.monotonic() > deadline:
            break  # a busy worker: the live panel notices the change when it comes (state_class)
        time.sleep(0.02)


ACT_WAIT_S = 2.0  # a worker applies a command between slices (~0.05 s) and answers at once
# Pause: the runs train on about this long, to a step they all reach. 0.2 s was too little at
# full speed on a loaded machine (CI, 3 test processes on 2 cores): the furthest run of a pair
# at ~3000 steps/s was past the step when the pause reached it, and paused 3 steps ahead
PAUSE_LEAD_S = 0.5


def pause_step(snaps, now: float | None = None) -> int | None:
    """The step a page's training runs pause at, together: where the furthest is now (its last
    snapshot is up to 0.4 s old: its step, plus its rate since), plus what the fastest trains
    in PAUSE_LEAD_S while the pause reaches the workers. Paused at once, each where its worker
    read the pause, the lab's pair stood at steps 68 and 76 (audit 21). Never past the step
    before the shortest run's last: a Pause pressed near the end pauses (aimed past it, the runs
    finished instead: CI, a 90-step run paused late on a loaded machine). None: none trains."""
    running = [s for s in snaps if s is not None and s.state == "running"]
    if not running:
        return None
    now = time.time() if now is None else now
    rate = max(s.steps_per_s for s in running)
    ahead = max(s.step + s.steps_per_s * max(0.0, now - s.taken_at) for s in running)
    step = math.ceil(ahead + rate * PAUSE_LEAD_S) + 1
    return min([step] + [s.steps - 1 for s in running if s.steps > 0])


def acted(action: str, value: float | None, old: Snapshot | None, new: Snapshot | None) -> bool:
    """True once `new` shows `action` done on the run that `old` showed (or it cannot be)."""
    if old is None or new is None or new.state in TERMINAL:
        return True
    if action == "pause":  # a run just started shows "queued" until its worker has it
        return new.state not in ACTIVE
    if action == "resume":
        return old.state != "paused" or new.state != "paused"
    if action == "step":  # a worker steps a paused run only
        return old.state != "paused" or new.step >= old.step + int(value or 1)
    return True


def state_class(state: str) -> str:
    """What a run's state means for the page's buttons: active, paused or ended."""
    return "active" if state in ACTIVE else "paused" if state == "paused" else "ended"


def _buttons_key(ctx: PageContext) -> str:
    return f"{ctx.name}.buttons_drawn"


def controls(ctx: PageContext, configs: dict[str, RunConfig], runs: dict[str, Run | None]) -> None:
    """One compact row of buttons acting on every run of the page at once.

    Drawn from a poll, not from the watched run's last snapshot: a shared run nobody watched
    for 20 s is idle-paused, and the poll resumes it. From the snapshot, a tab opening it showed
    Pause disabled and Resume enabled while it trained, and on a streamed view (no page rerun)
    for the whole run.
    """
    sched = scheduler()
    polled = {n: sched.poll(r.run_id) for n, r in runs.items() if r is not None}
    snaps = [s for s in polled.values() if s is not None]
    can = trainable(configs)
    started = all(polled.get(n) is not None for n in can)
    running = any(s.state in ACTIVE for s in snaps)
    paused = any(s.state == "paused" for s in snaps)
    blocked = problems(ctx, configs)
    st.session_state[f"{ctx.name}.blocked"] = blocked  # live_panel then asks for no Start
    # what the buttons say of each run: live_panel reruns the page when its later poll differs
    st.session_state[_buttons_key(ctx)] = {
        runs[n].run_id: state_class(s.state) for n, s in polled.items() if s is not None
    }
    buttons = [  # (label key, icon, disabled, what it does)
        ("start", "play_arrow", not can or started, lambda: _start(ctx, configs)),
        ("pause", "pause", not running, lambda: _act(runs, "pause")),
        ("resume", "resume", not paused, lambda: _act(runs, "resume")),
        ("step", "skip_next", not paused, lambda: _act(runs, "step", 1)),
        ("reset", "restart_alt", not can or not snaps, lambda: _start(ctx, configs, reset=True)),
    ]
    with (
        ctx.head or st.container(),
        st.container(horizontal=True, horizontal_alignment="right", key=f"{ctx.name}.run_controls"),
    ):
        for name, icon, disabled, act in buttons:
            if st.button(
                ctx.tr(f"run.{name}"),
                icon=f":material/{icon}:",
                type="primary" if name == "start" else "secondary",
                disabled=disabled,
                help=ctx.tr(f"run.{name}_help") if name in ("step", "start") else None,
                key=f"{ctx.name}.run.{name}",
            ):
                act()
                st.rerun()
    busy = st.session_state.pop(f"{ctx.name}.busy", None)
    if busy:
        st.error(busy)


def pace_toggle(ctx: PageContext, runs: dict[str, Run | None]) -> None:
    """Classroom pace (a run lasts ~30 s) or full speed, for this page's runs (sidebar)."""
    key = f"{ctx.name}.pace"
    # its value is its default on every run (controls.shown): a browser that mounted it afresh
    # drew it off and sent that back, and babysitting's next runs trained at full speed (audit
    # 38, 5 of 6 fresh zh tabs of a new seed here)

    def send() -> None:
        for r in runs.values():
            if r is not None:
                scheduler().control(r.run_id, "pace", pace_for(r.steps, st.session_state[key]))

    st.toggle(
        ctx.tr("run.pace", seconds=f"{CLASS_SECONDS:.0f}"),
        value=classroom_pace(ctx),
        key=key,
        on_change=send,
        help=ctx.tr("run.pace_help"),
    )


def live_lr(ctx: PageContext, cfg: RunConfig, runs: dict[str, Run | None]) -> bool:
    """Change the learning rate of the running runs ("babysitting"); whether a run is steered
    (trains at a rate other than its settings').

    The slider is keyed by the runs it steers, so a new pair (a preset, a changed setting) gets
    a fresh slider at that pair's rate; only a user's move of the slider sends a new rate.
    """
    from bnviz.config import specs

    shown = [r for r in runs.values() if r is not None]
    live = [r for r in shown if r.snapshot.state in ("running", "paused")]
    rate = (live or shown)[0].snapshot.lr if shown else math.nan  # an ended run: its last rate
    current = float(f"{rate if rate == rate else cfg.lr:.6g}")  # NaN before the first snapshot
    ids = tuple(r.run_id for r in live)
    # keyed by the runs shown (and by the rate while there are none): a key shared by every
    # pair with no live run ("idle") kept the first value it was drawn with, so after a preset's
    # runs at lr 3 had ended it read 1.0, the default's (audit 9)
    key = f"{ctx.name}.live_lr." + ("-".join(r.run_id for r in shown) or f"none-{cfg.lr:g}")

    def send() -> None:
        for run_id in ids:
            scheduler().control(run_id, "lr", st.session_state[key])

    chosen = st.select_slider(
        ctx.tr("run.live_lr"),
        log_grid(specs(RunConfig)["lr"], current),
        value=current,
        format_func=lambda v: f"{v:g}",  # "3" as the settings' slider writes it, not "3.0"
        disabled=not live,
        help=ctx.tr("run.live_lr_help"),
        key=key,
        on_change=send,
    )
    moved = bool(live) and not math.isclose(chosen, cfg.lr, rel_tol=1e-6)  # before it applies
    return moved or any(r is not None and steered_lr(r.snapshot) for r in runs.values())


def group_status(ctx: PageContext, labels: dict[str, str], snaps: dict[str, Snapshot]) -> str:
    """More than RATES_IN_A_ROW runs of one length on one line: the length said once, and the
    state once if they share it ("training · step … / 600 — no BN: 32 | BN, batch 8: 31 | …";
    all at one step: "finished · step 600 / 600 — no BN | …"; else each run's step, or its
    state if it is not training). Each run's whole line took two lines at 1280 (running
    statistics' five, audit 34; and while they finished one by one, audit 36). Else ""."""
    if len(snaps) <= RATES_IN_A_ROW or len({s.steps for s in snaps.values()}) > 1:
        return ""
    if any(s.state in ("diverged", "queued") or steered_lr(s) is not None for s in snaps.values()):
        return ""  # each run's own line says what
    snap = next(iter(snaps.values()))
    states = {s.state for s in snaps.values()}
    state = ctx.tr(f"run.state.{snap.state}")
    if len(states) == 1 and len({shown_step(s) for s in snaps.values()}) == 1:
        named = " | ".join(labels[n] for n in snaps)
        text = ctx.tr(
            "run.status_group_same", state=state, step=shown_step(snap), steps=snap.steps,
            labels=named,
        )  # fmt: skip
    else:

        def item(name: str, s: Snapshot) -> str:  # a run not training: its state
            going = len(states) == 1 or s.state in ACTIVE
            step = shown_step(s) if going else ctx.tr(f"run.state.{s.state}")
            return ctx.tr("run.status_group_run", label=labels[name], step=step)

        runs = " | ".join(item(n, s) for n, s in snaps.items())
        key = "run.status_group" if len(states) == 1 else "run.status_group_mixed"
        text = ctx.tr(key, state=state, steps=snap.steps, runs=runs)
    left = max(seconds_left(s) for s in snaps.values())
    if left >= TIME_LEFT_FROM_S:  # once, the slowest's (CI: five lines each saying it took two)
        text += ctx.tr("run.time_left", minutes=math.ceil(left / 60))
    return text


def status_text(ctx: PageContext, label: str, snap: Snapshot, rate: bool = True) -> str:
    """ "<label>: <state> · step <n> / <steps> · <rate> steps/s" (no rate unless running, or
    not `rate`; a diverged run: "<label>: diverged at step <n>"); a run with a minute or more
    to go says how long instead of its rate: with both, a third of a row (why BN's noise view,
    zh) took two lines on a busy server and pushed its chart down."""
    state = ctx.tr(f"run.state.{snap.state}")
    if snap.state == "queued" and snap.queue_position:
        state = ctx.tr("run.queued_at", position=snap.queue_position)
    left = seconds_left(snap)
    if snap.state == "diverged":  # as its warning and legend say it, and on one line: "Far too
        # high: diverged · step 8 / 400" took two in a quarter of a row at 1280 (babysitting)
        text = ctx.tr("run.status_diverged", label=label, step=shown_step(snap))
    else:
        text = ctx.tr(
            "run.status"
            if rate and snap.state == "running" and left < TIME_LEFT_FROM_S
            else "run.status_idle",
            label=label,
            state=state,
            step=shown_step(snap),
            steps=snap.steps,
            rate=snap.steps_per_s,
        )
    lr = steered_lr(snap)
    if lr is not None:  # changed by hand while it trained: the sentence speaks of the settings'
        text += ctx.tr("run.steered", lr=lr)
    if left >= TIME_LEFT_FROM_S:  # a big run: slower than classroom pace promises (audit 5)
        text += ctx.tr("run.time_left", minutes=math.ceil(left / 60))
    return text


def seconds_left(snap: Snapshot) -> float:
    """A training run's time to its last step at its current rate (0: not training)."""
    if snap.state != "running" or not snap.steps_per_s > 0:
        return 0.0
    return (snap.steps - shown_step(snap)) / snap.steps_per_s


def run_problems(ctx: PageContext, label: str, snap: Snapshot, warn: bool = True) -> None:
    """A run's divergence (unless not `warn`), error or interruption, spelled out."""
    if snap.state == "diverged" and warn:
        st.warning(ctx.tr("run.diverged", label=label, step=snap.diverged_at))
    elif snap.state == "error":
        st.error(ctx.tr("run.error", label=label))
        if snap.error:  # the exception's own text, in English whatever the page's language
            st.caption(ctx.tr("run.error_detail", error=plain(snap.error, ERROR_CHARS)))
    elif snap.state == "interrupted":  # no checkpoint to resume from: Reset trains it again
        st.warning(ctx.tr("run.interrupted", label=label, step=snap.step))


def has_points(snaps: dict[str, Snapshot]) -> bool:
    """True once any run has recorded a training loss (a sweep: an evaluation) to draw."""
    return any(
        len(s.eval_step)
        if hasattr(s, "eval_step")
        else len(getattr(s, "losses", {}).get("step", ()))
        for s in snaps.values()
    )


def live_panel(
    ctx: PageContext,
    runs: dict[str, Run | None],
    labels: dict[str, str],
    draw: Callable[[dict[str, Snapshot]], None],
    streams: bool = False,
    warn: bool = True,
    one_line: bool = False,
) -> None:
    """Poll the runs twice a second while any is active and redraw; stop polling when done.

    The runs' status lines stand side by side, each over its own column, for views that draw
    one chart per run; `one_line` puts them on one line with one bar for views whose every
    chart shows all the runs (side by side, two lines over two charts read as one run each).

    Until a new pair has points, the last pair's charts stay on screen, greyed. A view whose
    charts stream (`streams`, when the server serves the live routes) is drawn once: its
    charts fetch their own new points and show the runs' progress, so nothing reruns per tick.
    """
    sched = scheduler()
    ids = {n: r.run_id for n, r in runs.items() if r is not None}
    if not ids:
        if not st.session_state.get(f"{ctx.name}.blocked"):  # else the warning says what to do
            st.info(ctx.tr("run.press_start"))
        return
    first = {n: sched.poll(i) for n, i in ids.items()}
    # the states the page drew: its buttons' (polled earlier in this run, by `controls`), else
    # these. CI: another tab's Resume reached one run between the two polls; the panel drew
    # both training and never reran, and the teacher's Pause and Resume both stayed enabled.
    buttons = st.session_state.pop(_buttons_key(ctx), {})
    drawn = {
        n: buttons.get(i) or state_class(getattr(first[n], "state", "")) for n, i in ids.items()
    }
    frozen = bool(st.session_state.get(f"{ctx.name}.freeze", False))
    last_key = f"{ctx.name}.last_snaps"
    polled = not (streams and streaming())
    # paused runs are asked too, less often: another tab of a shared run may resume them
    classes = set(drawn.values())
    every = POLL_S if "active" in classes else PAUSED_POLL_S if "paused" in classes else None

    @st.fragment(run_every=every if polled and not frozen else None)
    def panel() -> None:
        snaps = {n: sched.poll(i) for n, i in ids.items()}
        if any(s is None for s in snaps.values()):
            # reset in another tab: this tab's slots watch the new runs (Scheduler.reset), which
            # the page draws when it runs again; else dropped after a long idle time
            now = {n: sched.slots.get((session_id(), slot(ctx, n))) for n in ids}
            if any(now[n] not in (None, i) and sched.poll(now[n]) for n, i in ids.items()):
                st.rerun()
            st.info(ctx.tr("run.dropped"))
            return
        if polled and one_line:
            done = sum(min(1.0, s.progress) for s in snaps.values()) / len(snaps)
            rate = len(snaps) <= RATES_IN_A_ROW
            texts = [status_text(ctx, labels[n], s, rate) for n, s in snaps.items()]
            said = group_status(ctx, labels, snaps) or " | ".join(texts)
            st.progress(done, text=said)
            for name, snap in snaps.items():
                run_problems(ctx, labels[name], snap, warn)
        elif polled:  # bottom-aligned: a label on two lines leaves the bars level
            cols = st.columns(len(snaps), vertical_alignment="bottom")
            # three in a row leave out their rates: "repeats 1/2: training · step 20 / 200 ·
            # 10 steps/s" took two lines in a third of the row at 1280 px
            rate = len(snaps) <= RATES_IN_A_ROW
            for col, (name, snap) in zip(cols, snaps.items(), strict=True):
                said = status_text(ctx, labels[name], snap, rate)
                col.progress(min(1.0, snap.progress), text=said)
            for name, snap in snaps.items():  # under the row, so they move no bar
                run_problems(ctx, labels[name], snap, warn)
        else:  # the chart shows the status lines; a run's end reruns the page (below)
            for name, snap in snaps.items():
                run_problems(ctx, labels[name], snap, warn)
        for name, snap in snaps.items():  # a sweep cut by a restart: why it is back at step 0
            cut = getattr(runs[name], "restarted_at", None)
            if cut is not None and not snap.done:
                said = dict(label=labels[name], step=cut, steps=snap.steps)
                st.info(ctx.tr("run.restarted", **said), icon=":material/restart_alt:")
        stale = st.session_state.get(last_key)
        if not polled or has_points(snaps) or stale is None:  # streamed: draws itself once
            draw(snaps)
            st.session_state[last_key] = snaps
        else:
            with st.container(key="stale"):
                try:
                    draw(stale)
                except (IndexError, KeyError, ValueError):  # the old pair had another shape
                    st.session_state.pop(last_key, None)
        # a run ended, failed, paused or went on (here or in another tab of a shared run): the
        # page's buttons, warnings and timer change with it. A streamed chart reruns the panel
        # when it sees such a change (stream_chart.js).
        if not frozen and {n: state_class(s.state) for n, s in snaps.items()} != drawn:
            st.rerun()

    panel()


def freeze_toggle(ctx: PageContext) -> None:
    """Pause the live redraw to hover over points that would move (training goes on); sidebar."""
    key = f"{ctx.name}.freeze"
    value = shown(key, False)  # its default: as the pace toggle's
    st.toggle(ctx.tr("run.freeze"), value=value, key=key, help=ctx.tr("run.freeze_help"))


def sidebar(ctx: PageContext, cfg: RunConfig, runs: dict[str, Run | None], lr: bool = False):
    """The run's live settings in the sidebar: pace, pause redraw, and (lab) the live rate."""
    with st.sidebar:
        st.markdown(f"**{ctx.tr('run.while_training')}**")
        pace_toggle(ctx, runs)
        freeze_toggle(ctx)
        if lr and "lr" not in ctx.hidden and live_lr(ctx, cfg, runs):
            # an audit: the link, captioned "same settings and seed", gave a student the run
            # at the settings' rate with no hint that the class saw another
            ctx.link_notes.append(ctx.tr("run.steered_link", lr=f"{cfg.lr:.3g}"))
