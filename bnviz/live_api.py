"""Live chart answers: the points of a view new since a step, encoded once for every tab.

A chart in the browser asks "what is new since step N?" twice a second. 60 tabs watching the
same runs ask the same few questions, so each answer is built and JSON-encoded once per
snapshot and kept in a small LRU (the route then only copies bytes).
"""

from __future__ import annotations

import gzip
import json
import math
import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping

import numpy as np

from bnviz.figures.live import AXES, DIVERGED, live_figure
from bnviz.figures.theme import log_axis
from bnviz.stepper import TERMINAL, Snapshot

MAX_POINTS = 1000  # per trace over the whole run (plotly stays smooth; JSON stays small)
HEADROOM = 100  # a log view's axis ends this many times above the runs' highest first value
# view -> the (table, column) series drawn for every run, in trace order
SERIES: dict[str, tuple[tuple[str, str], ...]] = {
    "loss": (("losses", "loss"), ("evals", "train_loss"), ("evals", "test_loss")),
    "accuracy": (("evals", "train_acc"), ("evals", "test_acc")),
}


def stride(snap: Snapshot, table: str) -> int:
    """Keep every stride-th step of a table so a whole run has ≤ MAX_POINTS points."""
    every = 1 if table == "losses" else max(1, snap.config.eval_every)
    return max(1, math.ceil(max(snap.steps, 1) / every / MAX_POINTS))


def points(snap: Snapshot, table: str, column: str, since: int) -> tuple[list, list]:
    """(x, y) of one series from step `since` on, on a fixed step grid, float32-rounded.

    A snapshot at step count N holds every row recorded before step N: losses and telemetry
    are stamped with the 0-based step that made them, an evaluation at N runs just before
    step N+1. So "new since N" is every row stamped N or later.
    """
    rows = getattr(snap, table)
    steps = rows.get("step")
    if steps is None or column not in rows or len(steps) == 0:
        return [], []
    keep = steps >= since
    grid = stride(snap, table) * (1 if table == "losses" else max(1, snap.config.eval_every))
    if grid > 1:  # a fixed grid: increments line up with what the tab already holds
        keep &= (steps % grid == 0) | (steps == snap.steps)
    x, y = steps[keep], rows[column][keep]
    if len(x) > MAX_POINTS:  # a tab that was away long: strided, the last point kept
        idx = np.unique(np.append(np.linspace(0, len(x) - 1, MAX_POINTS).astype(int), len(x) - 1))
        x, y = x[idx], y[idx]
    return x.tolist(), rounded(y)


def rounded(values: np.ndarray) -> list:
    """float32 precision (6 significant digits) as JSON numbers; NaN and Inf become null."""
    return [float(f"{v:.6g}") if math.isfinite(v) else None for v in values.tolist()]


def traces(snaps: Mapping[str, Snapshot], view: str, since: Mapping[str, int]) -> list[dict]:
    """One record per trace of the view (runs in order × SERIES[view], then the run's
    divergence mark) with its new points."""
    out = []
    top = ceiling(snaps, view) if not since else None
    for name, snap in snaps.items():
        for table, column in SERIES[view]:
            x, y = points(snap, table, column, since.get(name, 0))
            out.append({"run": name, "table": table, "column": column, "x": x, "y": y})
        x, y = diverged_mark(snap, view) if not since else ([], [])
        mark = {"run": name, "table": DIVERGED, "column": SERIES[view][0][1], "x": x, "y": y}
        if top is not None and y and y[0] > top:  # drawn on the axis's top edge, said in hover
            mark.update(y=[top], reached=y)
        out.append(mark)
    return out


def ceiling(snaps: Mapping[str, Snapshot], view: str) -> float | None:
    """Where a log view's axis stops: HEADROOM times the highest first value of any run's
    series, or higher if a run that has not diverged went higher (None for a linear view or
    before any finite value). Only a diverged run's values are cut there.

    A run that diverges climbs to 10^30 before its loss is NaN; an axis spanning that left the
    other run's curve a flat line along the bottom (lr 10, ReLU, large init, 6 layers: the
    no-BN loss went 6,660 -> 4·10^29 -> NaN, the BN run's 300 -> 0.5 was unreadable). Above
    the ceiling its curve leaves the chart at the top, where its "diverged" mark stands. A run
    that trains, however high its loss goes (lr 10, tanh: BN's test loss 0.76 -> 196), is
    drawn whole (audit 20: cut at 100x its first loss, its peaks flat along the top).
    """
    if AXES[view]["yaxis"].get("type") != "log":
        return None
    firsts, highest = [], []
    for snap in snaps.values():
        for table, column in SERIES[view]:
            y = np.asarray(getattr(snap, table).get(column, ()), float)
            finite = y[np.isfinite(y) & (y > 0)]
            firsts += finite[:1].tolist()
            if snap.state != "diverged":
                highest += finite.max(initial=0.0, keepdims=True).tolist()
    if not firsts:
        return None
    return float(f"{max([HEADROOM * max(firsts), *highest]):.6g}")


def diverged_mark(snap: Snapshot, view: str) -> tuple[list, list]:
    """Where a diverged run's curve ends: its last finite point of the view's first series.

    A run that diverges within a few steps drew a line hidden against the y axis (x = 0 to 5
    on an axis to 1500), and on the accuracy chart a single point that a line does not show.
    The mark (an x labelled "diverged") comes with a whole figure only, never with points: a
    divergence reruns the page, whose warning above the charts mounts them afresh, and a fresh
    chart's first answer is the whole figure (tests/test_browser_stream.py watches it happen).
    """
    if snap.state != "diverged":
        return [], []
    table, column = SERIES[view][0]
    rows = getattr(snap, table)
    x, y = np.asarray(rows.get("step", ())), np.asarray(rows.get(column, ()), float)
    finite = np.flatnonzero(np.isfinite(y))
    if not len(finite):
        return [], []
    last = finite[-1]
    return [int(x[last])], rounded(y[last : last + 1])


def increment(snaps: Mapping[str, Snapshot], view: str, since: Mapping[str, int]) -> dict:
    """The answer to "what is new since these steps": only traces that gained points."""
    found = traces(snaps, view, since)
    index = [i for i, tr in enumerate(found) if tr["x"]]
    return {
        **status(snaps),
        "index": index,
        "x": [found[i]["x"] for i in index],
        "y": [found[i]["y"] for i in index],
        "yticks": y_ticks(snaps, view),
        "xspan": x_span(snaps),
    }


def y_ticks(snaps: Mapping[str, Snapshot], view: str) -> dict:
    """The y axis's ticks of a log view (the loss) over every value the runs hold up to the
    view's ceiling, as theme.log_axis labels a figure drawn whole ({} for a linear axis or no
    data yet); and, once a value passes the ceiling, the autorange clip that stops the axis there.

    The browser sets them as the axis grows: plotly's own small "2" and "5" between powers of
    ten read as values on a projector.
    """
    top = ceiling(snaps, view)
    if top is None:
        return {}
    series = SERIES[view]
    values = [
        np.asarray(getattr(s, t).get(c, ()), float) for s in snaps.values() for t, c in series
    ]
    axis = log_axis(*(np.minimum(v, top) for v in values))
    ticks = {k: axis[k] for k in ("tickvals", "ticktext") if k in axis}
    if any(np.any(v[np.isfinite(v)] > top) for v in values):
        ticks["autorangeoptions"] = {"clipmax": top}
    return ticks


def x_span(snaps: Mapping[str, Snapshot]) -> int:
    """The step every live chart of these runs spans to: the runs' first evaluation (from the
    start), or the last step with a loss, whichever is later. The loss and accuracy charts
    side by side end at the same step (the accuracy chart ended at the last evaluation)."""
    first = (min(s.config.eval_every, s.steps) for s in snaps.values())
    last = (int(steps[-1]) for s in snaps.values() if len(steps := s.losses.get("step", ())))
    return max([*first, *last], default=0)


def first_paint(snaps: Mapping[str, Snapshot], view: str, lang: str) -> dict:
    """The whole figure for the current snapshots (a tab's first answer)."""
    span = x_span(snaps)
    fig = live_figure(traces(snaps, view, {}), view, lang=lang, span=span)
    ticks = y_ticks(snaps, view)
    fig.update_yaxes(**ticks)
    return {**status(snaps), "figure": fig.to_plotly_json(), "yticks": ticks, "xspan": span}


def shown_step(snap) -> int:
    """The step a run's status line names: steps completed, but for a diverged run the step
    whose loss was not finite (Snapshot.diverged_at, 1-based, one more than the steps completed),
    the N of every "diverged at step N" on the page."""
    if snap.state == "diverged" and snap.diverged_at is not None:
        return snap.diverged_at
    return snap.step


def steered_lr(snap: Snapshot) -> float | None:
    """The learning rate a run trains at now, if changed by hand from its settings' (else None)."""
    lr, cfg = getattr(snap, "lr", math.nan), getattr(snap, "config", None)
    if cfg is None or not math.isfinite(lr) or math.isclose(lr, cfg.lr, rel_tol=1e-6):
        return None
    return float(f"{lr:.3g}")


def status(snaps: Mapping[str, Snapshot]) -> dict:
    """Step, planned steps, state, steps/s of each run; whether all ended (then no more asks)."""
    return {
        "step": {n: s.step for n, s in snaps.items()},  # "new since": steps completed
        "shown": {n: shown_step(s) for n, s in snaps.items()},  # the status line's step
        "steps": {n: s.steps for n, s in snaps.items()},
        "state": {n: s.state for n, s in snaps.items()},
        "rate": {n: round(s.steps_per_s, 1) for n, s in snaps.items()},
        "steered": {n: lr for n, s in snaps.items() if (lr := steered_lr(s)) is not None},
        "done": all(s.state in TERMINAL for s in snaps.values()),
    }


def encode(answer: dict) -> bytes:
    """Compact JSON bytes."""
    return json.dumps(answer, separators=(",", ":"), allow_nan=False).encode()


def parse_since(text: str | None, names: list[str]) -> dict[str, int] | None:
    """'120,118' -> {'plain': 120, 'bn': 118}; None (a first paint) when absent or malformed."""
    if not text:
        return None
    try:
        values = [int(v) for v in text.split(",")]
    except ValueError:
        return None
    return dict(zip(names, values, strict=False)) if len(values) == len(names) else None


# ---------------------------------------------------------------------------- shared answers


class AnswerCache:
    """A bounded LRU of encoded answers (plain and gzip), shared by every tab."""

    def __init__(self, size: int = 512):
        self.size = size
        self._items: OrderedDict[tuple, tuple[bytes, bytes]] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = self.misses = 0

    def get(self, key: tuple, make: Callable[[], bytes]) -> tuple[bytes, bytes]:
        """(json, gzipped json) for key, made by make() the first time it is asked for."""
        with self._lock:
            found = self._items.get(key)
            if found is not None:
                self._items.move_to_end(key)
                self.hits += 1
                return found
        body = make()
        value = (body, gzip.compress(body, compresslevel=5, mtime=0))
        with self._lock:
            self.misses += 1
            self._items[key] = value
            while len(self._items) > self.size:
                self._items.popitem(last=False)
        return value


def answer_key(snaps: Mapping[str, Snapshot], view: str, since, lang: str) -> tuple:
    """What an answer depends on: each run's snapshot identity, the view, since (and lang)."""
    runs = tuple((n, s.run_id, s.taken_at, s.state, s.step) for n, s in snaps.items())
    since_key = None if since is None else tuple(since.get(n, 0) for n in snaps)
    return (runs, view, since_key, lang if since is None else "")


CACHE = AnswerCache()


def answer(
    snaps: Mapping[str, Snapshot], view: str, since: Mapping[str, int] | None, lang: str
) -> tuple[bytes, bytes]:
    """The encoded answer (json, gzip) for these snapshots, shared through CACHE."""
    if since is None:
        make = lambda: encode(first_paint(snaps, view, lang))  # noqa: E731
    else:
        make = lambda: encode(increment(snaps, view, since))  # noqa: E731
    return CACHE.get(answer_key(snaps, view, since, lang), make)
