"""Real headless Chromium: the lab's loss chart streams new points and keeps the user's zoom."""

import contextlib
import re

import pytest

from bnviz import live_api
from bnviz.ui import stream_chart
from tests.browser_support import SHOTS, no_exception, open_page, pause_if_running, settle

pytestmark = pytest.mark.browser

PLOT = ".bnviz-live .js-plotly-plot"
UPDATES = f"() => +(document.querySelector('{PLOT}')?.parentElement.dataset.updates || 0)"


def lengths(page) -> list[int]:
    return page.evaluate(f"() => document.querySelector('{PLOT}').data.map(t => t.x.length)")


LATE_CLEANUP = """async ([js, leaveMs]) => {  // as tests/test_browser_plot.py's, on the lab's data
  const url = URL.createObjectURL(new Blob([js], {type: "text/javascript"}));
  const mount = (await import(url)).default;
  const data = document.querySelector(".bnviz-live").parentElement.__bnvizLive.data;
  const el = document.createElement("div");
  document.body.appendChild(el);
  const call = () => mount({data, parentElement: el, setTriggerValue: () => {}});
  const first = call();
  const second = call();
  const live = el.__bnvizLive;
  first();  // late: the second call holds the element
  const wait = (ms) => new Promise((r) => setTimeout(r, ms));
  await wait(leaveMs + 500);
  const updates = () => +live.root.dataset.updates || 0;
  const before = updates();
  for (let i = 0; i < 100 && updates() < before + 2; i++) await wait(100);
  const kept = {same: el.__bnvizLive === live, stopped: live.stopped, more: updates() > before};
  el.remove();  // unmounted: the element leaves the page, then its cleanup
  second();
  await wait(leaveMs + 500);
  return {kept, left: {live: !!el.__bnvizLive, stopped: live.stopped}};
}"""


def test_a_late_cleanup_leaves_the_chart_streaming(tab, server):
    """Streamlit may run an earlier call's cleanup after the next call has taken the element;
    the cleanup stopped the chart's requests, and a training run's chart stood still until the
    page next reran (the lab's streamed page reruns only when a run's state changes)."""
    page = open_page(tab, server + "/batchnorm_lab?steps=20000&seed=24")
    page.wait_for_function(f"{UPDATES} >= 2", timeout=60_000)
    leave_ms = int(re.search(r"const LEAVE_MS = (\d+);", stream_chart.SCRIPT).group(1))
    seen = page.evaluate(LATE_CLEANUP, [stream_chart.SCRIPT, leave_ms])
    assert seen["kept"] == {"same": True, "stopped": False, "more": True}, seen
    assert seen["left"] == {"live": False, "stopped": True}, seen  # no requests once it is gone
    no_exception(page)
    pause_if_running(page)


def test_loss_chart_streams_points_and_zoom_survives_ten_updates(tab, server):
    page = open_page(tab, server + "/batchnorm_lab?steps=20000&seed=23")  # trains on open
    no_exception(page)
    page.wait_for_function(f"{UPDATES} >= 2", timeout=60_000)  # points arrive by fetch
    before = lengths(page)
    zoom = [5, 60]
    page.evaluate(
        f"() => Plotly.relayout(document.querySelector('{PLOT}'), {{'xaxis.range': {zoom}}})"
    )
    start = page.evaluate(UPDATES)
    page.wait_for_function(f"{UPDATES} >= {start + 10}", timeout=60_000)
    after = lengths(page)
    kept = page.evaluate(f"() => document.querySelector('{PLOT}').layout.xaxis.range")
    assert kept == zoom, kept  # ten appends later, the zoom is still the user's
    assert sum(after) > sum(before), (before, after)  # the chart grew by appending
    assert page.locator(".bnviz-live").count() == 2  # loss and accuracy both stream
    status = page.locator(".bnviz-live-status").first.inner_text()  # from the same answers
    assert "with BN: training · step " in status and "no BN: " in status, status
    # the loss axis is labelled by the server's ticks as it grows (live_api.y_ticks), never
    # with plotly's own small "2" and "5" between powers of ten
    ticks = page.evaluate(
        f"""() => {{ const p = document.querySelector('{PLOT}');
        return {{ asked: p.layout.yaxis.ticktext || [],
          shown: [...p.querySelectorAll('.ytick text')].map(e => e.textContent),
          sizes: [...p.querySelectorAll('.ytick text')].map(e => e.style.fontSize) }}; }}"""
    )
    assert ticks["asked"] and ticks["shown"], ticks
    plain = {text.replace("<sup>", "").replace("</sup>", "") for text in ticks["asked"]}
    shown = {text.replace("\u200b", "") for text in ticks["shown"]}  # plotly's around <sup>
    assert shown <= plain and len(set(ticks["sizes"])) == 1, ticks
    no_exception(page)
    SHOTS.mkdir(exist_ok=True)
    page.locator(PLOT).first.scroll_into_view_if_needed()
    page.screenshot(path=str(SHOTS / "lab-stream.png"))
    page.get_by_role("button", name="Pause", exact=True).click()  # asserted paused below
    page.wait_for_function(  # a run not training shows no rate (it read "0 steps/s"); both
        # runs' lines say paused (under load the second run's line came a snapshot later)
        "() => { const s = [...document.querySelectorAll('.bnviz-live-status')]"
        ".map(e => e.innerText).join('\\n');"
        " return s.includes('paused') && !s.includes('training'); }",
        timeout=30_000,
    )
    status = page.locator(".bnviz-live-status").first.inner_text()
    assert "no BN: paused · step " in status and "steps/s" not in status, status


def test_step_axes_start_at_zero_and_span_the_first_evaluation(tab, server):
    """At a run's start the accuracy chart has one point (step 0): plotly's own range was -1..1,
    an empty chart crossed by the zero line. Both streamed charts now span 0..eval_every (100)
    from their first points on, and grow from there."""
    page = open_page(tab, server + "/batchnorm_lab?seed=29")  # classroom pace: slow start
    no_exception(page)
    page.wait_for_function(  # both charts drawn, each with its first points (a cold server
        # paints empty charts first; plotly's range without points is 0..6, whatever is asked)
        f"() => {{ const plots = [...document.querySelectorAll('{PLOT}')];"
        " return plots.length === 2 && plots.every(p => p._fullLayout &&"
        " p.data.some(t => t.x.length && t.x[0] !== null)); }",
        timeout=60_000,
    )
    ranges = page.evaluate(
        f"() => [...document.querySelectorAll('{PLOT}')].map(p => p._fullLayout.xaxis.range)"
    )
    for low, high in ranges:
        assert low == 0 and high >= 100, ranges
    # past the first evaluation, paused between two: both charts still end at the same step
    # (the accuracy chart ended at its last evaluation, the loss chart at the last step)
    ends = f"() => [...document.querySelectorAll('{PLOT}')].map(p => p._fullLayout.xaxis.range[1])"
    page.wait_for_function(f"() => ({ends})().every(end => end > 130)", timeout=60_000)
    page.get_by_role("button", name="Pause", exact=True).click()  # also leaves the workers idle
    page.wait_for_function(
        "() => [...document.querySelectorAll('.bnviz-live-status')]"
        ".some(e => e.innerText.includes('paused'))",
        timeout=30_000,
    )
    try:
        page.wait_for_function(
            f"() => {{ const e = ({ends})(); return e.length === 2 && e[0] === e[1]; }}",
            timeout=15_000,
        )
    finally:
        print("step axes end at", page.evaluate(ends))


def test_loss_and_accuracy_plots_start_and_end_at_the_same_height(tab, server):
    """The status lines (each run's state and step) stood above the loss chart only, so it
    started ~45 px below the accuracy chart beside it: the accuracy chart keeps their room,
    unseen. The loss chart's legend (one more entry, "mini-batch") wrapped to two rows in
    English where the accuracy chart's took one, so it ended 22 px higher: each legend is now
    two rows, runs above line styles."""
    # a projector: the columns at their narrowest
    page = open_page(tab, server + "/batchnorm_lab?seed=41", 1280, 720)
    tops = """() => [...document.querySelectorAll('.bnviz-live')].map(b => ({
      plot: b.querySelector('.nsewdrag')?.getBoundingClientRect().top,
      bottom: b.querySelector('.nsewdrag')?.getBoundingClientRect().bottom,
      status: getComputedStyle(b.querySelector('.bnviz-live-status')).visibility,
      text: b.querySelector('.bnviz-live-status').textContent}))"""
    page.wait_for_function(
        f"() => {{ const c = ({tops})(); return c.length === 2 && c[0].text && c[1].plot; }}",
        timeout=60_000,
    )
    # both with points: a chart drawn before its first points (for a moment, under load with
    # three test workers, the loss chart at step 0 beside the accuracy at step 20) is laid out
    # without them and ended 28 px lower
    page.wait_for_function(
        """() => [...document.querySelectorAll('.bnviz-live .js-plotly-plot')].every(p =>
          [...p.querySelectorAll('.scatterlayer path.js-line')]
            .some(l => (l.getAttribute('d') || '').split('L').length > 2))""",
        timeout=60_000,
    )
    loss, accuracy = page.evaluate(tops)
    assert loss["status"] == "visible" and accuracy["status"] == "hidden", (loss, accuracy)
    assert abs(loss["plot"] - accuracy["plot"]) <= 1, (loss, accuracy)
    assert abs(loss["bottom"] - accuracy["bottom"]) <= 1, (loss, accuracy)
    no_exception(page)


WIDTHS = """() => [...document.querySelectorAll('.bnviz-live')].map(b => ({
  box: Math.round(b.getBoundingClientRect().width),
  plot: Math.round(b.querySelector('.main-svg')?.getBoundingClientRect().width || 0)}))"""


def test_streamed_charts_follow_their_column_when_the_sidebar_closes_and_opens(tab, server):
    """Audit 14: plotly's `responsive` follows the window only. The sidebar closed left the two
    charts narrow in wide columns; opened again, they kept the wide width and the accuracy
    chart ran under the loss chart and off the screen."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout  # (browser tests only)

    page = open_page(tab, server + "/batchnorm_lab?steps=20000&seed=25", 1366, 768)
    page.wait_for_function(f"{UPDATES} >= 1", timeout=60_000)

    def fitted(label: str, was: int = 0) -> list[dict]:
        grown = f"() => Math.abs(({WIDTHS})()[0].box - {was}) > 100"
        page.wait_for_function(grown, timeout=10_000)  # the column changed
        fits = f"() => {{ const w = ({WIDTHS})(); return w.length === 2 && w.every(c => "
        fits += "c.plot > 100 && Math.abs(c.plot - c.box) <= 2); }"
        with contextlib.suppress(PlaywrightTimeout):  # said by the assertion, with the widths
            page.wait_for_function(fits, timeout=10_000)
        widths = page.evaluate(WIDTHS)
        assert all(abs(c["plot"] - c["box"]) <= 2 for c in widths), (label, widths)
        return widths

    opened = fitted("sidebar open")
    page.get_by_test_id("stSidebar").hover()  # its button shows on hover
    page.get_by_role("button", name="Collapse sidebar").click()
    closed = fitted("sidebar closed", opened[0]["box"])
    assert closed[0]["box"] > opened[0]["box"], (opened, closed)
    page.get_by_role("button", name="Expand sidebar").click()
    assert fitted("sidebar open again", closed[0]["box"])[0]["box"] < closed[0]["box"]
    no_exception(page)
    pause_if_running(page)


TOOLBARS = """([live]) => [...document.querySelectorAll('.js-plotly-plot')]
  .filter(p => p.data && !!p.closest('.bnviz-live') === live)
  .map(p => { const bar = p.querySelector('.modebar-container');
    if (!bar || getComputedStyle(bar).display === 'none') return 'none';
    return bar.innerHTML.includes('modebar--hover') ? 'on hover' : 'shown'; })"""


def test_a_touch_screen_gets_no_chart_toolbar_over_the_titles(browser, tab, server):
    """Audit 14: plotly shows its toolbar always where there is no hover (a tablet, a phone),
    top right over the chart's title: it hid why BN's "(ratio 0.187)". Touch: none, on the
    lab's streamed charts and on plot.js charts (the lab's views, why BN's static ones); with a
    mouse, the toolbar is there, on hover."""
    seen = {}
    touch = browser.new_page(
        has_touch=True, locale="en-US", viewport={"width": 768, "height": 1024}
    )
    try:
        for name, page in (("touch", touch), ("mouse", tab)):
            page.set_viewport_size({"width": 768, "height": 1024})
            for path, live, view in (
                ("batchnorm_lab", True, "Distributions"),
                ("why_bn", False, ""),
            ):
                page.goto(f"{server}/{path}?seed=26")
                settle(page)
                drawn = "([live]) => document.querySelectorAll('.modebar-container').length"
                drawn += " && (" + TOOLBARS + ")([live]).length >= (live ? 2 : 1)"
                page.wait_for_function(drawn, arg=[live], timeout=60_000)
                seen[name, path] = page.evaluate(TOOLBARS, [live])
                if view:  # the lab's other views are drawn by plot.js
                    page.get_by_role("radio", name=view).click()
                    page.wait_for_function(drawn, arg=[False], timeout=60_000)
                    seen[name, view] = page.evaluate(TOOLBARS, [False])
                no_exception(page)
    finally:
        touch.close()
    for (name, _), bars in seen.items():
        assert bars and set(bars) == {"none" if name == "touch" else "on hover"}, seen
    tab.goto(f"{server}/batchnorm_lab?seed=26")
    settle(tab)
    pause_if_running(tab)


def test_pause_live_updates_holds_the_streamed_charts(tab, server):
    """Audit 15: "Pause live updates (to hover)" froze the polled views, but on the lab's
    default view the streamed charts went on growing (439 to 535 points in 3 s)."""
    from bnviz.i18n import t

    page = open_page(tab, server + "/batchnorm_lab?steps=20000&seed=27")
    page.wait_for_function(f"{UPDATES} >= 2", timeout=60_000)
    toggle = page.get_by_text(t("run.freeze"), exact=True)
    toggle.click()
    settle(page)
    page.wait_for_timeout(2500)  # a request in flight when it was switched on may still land
    held = page.evaluate(UPDATES)
    page.wait_for_timeout(3000)
    assert page.evaluate(UPDATES) == held
    toggle.click()
    settle(page)
    page.wait_for_function(f"{UPDATES} >= {held + 2}", timeout=30_000)  # on again
    no_exception(page)
    pause_if_running(page)


def test_a_streamed_run_that_diverges_says_so_with_one_step_number(tab, server):
    """An audit: on the streamed Loss & accuracy view the diverged run's status read "step 5"
    while the Gradients view said "diverged at step 6", and no warning told the class to try a
    smaller learning rate (the streamed view never reran). Now a run's end reruns the page."""
    page = open_page(tab, server + "/batchnorm_lab?lr=10.0&activation=relu&seed=29")
    alert = page.locator('[data-testid="stAlert"]').filter(has_text="diverged at step")
    alert.first.wait_for(timeout=60_000)
    said = alert.first.inner_text()
    step = said.split("diverged at step ")[1].split(" ")[0]
    # the chart's status lines come with its answers: the rerun that shows the warning can
    # mount the chart afresh, and its first answer may take a moment (CI read it empty)
    status = ".bnviz-live-status"
    page.wait_for_function(
        f"() => (document.querySelector('{status}')?.innerText || '').includes('diverged')",
        timeout=30_000,
    )
    status = page.locator(status).first.inner_text()
    assert f"no BN: diverged at step {step}\n" in status + "\n", (said, status)  # as it said
    no_exception(page)
    pause_if_running(page)


def test_the_run_buttons_follow_a_streamed_run_to_its_end(tab, server):
    """The streamed view does not rerun while its runs train: when they finished, Pause was
    still enabled (the buttons of the page's first draw) until the teacher clicked something."""
    page = open_page(tab, server + "/batchnorm_lab?steps=100&seed=31")  # ~10 s, classroom
    pause = page.get_by_role("button", name="Pause", exact=True)
    page.wait_for_function(
        "() => [...document.querySelectorAll('.bnviz-live-status')]"
        ".some(e => (e.innerText.match(/finished/g) || []).length == 2)",
        timeout=90_000,
    )
    for _ in range(100):  # ~20 s: the rerun a run's end asks for
        if pause.first.is_disabled():
            break
        page.wait_for_timeout(200)
    assert pause.first.is_disabled()
    assert page.get_by_role("button", name="Reset", exact=True).first.is_enabled()
    no_exception(page)


MARKS = f"""() => [...document.querySelectorAll('{PLOT}')].map(p => ({{
  marks: p.data.filter(t => t.mode === 'markers+text' && t.x.length).map(t => t.x[0]),
  shown: [...p.querySelectorAll('.textpoint text')].map(e => e.textContent)}}))"""


def test_a_run_that_diverges_while_watched_is_marked_where_its_curve_ends(tab, server):
    """An audit: a run that diverged in a few steps drew a line hidden against the y axis and,
    on the accuracy chart, one point that a line does not show. Each chart now marks where the
    diverged run's curve ends (an x labelled "diverged"). The marks come with whole figures,
    not with the points a streaming tab asks for: this checks that a tab watching the run
    diverge gets them (the divergence's rerun puts its warning above the charts, which mounts
    them afresh)."""
    page = open_page(tab, server + "/batchnorm_lab?activation=relu&seed=37")  # trains
    page.wait_for_function(  # drawn, and streaming past the first evaluations
        "() => +((document.querySelector('.bnviz-live-status')?.innerText || '')"
        ".match(/no BN: training · step (\\d+)/) || [0, 0])[1] >= 150",
        timeout=60_000,
    )
    page.wait_for_function(f"() => ({MARKS})().length == 2", timeout=30_000)  # both drawn
    assert page.evaluate(MARKS) == [{"marks": [], "shown": []}] * 2
    lr = page.locator('[data-testid="stSlider"]').filter(has_text="Learning rate now")
    lr.locator('input[type="range"]').press("End")  # babysitting: lr 10 while it trains
    alert = page.locator('[data-testid="stAlert"]').filter(has_text="no BN: diverged at step")
    alert.first.wait_for(timeout=60_000)
    step = int(alert.first.inner_text().split("diverged at step ")[1].split(" ")[0])
    page.wait_for_function(  # both charts drawn again (every() of none is true: CI saw none)
        f"() => {{ const c = ({MARKS})(); return c.length == 2 && c.every(m => m.shown.length); }}",
        timeout=30_000,
    )
    loss, accuracy = page.evaluate(MARKS)
    assert loss["shown"] == accuracy["shown"] == ["diverged"], (loss, accuracy)
    assert step - 3 <= loss["marks"][0] < step, (step, loss)  # the last finite loss
    assert 0 <= step - accuracy["marks"][0] <= 100, (step, accuracy)  # the last evaluation
    assert step > 150  # it diverged while watched: the marks came with a second whole figure
    # the loss axis stops HEADROOM times above the first losses, or at the BN run's highest
    # (live_api.ceiling): the climb to 10^30 before NaN had squeezed BN's curve to the bottom
    top, first, clip = page.evaluate(f"""() => {{ const p = document.querySelector('{PLOT}');
      const lines = p.data.filter(t => t.mode === 'lines' && t.y.length && t.y[0] !== null);
      return [p._fullLayout.yaxis.range[1], Math.max(...lines.map(t => t.y[0])),
              (p.layout.yaxis.autorangeoptions || {{}}).clipmax]; }}""")
    assert clip and clip >= live_api.HEADROOM * first * (1 - 1e-4), (clip, first)  # or BN's top
    assert 10**top <= clip * 1.001, (top, clip)  # the climb leaves the chart at its top
    no_exception(page)
    pause_if_running(page)


def test_streamed_charts_wear_the_theme_of_every_other_chart(tab, server):
    """An audit: the lab's Loss and Accuracy charts had plain titles and larger axis titles
    than the charts of every other view: the streamed chart skipped Streamlit's chart theme,
    which the other charts get (plot.js). Both now apply the same template and bold title."""
    page = open_page(tab, server + "/batchnorm_lab?seed=43")
    themed = f"""() => [...document.querySelectorAll('{PLOT}')].map(p => ({{
      title: p.layout.title.text, template: !!(p.layout.template && p.layout.template.layout),
      axis: getComputedStyle(p.querySelector('.xtitle')).fontSize}}))"""
    page.wait_for_function(f"() => ({themed})().length == 2", timeout=60_000)
    charts = page.evaluate(themed)
    assert all(c["title"].startswith("<b>") and c["template"] for c in charts), charts
    page.get_by_text("Gradients", exact=True).first.click()  # a view drawn by plot.js
    other = """() => [...document.querySelectorAll('.js-plotly-plot')]
      .filter(p => !p.closest('.bnviz-live') && p.querySelector('.xtitle'))
      .map(p => getComputedStyle(p.querySelector('.xtitle')).fontSize)"""
    page.wait_for_function(f"() => ({other})().length > 0", timeout=60_000)
    assert {c["axis"] for c in charts} == set(page.evaluate(other)), (charts, page.evaluate(other))
    no_exception(page)


LONE = f"""() => [...document.querySelectorAll('{PLOT}')].map(p => ({{
  lone: p.data.filter(t => t.x.filter(v => v !== null).length === 1 && t.mode === 'lines')
    .map(t => t.name),
  marked: p.data.filter(t => t.mode === 'lines+markers').map(t => t.name),
  points: p.querySelectorAll('.scatterlayer .points path').length,
}}))"""


def test_a_run_paused_before_its_second_evaluation_shows_its_first(tab, server):
    """Paused between its first evaluation and its second, the accuracy chart was empty (axes
    and a legend): plotly draws no line through one point. Those lines get a marker until
    their second point, then are lines again."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout  # (browser tests only)

    status = "() => document.querySelector('.bnviz-live-status')?.innerText || ''"
    every = "() => ({})().split('\\n').every(l => l.includes('{}'))"
    # the pair ends at step 90, 9 s after the page opened (10 steps/s): Pause at once, not after
    # the first streamed status (CI, on a loaded machine: past step 90 by then, it finished)
    page = open_page(tab, server + "/batchnorm_lab?steps=90&seed=38")  # evals at 0 and 90
    page.get_by_role("button", name="Pause", exact=True).click()
    try:
        page.wait_for_function(every.format(status, "paused"), timeout=30_000)
    except PlaywrightTimeout:
        pytest.fail(f"not paused 30 s after Pause: {page.evaluate(status)!r}")
    step = f"() => +(/no BN: paused · step (\\d+) \\//.exec(({status})()) || [0, -1])[1]"
    for _ in range(2):  # paused before its second step (the page was quicker than the workers):
        if page.evaluate(step) >= 2:  # Step on, to a second mini-batch loss
            break
        before = page.evaluate(step)
        page.get_by_role("button", name="Step", exact=True).click()
        page.wait_for_function(f"() => ({step})() > {before}", timeout=30_000)
    text = page.evaluate(status)
    assert re.search(r"no BN: paused · step ([1-9]|[1-8]\d) / 90", text), text
    page.wait_for_function(
        f"() => ({LONE})().length === 2 && ({LONE})()[1].marked.length === 4", timeout=30_000
    )
    loss, accuracy = page.evaluate(LONE)
    assert accuracy["lone"] == [] and accuracy["points"] >= 1, accuracy  # drawn, as a point
    assert loss["lone"] == [] and len(loss["marked"]) == 4, loss  # train and test, both runs
    page.get_by_role("button", name="Resume", exact=True).click()
    page.wait_for_function(every.format(status, "finished"), timeout=60_000)
    page.wait_for_function(f"() => ({LONE})().every(c => c.marked.length === 0)", timeout=30_000)
    no_exception(page)


def test_a_resumed_run_s_streamed_chart_asks_at_once(browser, server):
    """A paused run's streamed chart asks every IDLE_MS (2 s): after Resume the page's buttons
    said it trained while the chart's status said "paused" and no point came for up to 2 s.
    The page's rerun (its runs drawn in other states than the chart last read) asks at once.
    Here IDLE_MS is held at 10 minutes, so only that can bring the chart back."""
    from bnviz.i18n import t

    page = browser.new_page(locale="en-US", viewport={"width": 1280, "height": 720})
    page.add_init_script("window.__bnvizIdleMs = 600000")
    status = "() => document.querySelector('.bnviz-live-status')?.innerText || ''"
    try:
        page.goto(server + "/batchnorm_lab?steps=20000&seed=54")
        settle(page)
        page.wait_for_function(f"{UPDATES} >= 2", timeout=60_000)
        page.get_by_role("button", name="Pause", exact=True).click()
        paused = t("run.state.paused")
        every_paused = f"() => ({status})().split('\\n').every(l => l.includes({paused!r}))"
        page.wait_for_function(every_paused, timeout=30_000)
        settle(page)
        held = page.evaluate(UPDATES)
        page.get_by_role("button", name="Resume", exact=True).click()
        page.wait_for_function(f"{UPDATES} >= {held + 1}", timeout=30_000)
        assert paused not in page.evaluate(status), page.evaluate(status)
        pause_if_running(page)
        no_exception(page)
    finally:
        page.close()


def test_each_chart_is_named_by_its_title_for_a_screen_reader(tab, server):
    """Plotly draws an SVG with no name: a screen reader met the charts as unnamed groups of
    shapes. Each chart, streamed (the lab's loss and accuracy) or drawn by plot.js (its other
    views), is a figure named by its title, in the page's language, without its markup."""
    from bnviz.i18n import t

    page = open_page(tab, server + "/batchnorm_lab?seed=28&lang=zh")
    named = """(want) => JSON.stringify([...document.querySelectorAll('.bnviz-live, .bnviz-plot')]
        .filter((el) => el.offsetParent).map((el) => [el.role, el.ariaLabel]))
        === JSON.stringify(want)"""
    streamed = [["figure", t("lab.fig.loss", "zh")], ["figure", t("lab.fig.accuracy", "zh")]]
    page.wait_for_function(named, arg=streamed, timeout=60_000)
    settle(page)
    page.get_by_role("radio", name=t("lab.views.health", "zh")).click()
    page.wait_for_function(named, arg=[["figure", t("lab.fig.saturated", "zh")]], timeout=60_000)
    no_exception(page)
    pause_if_running(page, t("run.pause", "zh"))  # leave the workers idle


def test_a_chart_says_it_is_loading_until_plotly_has_loaded_and_is_named_before_it(browser, server):
    """Audit 29: a new tab loads plotly.js (4.7 MB) before a streamed chart asks for its
    points, and the lab's view showed nothing under its tabs for 2.5-4 s: its status line
    says it is loading until the first answer. With plotly.js held back (here: refused), that
    line stays, and a chart with no title of its own (preprocessing's images) is still named,
    by its panels' titles."""
    from bnviz.i18n import t
    from bnviz.ui.live_routes import PLOTLY_URL

    page = browser.new_page(locale="en-US", viewport={"width": 1280, "height": 720})
    try:
        page.route(f"**{PLOTLY_URL}", lambda route: route.abort())
        page.goto(server + "/batchnorm_lab?seed=29")
        settle(page)
        loading = t("run.live_loading")
        page.wait_for_function(
            "(text) => { const s = document.querySelector('.bnviz-live-status');"
            " return s && s.innerText === text; }",
            arg=loading,
            timeout=60_000,
        )
        page.goto(server + "/preprocessing?view=images")
        settle(page)
        page.wait_for_function(
            "() => document.querySelectorAll('.bnviz-plot').length >= 3",
            timeout=60_000,
        )
        names = page.evaluate(
            "() => [...document.querySelectorAll('.bnviz-plot')].map((e) => e.ariaLabel)"
        )
        assert names and all(names), names
        assert any(t("preprocessing.fig.mean_image") in n for n in names), names
    finally:
        page.close()


TITLES = """([live]) => [...document.querySelectorAll('.js-plotly-plot')]
  .filter(p => p.data && !!p.closest('.bnviz-live') === live)
  .map(p => [...p.querySelectorAll('.modebar-btn')].map(b => b.getAttribute('data-title')))"""


@pytest.mark.parametrize(
    "lang, titles",
    [
        ("zh", ("自动缩放", "全屏（按 Esc 退出）")),
        ("en", ("Autoscale", "Full screen (Esc leaves)")),
    ],
)
def test_the_chart_toolbar_speaks_the_page_s_language(tab, server, lang, titles):
    """Audit 31: on a Chinese page the toolbar's tooltips read "Autoscale", "Full screen (Esc
    leaves)". The lab's streamed charts and its plot.js ones (Distributions)."""
    page = open_page(tab, f"{server}/batchnorm_lab?seed=26&lang={lang}")
    drawn = "([live]) => (" + TITLES + ")([live]).filter(t => t.length).length >= (live ? 2 : 1)"
    page.wait_for_function(drawn, arg=[True], timeout=60_000)
    seen = {"live": page.evaluate(TITLES, [True])}
    page.get_by_role("radio", name="分布" if lang == "zh" else "Distributions").click()
    page.wait_for_function(drawn, arg=[False], timeout=60_000)
    seen["plot"] = page.evaluate(TITLES, [False])
    for kind, bars in seen.items():
        for bar in bars:
            assert all(title in bar for title in titles), (kind, bar)
    no_exception(page)
    pause_if_running(page, "暂停" if lang == "zh" else "Pause")
