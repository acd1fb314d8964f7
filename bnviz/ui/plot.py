"""Every chart of the app, live or not (st.components.v2 + Plotly.react): a live panel's is
redrawn in place, and every one grows on a taller window (assets/js/load_plotly.js) and has a
full-screen button in its toolbar.

st.plotly_chart ids each element by its figure, so every redraw of a live panel (twice a
second) mounted a new chart: the area went blank for 50 ms to 0.25 s each time, measured in
headless Chromium. `chart` keeps one element per key and hands it each new figure; the browser
redraws the same div. Without the server's routes (AppTest, a server started without st.App)
it is st.plotly_chart, so tests read the same figures.
"""

from __future__ import annotations

import json
from pathlib import Path

import plotly.io as pio
import streamlit as st

from bnviz.figures.theme import mark_lone_points
from bnviz.ui import live_routes
from bnviz.ui.stream_chart import LOAD_PLOTLY, script, streaming

JS_DIR = Path(__file__).resolve().parents[2] / "assets" / "js"
TEMPLATE = live_routes.TEMPLATE
# Streamlit sends an element's script again with every redraw: the theme (9 KB) comes from
# its own route instead, once per tab.
JS = (
    f"const TEMPLATE_URL = {json.dumps(live_routes.TEMPLATE_SRC)};\n"
    f"const PLOTLY_URL = {json.dumps(live_routes.PLOTLY_URL)};\n"
    + LOAD_PLOTLY
    + script(JS_DIR / "plot.js")
)
_component = st.components.v2.component(
    "bnviz_plot",
    js=JS,
    isolate_styles=False,  # plotly.js puts its hover and mode-bar styles into the document head
)


def spec(fig) -> bytes:
    """The figure as plotly JSON, made once per figure object: a figure from live.cached_figure
    is shared by every tab that shows it, so each poll serializes it once, not once per tab."""
    made = getattr(fig, "_bnviz_spec", None)
    if made is None:
        made = pio.to_json(mark_lone_points(fig), validate=False).encode()
        fig._bnviz_spec = made
    return made


def chart(where, fig, key: str) -> None:
    """Draw `fig` in `where` (st, a column, a container) as the element `key`, redrawn in place.

    The element's data is the figure's JSON as bytes, passed through as they are (a dict would
    be JSON-encoded again, string and all).
    """
    if not streaming():
        where.plotly_chart(mark_lone_points(fig), key=key)
        return
    if where is st:
        _component(key=key, data=spec(fig), height="content")
    else:
        with where:
            _component(key=key, data=spec(fig), height="content")


def template() -> dict:
    """The stored template (tests compare it with what Streamlit draws)."""
    return json.loads(TEMPLATE.read_text(encoding="utf-8"))
