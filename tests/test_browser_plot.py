"""Real headless Chromium: a live panel's charts are redrawn in place, never blank, themed as
Streamlit themes its own charts (bnviz/ui/plot.py)."""

import json
import os
import re
from pathlib import Path

import plotly.io
import pytest

from bnviz.figures.theme import projector_template
from bnviz.ui import plot
from tests.browser_support import (
    no_exception,
    open_page,
    pause_if_running,
    start_streamlit,
    stop_server,
)

pytestmark = pytest.mark.browser

PLOT = ".bnviz-plot .js-plotly-plot"
SAMPLE = f"""() => [...document.querySelectorAll('{PLOT}')].map(p => {{
  const r = p.getBoundingClientRect(); let hidden = false;
  for (let e = p; e; e = e.parentElement) {{
    const s = getComputedStyle(e);
    if (s.display === 'none' || s.visibility === 'hidden') hidden = true;
  }}
  return {{height: r.height, hidden, traces: p.querySelectorAll('.scatterlayer .trace').length,
           draws: +p.parentElement.dataset.draws}};
}})"""


def test_a_live_chart_is_redrawn_in_place_and_never_blank(tab, server):
    """The lab's Distributions view polls twice a second. As st.plotly_chart its chart was
    unmounted and mounted again on each redraw: blank for 50 ms to 0.25 s each time. Sampled
    every 20 ms for 5 s, the chart is there in every sample, the same element throughout, and
    it has taken new figures (the run trains on open); a zoom survives them."""
    page = open_page(tab, server + "/batchnorm_lab?steps=20000&seed=31&view=percentiles")
    redrawn = f"() => +document.querySelector('{PLOT}')?.parentElement.dataset.draws >= 2"
    page.wait_for_function(redrawn, timeout=60_000)
    page.evaluate(f"() => {{ window.__bnvizFirst = document.querySelector('{PLOT}'); }}")
    first = page.evaluate(SAMPLE)[0]["draws"]
    samples = []
    for _ in range(250):
        samples.append(page.evaluate(SAMPLE))
        page.wait_for_timeout(20)
    blank = [i for i, s in enumerate(samples) if not s or s[0]["hidden"] or s[0]["height"] < 100]
    assert not blank, (len(blank), [samples[i] for i in blank[:3]])
    assert all(s[0]["traces"] > 0 for s in samples)
    assert page.evaluate(f"() => window.__bnvizFirst === document.querySelector('{PLOT}')")
    assert samples[-1][0]["draws"] >= first + 4, (first, samples[-1])  # ~10 redraws in 5 s
    # themed as Streamlit themes its charts, its text for a projector, from the template's
    # route (fetched once)
    assert page.evaluate(f"() => document.querySelector('{PLOT}').layout.template") == (
        projector_template(plot.template())
    )
    fetched = page.evaluate(
        "() => performance.getEntriesByType('resource')"
        ".filter(e => e.name.includes('/bnviz/chart_template.json')).length"
    )
    assert fetched == 1, fetched
    # a zoom dragged at a person's pace (a second, over two redraws) takes, and survives the
    # next redraws: a redraw during the drag ended it (plot.js holds the figure till release).
    # Dragged on the first panel's own drag layer: plotly does not keep its panels' layers in
    # one order, and a drag on the BN panel zoomed its axis, xaxis2 (this test once failed so).
    state = f"""() => {{ const p = document.querySelector('{PLOT}');
      return [p.layout.xaxis.range, ({SAMPLE})()[0].draws, p.layout.xaxis.autorange,
              p === window.__bnvizFirst]; }}"""
    box = page.locator(f'{PLOT} .nsewdrag[data-subplot="xy"]').bounding_box()
    x, y = box["x"] + box["width"] * 0.2, box["y"] + box["height"] * 0.5
    before = page.evaluate(state)[1]
    page.mouse.move(x, y)
    page.mouse.down()
    for k in range(1, 11):
        page.mouse.move(x + 12 * k, y + 1)
        page.wait_for_timeout(100)
    page.mouse.up()
    page.wait_for_timeout(300)
    zoom, drawn, auto, same = page.evaluate(state)
    assert zoom and auto is False and same, (zoom, auto, same, f"draws {before}->{drawn}")
    page.wait_for_function(f"() => ({SAMPLE})()[0].draws >= {drawn + 3}", timeout=30_000)
    assert page.evaluate(state)[0] == zoom
    no_exception(page)
    pause_if_running(page)


# Streamlit runs an element's calls asynchronously and may run an earlier call's cleanup after
# the next call has taken the element: here, in that order, on a div of this test's own
LATE_CLEANUP = """async ([js, spec, leaveMs]) => {
  const url = URL.createObjectURL(new Blob([js], {type: "text/javascript"}));
  const mount = (await import(url)).default;
  const el = document.createElement("div");
  el.style.width = "600px";
  document.body.appendChild(el);
  const first = mount({data: spec, parentElement: el});
  const second = mount({data: spec, parentElement: el});
  const root = el.querySelector(".bnviz-plot");
  first();  // late: the second call holds the element
  const wait = (ms) => new Promise((r) => setTimeout(r, ms));
  for (let i = 0; i < 100 && !root.dataset.draws; i++) await wait(100);
  await wait(leaveMs + 500);
  const kept = {draws: +root.dataset.draws || 0, same: el.querySelector(".bnviz-plot") === root,
    box: !!el.__bnvizPlot, traces: root.querySelectorAll(".scatterlayer .trace").length};
  el.remove();  // unmounted: the element leaves the page, then its cleanup
  second();
  await wait(leaveMs + 500);
  return {kept, left: {box: !!el.__bnvizPlot, purged: !root.querySelector(".main-svg")}};
}"""


def test_a_late_cleanup_leaves_the_chart_drawn(tab, server):
    """CI, babysitting: a finished run's chart stayed blank for 90 s (plotly.js loaded, the
    element there, never drawn). Streamlit had run an earlier call's cleanup after the next
    call took the element, and the cleanup tore the chart down; nothing reran a finished page.
    A cleanup now tears down only an element that has left the page."""
    import plotly.graph_objects as go

    page = open_page(tab, server + "/babysitting")
    page.wait_for_function("() => !!window.Plotly", timeout=60_000)
    spec = plot.spec(go.Figure(go.Scatter(y=[1.0, 3.0, 2.0]), layout={"height": 300}))
    leave_ms = int(re.search(r"const LEAVE_MS = (\d+);", plot.JS).group(1))
    seen = page.evaluate(LATE_CLEANUP, [plot.JS, spec.decode(), leave_ms])
    assert seen["kept"] == {"draws": 1, "same": True, "box": True, "traces": 1}, seen
    assert seen["left"] == {"box": False, "purged": True}, seen  # no leak once it is gone
    no_exception(page)


THEMED = """import plotly.graph_objects as go
import streamlit as st

st.plotly_chart(go.Figure(go.Scatter(y=[1.0, 3.0, 2.0])))
"""


def test_streamlit_theme_is_the_stored_template(tab, tmp_path):
    """A chart takes Streamlit's chart theme from assets/js/streamlit_template.json: here read
    again from an st.plotly_chart that Streamlit draws (a one-line app of its own, served with
    the project's .streamlit/config.toml: no page of the app draws with st.plotly_chart now).
    An upgrade that changes the theme fails here; BNVIZ_WRITE_TEMPLATE=1 stores the new one."""
    script = tmp_path / "themed.py"
    script.write_text(THEMED, encoding="utf-8")
    proc, url = start_streamlit(script)
    try:
        tab.goto(url)
        chart = '[data-testid="stPlotlyChart"] .js-plotly-plot'
        tab.wait_for_selector(f"{chart} .main-svg", timeout=60_000)
        drawn = tab.evaluate(f"() => document.querySelector('{chart}').layout.template")
    finally:
        stop_server(proc, 20)
    if os.environ.get("BNVIZ_WRITE_TEMPLATE"):
        text = json.dumps(drawn, indent=1, sort_keys=True, ensure_ascii=False) + "\n"
        plot.TEMPLATE.write_text(text, encoding="utf-8")
    assert drawn == plot.template()


def test_switching_views_raises_no_error_in_the_page(tab, server):
    """Leaving a view of live charts: the chart being swapped out was hidden while its size
    watcher still fired, and plotly.js threw "Resize must be passed a displayed plot div
    element" (an uncaught error in the page, on six views in a browser audit)."""
    errors: list[str] = []
    page = open_page(tab, server + "/why_bn?view=smooth&seed=37")

    def on_error(exc):
        errors.append(str(exc))

    page.on("pageerror", on_error)
    page.wait_for_function(f"() => document.querySelectorAll('{PLOT}').length >= 3", timeout=60_000)
    for label in ("Santurkar's test", "Smoothness", "Covariate shift", "Smoothness"):
        page.locator('[data-testid="stButtonGroup"] button').filter(has_text=label).first.click()
        page.wait_for_timeout(1500)
    page.remove_listener("pageerror", on_error)  # the tab goes on to the next test
    no_exception(page)
    assert not errors, errors


# plotly.js fails to arrive as a script twice, or its first draw throws, or the theme's
# request hangs: each left a finished run's chart blank (nothing reruns a finished page)
ONE_FAILED_DRAW = """(() => {  // Plotly.react rejects its first call
  let real;
  Object.defineProperty(window, "Plotly", { configurable: true, get: () => real, set: (P) => {
    const react = P.react;
    let calls = 0;
    P.react = function (...args) {
      calls += 1;
      window.__bnvizReactCalls = calls;
      return calls === 1 ? Promise.reject(new Error("a failed draw")) : react.apply(this, args);
    };
    real = P;
  } });
})()"""


def _counted(failed: list[str], failure: str | None):
    """A route handler (one argument: playwright passes the request to a second) failing the
    first two requests as `failure` says, each noted in `failed`; None: never answering."""

    def handle(route):
        if failure is None:
            failed.append(route.request.url)
        elif len(failed) < 2 and failure != "draw_throws":
            failed.append(route.request.url)
            if failure == "aborted":
                route.abort()
            else:
                body = "<!doctype html><p>busy"
                route.fulfill(status=200, content_type="text/html", body=body)
        else:
            route.continue_()

    return handle


def test_a_chart_whose_plotly_did_not_load_tries_again(browser, tab, server):
    """CI: a finished run's chart stayed blank for 90 s under load, twice: plotly.js had not
    loaded and nothing asked again (a finished run's page does not rerun). Here the first two
    requests for plotly.js fail, or return a page instead of the script (its onload fired with
    no Plotly defined), or the theme is never sent (drawn after 10 s in plotly's plain style),
    or the first draw throws; the chart is drawn all the same. One tab opens the page once per
    failure (a new tab per failure started a renderer each time)."""
    from bnviz.ui.live_routes import PLOTLY_URL, TEMPLATE_URL

    url = server + "/babysitting?seed=35"  # ln C: two one-step runs, finished at once
    drawn = "() => [...document.querySelectorAll('.bnviz-plot')].some(r => +r.dataset.draws > 0)"
    first = open_page(tab, url)
    first.wait_for_function(drawn, timeout=60_000)  # the runs have finished
    page = browser.new_page(locale="en-US", viewport={"width": 1280, "height": 720})
    try:  # the failed draw last: an init script stays for every later load of the tab
        for failure in ["aborted", "not_a_script", "theme_hangs", "draw_throws"]:
            failed: list[str] = []
            page.unroute_all(behavior="ignoreErrors")
            if failure == "theme_hangs":  # the template's request is never answered
                page.route(f"**{TEMPLATE_URL}*", _counted(failed, None))
            else:
                page.route(f"**{PLOTLY_URL}*", _counted(failed, failure))
            if failure == "draw_throws":
                page.add_init_script(ONE_FAILED_DRAW)
            page.goto(url)  # finished: one script run, one figure, no rerun to draw it again
            page.wait_for_function(drawn, timeout=60_000)
            assert len(failed) == {"draw_throws": 0, "theme_hangs": 1}.get(failure, 2), failure
            if failure == "draw_throws":  # the first draw failed, a second one drew
                assert page.evaluate("() => window.__bnvizReactCalls") >= 2
            no_exception(page)
    finally:
        page.close()


BLANK = "() => document.getElementById('root').replaceChildren()"  # what React left: nothing


def test_a_page_streamlit_dropped_is_reloaded_with_its_settings(tab, server):
    """CI: after a Reset on the lab's Distributions, Streamlit's page threw ("'setIn' cannot be
    called on an ElementNode"), React dropped the whole app, and the teacher's tab stayed
    white for 90 s. The charts' script reloads a page left empty (assets/js/load_plotly.js):
    the same link, so the same settings. Here the page is emptied as that error empties it."""
    url = server + "/batchnorm_lab?steps=200&seed=38&view=percentiles"
    page = open_page(tab, url)
    page.wait_for_selector(PLOT, timeout=60_000)
    page.evaluate("() => { window.__bnvizBefore = true; }")
    page.evaluate(BLANK)
    page.wait_for_function("() => !window.__bnvizBefore", timeout=30_000)  # a new page
    page.wait_for_selector('[data-testid="stMain"] h1', timeout=60_000)
    page.wait_for_selector(PLOT, timeout=60_000)
    assert page.url == url
    no_exception(page)
    # a page that keeps going blank is not reloaded for ever: 3 reloads a minute at most
    page.evaluate("() => { window.__bnvizBefore = true; }")
    page.evaluate("() => sessionStorage.setItem('bnvizRevived', JSON.stringify([1, 2, 3]"
                  ".map(() => Date.now())))")  # fmt: skip
    page.evaluate(BLANK)
    page.wait_for_timeout(4000)  # 1.5 s is the wait before a reload
    assert page.evaluate("() => window.__bnvizBefore === true"), "reloaded a 4th time"
    page.evaluate("() => sessionStorage.removeItem('bnvizRevived')")  # the next test's tab


FULL = """() => { const e = document.fullscreenElement;
  return e && [e.getBoundingClientRect().height, e._fullLayout.height, innerHeight]; }"""


@pytest.mark.parametrize(
    ("path", "chart"),
    [
        ("why_bn", ".bnviz-plot .js-plotly-plot"),
        ("batchnorm_lab?seed=28", ".bnviz-live .js-plotly-plot"),
    ],
)
def test_a_chart_goes_full_screen_from_its_toolbar_and_comes_back(tab, server, path, chart):
    """Audit 19b: st.plotly_chart's toolbar had "Fullscreen", and a teacher enlarges one chart
    on the projector; the app's charts (plot.js, the streamed ones) had none. Their toolbar has
    it now (and no "Share chart..." to plotly's cloud: the streamed charts showed one)."""
    page = open_page(tab, f"{server}/{path}", 1280, 720)
    plot = page.locator(chart).first
    plot.locator(".modebar-btn").first.wait_for(state="attached", timeout=60_000)
    titles = plot.evaluate("p => [...p.querySelectorAll('.modebar-btn')].map(b => b.dataset.title)")
    assert "Share chart..." not in titles and "Full screen (Esc leaves)" in titles, titles
    before = plot.evaluate("p => [p.getBoundingClientRect().height, p._fullLayout.height]")
    assert before[0] < 600, before
    plot.hover()
    plot.locator('[data-title="Full screen (Esc leaves)"]').click()
    page.wait_for_function(f"() => {{ const f = ({FULL})(); return f && f[1] === f[2]; }}")
    height, drawn, window = page.evaluate(FULL)
    assert height == window == drawn == 720
    page.evaluate("() => document.exitFullscreen()")
    page.wait_for_function("() => !document.fullscreenElement")
    page.wait_for_function(
        "([sel, h]) => document.querySelector(sel)._fullLayout.height === h", arg=[chart, before[1]]
    )
    assert plot.evaluate("p => p.getBoundingClientRect().height") == before[0]
    no_exception(page)
    if "lab" in path:
        pause_if_running(page)


def _histograms(steps: list[int]) -> list[str]:
    """The lab's histogram figure of one pair after each of `steps` (0: none taken), as JSON."""
    import plotly.io as pio

    from bnviz.config import RunConfig
    from bnviz.figures import lab as lab_figs
    from bnviz.lessons.batchnorm_lab import pair
    from bnviz.stepper import Stepper

    cfg = RunConfig(dataset="moons", depth=2, width=8, steps=3000, log_every=100)
    steppers = {name: Stepper(name, c) for name, c in pair(cfg).items()}
    out = []
    for n in steps:
        for s in steppers.values():
            s.advance(max_steps=n - s.step) if n > s.step else None
        snaps = {name: s.snapshot() for name, s in steppers.items()}
        out.append(pio.to_json(lab_figs.histogram_figure(snaps, lang="en"), validate=False))
    return out


def test_a_chart_that_waited_for_its_first_sample_follows_the_run(tab):
    """A teacher's pass: the lab's histograms opened on a fresh server drew "Waiting for
    data…", then step 0's sample (its step axis set from 0 to the next sample), then the run:
    plotly.js (one uirevision for every redraw) gave the later figures, which set no range, the
    empty chart's −1 to 6, and the class saw steps −1 to 6 for the whole run. The app's three
    figures, prepared as the chart script prepares each (load_plotly.js themed), drawn in turn
    with plotly.js into one chart."""
    figures = _histograms([0, 13, 450])
    source = (plot.JS_DIR / "load_plotly.js").read_text(encoding="utf-8")
    themed = re.search(r"^function themed\(.*?^\}$", source, re.S | re.M).group(0)
    tab.set_content("<div id='p' style='width:800px;height:400px'></div>")
    plotly_js = Path(plotly.io.__file__).parents[1] / "package_data" / "plotly.min.js"
    tab.add_script_tag(path=str(plotly_js))
    ranges = tab.evaluate(
        f"""async (figures) => {{ {themed}
        const gd = document.getElementById('p'), ranges = [];
        for (const f of figures) {{
          const fig = themed(JSON.parse(f), {{}});
          await Plotly.react(gd, fig.data, fig.layout);
          ranges.push(gd._fullLayout.xaxis.range);
        }}
        return ranges; }}""",
        figures,
    )
    _, first, later = ranges
    assert first == [-4, 100], ranges  # step 0's sample, to the next one's step
    assert later[0] == 0 and later[1] >= 400, ranges  # the run, from step 0 (not −50)


X_RANGES = """() => [...document.querySelectorAll('.bnviz-plot .js-plotly-plot')]
  .filter(p => p.querySelector('.contourlayer path'))
  .map(p => p._fullLayout.xaxis.range.map(v => +(+v).toFixed(2)))"""


def test_a_preset_s_contours_are_drawn_over_their_own_range_not_the_last_one_s(tab, server):
    """Audit 35: after "Shifted", "Same scale" (whose sentence says both panels are identical)
    drew its raw panel over Shifted's w₁ range, -2.6 to 6.5 against -2.45 to 4.44: Plotly.react
    onto axes locked by scaleanchor kept the old range. A figure with new locked ranges is
    drawn anew."""
    from bnviz.i18n import t
    from tests.browser_support import click_preset, settle

    page = open_page(tab, f"{server}/standardization", 1280, 720)
    page.wait_for_function(f"() => ({X_RANGES})().length === 2", timeout=60_000)
    click_preset(page, t("standardization.preset.shifted"))
    settle(page)
    page.wait_for_function(  # Shifted: the raw panel spans more than the standardized one
        f"() => {{ const [a, b] = ({X_RANGES})(); return a && b && a[1] - b[1] > 1; }}",
        timeout=30_000,
    )
    click_preset(page, t("standardization.preset.same"))
    settle(page)
    page.wait_for_timeout(1500)  # both panels' new figures drawn
    raw, standardized = page.evaluate(X_RANGES)
    assert raw == standardized, (raw, standardized)
    no_exception(page)
