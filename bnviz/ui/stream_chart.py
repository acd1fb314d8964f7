"""A live chart that streams new points into the browser (st.components.v2 + plotly.js).

The page mounts it once; the browser then asks bnviz/ui/live_routes.py for the points new
since its last answer and appends them, so the page script does not rerun per tick and zoom
survives updates. Without those routes (AppTest, a server started without st.App) the same
figure is drawn server-side with st.plotly_chart.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Mapping
from pathlib import Path

import streamlit as st

from bnviz import live_api
from bnviz.figures.live import live_figure
from bnviz.figures.theme import HERO_HEIGHT
from bnviz.stepper import TERMINAL, Snapshot
from bnviz.ui import live_routes
from bnviz.ui.common import PageContext

JS = Path(__file__).resolve().parents[2] / "assets" / "js" / "stream_chart.js"


def script(path: Path) -> str:
    """A component's script without its comments and indents: Streamlit sends the script
    again with every redraw of the element (twice a second on a live panel). The scripts have
    no multi-line strings (no template literals), so no indent is part of a value; a comment
    after code starts with " // " outside a string (an even number of quotes before it)."""
    lines = (_code(line).strip() for line in path.read_text(encoding="utf-8").splitlines())
    return "".join(line + "\n" for line in lines if line and not line.startswith("//"))


def _code(line: str) -> str:
    """The line without a comment after its code."""
    at = line.find(" // ")
    while at >= 0:
        before = line[:at]
        if before.count('"') % 2 == 0 and before.count("'") % 2 == 0:
            return before
        at = line.find(" // ", at + 1)
    return line


# loadPlotly(url), shared with bnviz/ui/plot.py's component: prepended to each one's script
LOAD_PLOTLY = script(JS.parent / "load_plotly.js")
STATES = ("queued", "running", "paused", "finished", "diverged", "error", "stopped", "interrupted")
HEIGHT = HERO_HEIGHT + 20  # px: the runs' status lines sit above it, all within 1280x720

SCRIPT = LOAD_PLOTLY + script(JS)  # the component's script, as the browser gets it
_component = st.components.v2.component(
    "bnviz_stream_chart", js=SCRIPT, isolate_styles=False
)  # no shadow root: plotly.js puts its hover and mode-bar styles into the document head


TIME_LEFT_FROM_S = 60.0  # a run with a minute or more to go says how long (status lines)


def _rerun() -> None:
    """A run has ended, paused or gone on since the page drew it: the page (or its live panel)
    reruns (stream_chart.js, `ended`)."""


def streaming() -> bool:
    """True when this process serves the live routes (st.App), so a browser can stream."""
    return live_routes.SERVED["routes"]


def live_url(snaps: Mapping[str, Snapshot], view: str, lang: str) -> str:
    """The route a chart asks, e.g. /bnviz/live?runs=plain:ID,bn:ID&view=loss&lang=en."""
    runs = ",".join(f"{name}:{snap.run_id}" for name, snap in snaps.items())
    query = urllib.parse.urlencode({"runs": runs, "view": view, "lang": lang}, safe=":,")
    return f"{live_routes.LIVE_URL}?{query}"


def stream_chart(
    ctx: PageContext,
    snaps: Mapping[str, Snapshot],
    view: str,
    key: str,
    labels: Mapping[str, str] | None = None,
    status_shown: bool = True,
) -> None:
    """The live chart of `view` ('loss', 'accuracy') for these runs: streamed, or drawn here.

    With `labels` (run name -> label) the streamed chart also shows each run's state, step and
    steps/s above the plot, updated from the same answers, so a live panel need not rerun;
    status_shown=False keeps their room but not the text (a chart beside one that shows them
    then starts at the same height).
    """
    if not streaming():
        traces = live_api.traces(snaps, view, {})
        fig = live_figure(traces, view, lang=ctx.lang, span=live_api.x_span(snaps))
        st.plotly_chart(fig, key=key)
        return
    data = {
        "src": live_url(snaps, view, ctx.lang),
        "names": list(snaps),
        "plotly": live_routes.PLOTLY_URL,
        "template": live_routes.TEMPLATE_SRC,  # Streamlit's chart theme, as plot.js applies it
        "height": HEIGHT,
        "busy": ctx.tr("run.live_busy", seconds="{seconds}"),
        "gone": ctx.tr("run.live_gone"),
        "seeking": ctx.tr("run.live_seeking"),
        "down": ctx.tr("run.live_down", seconds="{seconds}"),
        "states": {n: s.state for n, s in snaps.items()},  # a run that ends after: a rerun
        "ended": list(TERMINAL),
        # "Pause live updates (to hover)": asks nothing meanwhile (audit 15: the streamed
        # charts went on growing under the switched-on toggle)
        "frozen": bool(st.session_state.get(f"{ctx.name}.freeze", False)),
    }
    if labels:
        fields = ("label", "state", "step", "steps", "rate")
        data["status"] = {
            "template": ctx.tr("run.live_status", **{f: "{" + f + "}" for f in fields}),
            "idle": ctx.tr("run.live_status_idle", **{f: "{" + f + "}" for f in fields[:-1]}),
            "diverged": ctx.tr("run.status_diverged", label="{label}", step="{step}"),
            # until the first answer: plotly.js (4.7 MB) loads first in a new tab, 1-3 s in
            # which the view showed nothing under its tabs (audit 29)
            "loading": ctx.tr("run.live_loading"),
            "labels": dict(labels),
            "states": {s: ctx.tr(f"run.state.{s}") for s in STATES},
            "hidden": not status_shown,
            "steered": ctx.tr("run.steered", lr="{lr}"),
            "left": {
                "from": TIME_LEFT_FROM_S,
                "text": ctx.tr("run.time_left", minutes="{minutes}"),
            },
        }
    _component(key=key, data=data, height="content", on_ended_change=_rerun)
