"""bnviz/ui/plot.py without a browser: the bytes a steady chart is handed."""

import asyncio
import gzip
import hashlib
import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import plotly.graph_objects as go
import plotly.io as pio
from starlette.requests import Request

from bnviz.figures.theme import CHART_TEXT, contrast, projector_template
from bnviz.ui import live_routes, plot


def test_a_figure_is_serialized_once_and_as_plotly_would():
    fig = go.Figure(go.Scatter(y=[1.0, 2.0, 4.0]), layout={"height": 300, "title": {"text": "t"}})
    first = plot.spec(fig)
    assert plot.spec(fig) is first  # a shared (cached) figure: once for every tab
    assert json.loads(first) == json.loads(pio.to_json(fig, validate=False))
    other = go.Figure(go.Scatter(y=[1.0]))
    assert plot.spec(other) != first  # per figure object, not one global answer


def test_the_stored_template_is_streamlits_light_theme():
    template = plot.template()
    assert set(template) == {"data", "layout"}
    assert template["layout"]["paper_bgcolor"].upper() == "#FFFFFF"
    assert template["layout"]["colorway"][0] == "#0068c9"  # Streamlit's first chart color


def test_a_script_is_sent_without_its_comments_and_strings_keep_theirs(tmp_path):
    from bnviz.ui.stream_chart import script

    js = tmp_path / "a.js"
    js.write_text(
        '// a comment line\n  const a = 1; // after code\n  const u = "http: // x"; // c\n'
        "  const s = 'it // is'; const t = \"it's\"; // it's\n"
    )
    assert script(js) == (
        'const a = 1;\nconst u = "http: // x";\n'
        "const s = 'it // is'; const t = \"it's\"; // it's\n"  # unsure where a string ends: kept
    )


def test_the_theme_is_served_once_not_sent_with_every_redraw():
    """Streamlit sends a component's script with every redraw of the element (twice a second
    on a live panel): the 9 KB theme comes from its own cached route instead."""
    # 6.6 KB since the charts stretch with the window's height (load_plotly.js), 7.6 KB with
    # the toolbar's full-screen button, 8.3 KB with the reload of a page Streamlit dropped,
    # 8.9 KB with the browser's Back and Forward, 9.1 KB when a click keeps an address, 9.5 KB
    # with each chart named by its title for a screen reader, 10.2 KB with the toolbar's titles
    # in Chinese (the 0.6 KB of the seven strings a 2-D chart's toolbar and a zoom show), 10.5
    # KB when a figure's new locked axis ranges are drawn anew (audit 35)
    assert "paper_bgcolor" not in plot.JS and len(plot.JS) < 10_600, len(plot.JS)
    assert live_routes.TEMPLATE_SRC in plot.JS
    # sent without comment lines and indents (stream_chart.script): safe while no script has a
    # string spanning lines, a template literal
    assert not [js.name for js in plot.JS_DIR.glob("*.js") if "`" in js.read_text()]
    route = {r.path: r for r in live_routes.routes()}[live_routes.TEMPLATE_URL]
    request = Request({"type": "http", "method": "GET", "headers": [(b"accept-encoding", b"gzip")]})
    with ThreadPoolExecutor(1) as pool:  # a thread of its own: a browser test's loop may run here
        answer = pool.submit(asyncio.run, route.endpoint(request)).result()
    served = json.loads(gzip.decompress(answer.body))
    assert served == projector_template(plot.template())  # Streamlit's, its text for a projector
    assert "max-age" in answer.headers["cache-control"]
    # a changed template is a new URL, so no browser keeps the old one
    digest = hashlib.sha256(live_routes.TEMPLATE_BYTES).hexdigest()[:12]
    assert live_routes.TEMPLATE_SRC.endswith(digest)


def test_the_charts_text_is_14_px_and_dark_enough_for_a_projector():
    """Audit 25: Streamlit's theme drew every axis's numbers at 12 px in #808495 (3.7:1 on
    white), under the 14 px this app's figures assume. Every font the served theme sets is at
    least 14 px, and none is that grey (which stays in the stored theme: Streamlit's own)."""
    theme = projector_template(plot.template())
    fonts = []

    def walk(node, name=""):
        if isinstance(node, dict):
            if name.endswith("font"):
                fonts.append((name, node))
            for key, value in node.items():
                walk(value, key)

    walk(theme["layout"])
    assert {"tickfont", "font"} <= {name for name, _ in fonts}
    assert all(f.get("size", 14) >= 14 for _, f in fonts), fonts
    assert all(f.get("color", "").lower() != "#808495" for _, f in fonts), fonts
    axis = theme["layout"]["xaxis"]["tickfont"]
    assert axis == {"size": 14, "color": CHART_TEXT} and contrast(CHART_TEXT, "#FFFFFF") >= 7
    assert plot.template()["layout"]["xaxis"]["tickfont"]["size"] == 12  # Streamlit's, stored


def test_every_chart_of_the_app_is_drawn_by_plot_chart():
    """A chart drawn with st.plotly_chart keeps its 1280x720 height on a 1920x1080 projector
    (only plot.js stretches) and blanks on each redraw: only the two fallbacks for AppTest call
    it (plot.chart and the streamed chart's, without the server's routes)."""
    root = Path(__file__).resolve().parent.parent
    files = [root / "app.py", *root.glob("pages/*.py"), *root.glob("bnviz/**/*.py")]
    calls = {
        f"{f.relative_to(root)}:{n}"
        for f in files
        for n, line in enumerate(f.read_text(encoding="utf-8").splitlines(), 1)
        if ".plotly_chart(" in line
    }
    assert {c.split(":")[0] for c in calls} == {"bnviz/ui/plot.py", "bnviz/ui/stream_chart.py"}
    assert len(calls) == 2, calls
