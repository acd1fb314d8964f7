"""What a projector shows: every page at 1280x720 after a preset, in a real browser.

The page's main chart and its "look for" sentence lie inside the first screen, no text is
cut, the page does not scroll sideways. Screenshots at 1280x720 and 1920x1080 are written to
$BNVIZ_SCREENSHOTS, by default a folder in the system's temporary directory: a test run leaves
the tracked ones alone. BNVIZ_SCREENSHOTS=assets/screenshots refreshes those (the README shows
the lab's).
"""

import os
import re
import tempfile
import time
from pathlib import Path

import pytest

from bnviz.i18n import LANGS, t
from tests.browser_support import ROOT, click_preset, no_exception, open_page, settle
from tests.helpers import named_runs

pytestmark = pytest.mark.browser
SCREENS = ROOT / os.environ.get(  # an absolute path stays itself
    "BNVIZ_SCREENSHOTS", str(Path(tempfile.gettempdir()) / "bnviz-screenshots")
)
# (url path, preset i18n key or a view's): the pill or view button a teacher would click first
PAGES = [
    ("batchnorm_lab", "lab.preset.large_lr"),
    ("batchnorm_lab", "lab.views.histograms"),  # four layers of histograms, two runs
    ("standardization", "standardization.preset.zigzag"),
    ("initialization", "initialization.preset.cs231n_small"),
    ("activations", "activations.preset.sigmoid_kills"),
    ("activations", "activations.preset.zigzag"),  # a three-line sentence over a 3-row legend
    ("activations", "activations.preset.dead_relu"),  # the dead-units view: two live runs
    ("activations", "activations.preset.dead_remedy"),
    ("why_bn", "why_bn.preset.swamp"),  # the presets show on the first view only
    ("why_bn", "why_bn.view.shift"),
    ("why_bn", "why_bn.view.noise"),
    ("running_stats", "running_stats.preset.tiny"),
    ("running_stats", "running_stats.preset.batch2"),  # its sentence takes three lines
    ("running_stats", "running_stats.preset.regularization"),  # a view of its own: 5 live runs
    ("why_bn", "why_bn.view.smooth"),  # a view's button (same control type): the live pair
    ("preprocessing", "preprocessing.preset.lecture"),
    ("preprocessing", "preprocessing.preset.digits"),  # a view of its own: 4 live runs
    ("babysitting", "babysitting.preset.lr"),
    ("babysitting", "babysitting.preset.weights"),  # the strip of first-layer weights
    ("babysitting", "babysitting.preset.ratio"),  # a table: keeps its height at 1920x1080
    ("hyperparams", "hyperparams.preset.bn_wider"),
    ("normalization", "normalization.preset.fc_batch1"),  # torch's refusal above the charts
    ("normalization", "normalization.preset.others"),
]

BOXES = """() => {
  const box = e => { if (!e) return null; const r = e.getBoundingClientRect();
    return {top: r.top, bottom: r.bottom, left: r.left, right: r.right}; };
  const charts = [...document.querySelectorAll('.js-plotly-plot')]  // drawn here or streamed
    .filter(e => e.getBoundingClientRect().height > 50);
  return {chart: box(charts[0]), look: box(document.querySelector('.st-key-look_for')),
          scroll: document.documentElement.scrollWidth, width: window.innerWidth};
}"""

# the charts bnviz's components draw (plot.js, stream_chart.js): [height, whether a taller
# window stretches it (no fixed axis ratio, unless layout.meta.stretch says otherwise)]
CHART_HEIGHTS = r"""() => [...document.querySelectorAll('.bnviz-plot, .bnviz-live')]
  .map(e => e.querySelector('.js-plotly-plot'))
  .filter(p => p && p.offsetParent && p.getBoundingClientRect().height > 50)
  .map(p => [p.getBoundingClientRect().height, (p.layout.meta || {}).stretch ?? !(Object
    .keys(p.layout || {}).some(k => /^[xy]axis\d*$/.test(k) && p.layout[k].scaleanchor)
    || (p.data || []).some(d => d.type === 'image'))])"""

CUT = """() => {  // text elements whose content is wider than their box (ellipsis or clipped)
  const out = [];
  const sel = 'button, label, p, h1, h2, h3, [data-testid^="stMetric"]';
  for (const e of document.querySelectorAll(sel)) {
    const r = e.getBoundingClientRect();
    if (!r.width || !e.innerText.trim()) continue;
    const s = getComputedStyle(e);
    const clips = s.overflow !== 'visible' || s.textOverflow === 'ellipsis';
    if (clips && e.scrollWidth > e.clientWidth + 1) out.push(e.innerText.slice(0, 60));
  }
  return out;
}"""


def _open(tab, server, path: str, width: int, height: int):
    return open_page(tab, f"{server}/{path}", width, height)


DRAWN = """() => [...document.querySelectorAll('.js-plotly-plot')].some(p =>
  [...p.querySelectorAll('.scatterlayer path.js-line')]
    .some(l => (l.getAttribute('d') || '').split('L').length > 3)  // a line with data, not a key
  || p.querySelectorAll('.scatterlayer .points path').length > 3  // a point cloud
  || p.querySelector('.contourlayer path, .barlayer .point path, .heatmaplayer image, .hm')
  || p.querySelectorAll('.table .cell-text').length > 3)  // a table with rows"""


# every streamed chart (the lab's loss and accuracy) with a line of 4+ points: the README's
# screenshot once showed the accuracy chart before its first evaluation after step 0
STREAMED = """() => [...document.querySelectorAll('.bnviz-live .js-plotly-plot')].every(p =>
  [...p.querySelectorAll('.scatterlayer path.js-line')]
    .some(l => (l.getAttribute('d') || '').split('L').length > 3))"""


# why a chart is blank, for the failure's message: plotly.js loaded? each steady chart's draws
# and last error (assets/js/plot.js), greyed elements, the script's state
CHARTS_STATE = """() => ({
  plotly: typeof window.Plotly,
  charts: [...document.querySelectorAll('.bnviz-plot')]
    .map(r => [r.dataset.draws, r.dataset.error]),
  plots: document.querySelectorAll('.js-plotly-plot').length,
  stale: document.querySelectorAll('[data-stale="true"]').length,
  script: document.querySelector('[data-test-script-state]')?.dataset.testScriptState,
})"""


def _charts_drawn(page) -> None:
    page.wait_for_function(DRAWN, timeout=90_000)
    page.wait_for_function(STREAMED, timeout=90_000)
    page.wait_for_timeout(1500)  # the live panel's next redraw settles


BY_PAGE: dict[str, list[str]] = {}
for _path, _key in PAGES:
    BY_PAGE.setdefault(_path, []).append(_key)


@pytest.mark.parametrize("path", list(BY_PAGE))
def test_first_screen_at_1280x720_after_each_preset(tab, server, path):
    """The page's PAGES entries clicked one after another in one page load, as a teacher goes
    through them: after each, the sentence and the first chart on the first screen at 1280x720
    and at 1920x1080, nothing cut. (One page load per page, not per entry: 12 fewer loads.)"""
    page = _open(tab, server, path, 1280, 720)
    SCREENS.mkdir(parents=True, exist_ok=True)
    # Click once the page has drawn, as a teacher would. Clicked while the page was still
    # rerunning (a page that starts its runs reruns at once), the lab's view button once came
    # back with every sidebar setting at its minimum (lr 1e-05, 1 layer, batch size 1: "cannot
    # train"), in ~1 of 10 runs here and once in CI; see FAILED-… screenshots.
    try:
        page.wait_for_function(DRAWN, timeout=90_000)
    except Exception as exc:  # what the page showed instead (CI timed out here on babysitting)
        page.screenshot(path=str(SCREENS / f"FAILED-{path}-before-1280x720.png"))
        raise AssertionError(f"no chart drawn: {page.evaluate(CHARTS_STATE)}") from exc
    settle(page)
    if path in VIEW_PAGES:  # the English row of views (the Chinese: the test below)
        _views_fit(page, path)
    for i, preset in enumerate(BY_PAGE[path]):
        if i:
            page.set_viewport_size({"width": 1280, "height": 720})
        _first_screen_after(page, path, preset, first=i == 0)


def _first_screen_after(page, path: str, preset: str, first: bool) -> None:
    """Click `preset` (a pill or a view button) and check the first screen at both sizes."""
    name = preset.rsplit(".", 1)[1]
    failed = SCREENS / f"FAILED-{path}-{name}-1280x720.png"
    click_preset(page, t(preset))
    settle(page)
    try:
        _charts_drawn(page)
    except Exception as exc:  # what the page showed instead (a rare timeout here, not reproduced)
        page.screenshot(path=str(failed))
        state = page.evaluate(CHARTS_STATE)
        raise AssertionError(f"charts not drawn after {name}: {state}") from exc
    no_exception(page)
    page.evaluate("() => window.scrollTo(0, 0)")

    def on_screen(boxes) -> bool:
        return all(
            (b := boxes[part]) and b["top"] >= 0 and b["bottom"] <= 720 and b["right"] <= 1280
            for part in ("look", "chart")
        )

    # a live panel swaps its chart element twice a second, and a rerun under load can hold the
    # old elements beside the new for a moment (CI once measured the sentence's box 480 px
    # tall): wait up to 10 s for the settled page, then assert on what is there
    for _ in range(100):
        boxes = page.evaluate(BOXES)
        if on_screen(boxes):
            break
        page.wait_for_timeout(100)
    else:
        page.screenshot(path=str(failed))
    assert boxes["look"] and boxes["chart"], (name, boxes)
    for part in ("look", "chart"):
        b = boxes[part]
        assert b["top"] >= 0 and b["bottom"] <= 720 and b["right"] <= 1280, (name, part, b)
    assert boxes["scroll"] <= boxes["width"], f"after {name} the page scrolls sideways"
    assert page.evaluate(CUT) == [], name
    assert page.evaluate(TITLES_CUT) == [], name
    # audit 34: running statistics' five runs and preprocessing's four wrapped onto two lines
    status = [s for s in page.evaluate(ONE_LINE) if re.search(r"\bstep\b", s["text"])]
    assert [s for s in status if s["lines"] != 1] == [], name
    shot = path if first else f"{path}-{name}"  # a page's first entry: its name
    page.screenshot(path=str(SCREENS / f"{shot}-1280x720.png"))
    small = page.evaluate(CHART_HEIGHTS)
    page.set_viewport_size({"width": 1920, "height": 1080})
    page.wait_for_timeout(1500)
    assert page.evaluate(CUT) == [], name
    page.screenshot(path=str(SCREENS / f"{shot}-1920x1080.png"))
    # 1080 px tall: the charts stretch (assets/js/load_plotly.js, 1.35x), the first screen
    # still holds the sentence and the first chart
    boxes = page.evaluate(BOXES)
    for part in ("look", "chart"):
        b = boxes[part]
        assert b["top"] >= 0 and b["bottom"] <= 1080 and b["right"] <= 1920, (name, part, b)
    large = page.evaluate(CHART_HEIGHTS)
    assert len(large) == len(small), (name, small, large)
    for (a, grows), (b, _) in zip(small, large, strict=True):
        assert 1.3 < b / a < 1.4 if grows else abs(b - a) <= 1, (name, small, large)


VIEWS_ROW = """() => {  // each view button's right edge against its column's (title row or page)
  const g = document.querySelector('[class*="-view"] [data-testid=stButtonGroup]');
  if (!g) return null;
  const col = (g.closest('[data-testid=stColumn]') || g.parentElement).getBoundingClientRect();
  return [...g.querySelectorAll('button')].map(b =>
    [b.innerText, b.getBoundingClientRect().right - col.right]);
}"""


VIEW_PAGES = ("batchnorm_lab", "initialization", "activations", "running_stats", "why_bn",
              "preprocessing", "babysitting", "hyperparams")  # fmt: skip


def _views_fit(page, path: str) -> None:
    page.wait_for_selector('[class*="-view"] [data-testid=stButtonGroup] button')
    buttons = page.evaluate(VIEWS_ROW)
    assert buttons, path
    assert [label for label, over in buttons if over > 0] == [], (path, buttons)


# the closing full-width brackets that end a pill's or view button's label: [label, the
# bracket's width in em]
CLOSING_BRACKETS = """() => [...document.querySelectorAll('[data-testid=stButtonGroup] button p')]
  .filter(p => p.innerText.trim().endsWith('）')).map(p => {
    const text = [...p.childNodes].filter(n => n.nodeType === 3 && n.data.includes('）')).at(-1);
    const range = document.createRange(), at = text.data.lastIndexOf('）');
    range.setStart(text, at); range.setEnd(text, at + 1);
    const em = parseFloat(getComputedStyle(p).fontSize);
    return [p.innerText, range.getBoundingClientRect().width / em];
  })"""


def test_every_view_button_fits_its_row_at_1280x720_in_chinese(tab, server):
    """The views sit right of the title; a long label pushed the last one out of sight
    (running statistics in Chinese: "过拟合" was cut at the column's edge). In English the
    first-screen test checks the row on each page's first load. A label that ends in a
    full-width bracket ends at its glyph, not half an em of blank before the pill's edge."""
    page = tab
    page.set_viewport_size({"width": 1280, "height": 720})
    brackets = []
    for path in VIEW_PAGES:
        page.goto(f"{server}/{path}?lang=zh")
        settle(page)
        _views_fit(page, path)
        brackets += page.evaluate(CLOSING_BRACKETS)
    assert len(brackets) >= 3, brackets  # the lab's two inits, running statistics' momenta
    assert [label for label, em in brackets if em > 0.6] == [], brackets  # a full one: 1 em


TABLES = """() => [...document.querySelectorAll('[data-testid=stTable]')].map(box => {
  const table = box.querySelector('table'), cells = [...table.querySelectorAll('thead th')];
  return {box: box.getBoundingClientRect().right, table: table.getBoundingClientRect().right,
          scroll: box.scrollWidth - box.clientWidth, last: cells.at(-1).innerText,
          lastRight: cells.at(-1).getBoundingClientRect().right}; })"""


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_every_table_shows_all_its_columns_at_1280x720(tab, server, lang):
    """st.dataframe sized each column to its text and hid the rest behind a sideways scroll: at
    1280x720 the activations table lost its measured cost column, and initialization's showed
    "50" for 500 distinct units (the table said 50 under a caption saying 500)."""
    page = tab
    page.set_viewport_size({"width": 1280, "height": 720})
    for path in ("initialization", "initialization?view=gradients", "activations?view=gallery"):
        page.goto(f"{server}/{path}{'&' if '?' in path else '?'}lang={lang}")
        settle(page)
        page.wait_for_selector("[data-testid=stTable] thead th", timeout=60_000)
        tables = page.evaluate(TABLES)
        assert len(tables) == 1, (path, tables)
        for table in tables:
            assert table["scroll"] <= 1 and table["lastRight"] <= table["box"] + 1, (path, table)
        no_exception(page)


OFF_SCREEN = """() => [...document.querySelectorAll('.stMain [data-testid=stButtonGroup] button')]
  .filter(b => b.getBoundingClientRect().right > innerWidth + 1)
  .map(b => b.innerText)"""


def test_every_preset_and_view_is_on_a_phone_s_screen(tab, server):
    """Audit 14: at 390 px a row of presets or views was one strip scrolling sideways under a
    faint fade (Streamlit's button group in a row): three of the lab's five presets, the whole
    "ReLU vs tanh" view of activations, were off the screen's edge. They wrap onto rows."""
    page = tab
    page.set_viewport_size({"width": 390, "height": 844})
    hidden = {}
    for path in ("batchnorm_lab", "activations", "running_stats", "why_bn", "hyperparams"):
        page.goto(f"{server}/{path}?seed=3")
        settle(page)
        page.wait_for_selector('[class*="-preset"] [data-testid=stButtonGroup] button')
        hidden[path] = page.evaluate(OFF_SCREEN)
        no_exception(page)
    assert not any(hidden.values()), hidden


LEGENDS = """() => [...document.querySelectorAll('.js-plotly-plot')]  // drawn, with a legend
  .filter(p => p.querySelector('.legend .traces') && p.getBoundingClientRect().height > 0)
  .map(p => {
    const plot = p.querySelector('.nsewdrag').getBoundingClientRect();
    const rows = new Set([...p.querySelectorAll('.legend .traces')]
      .map(e => Math.round(e.getBoundingClientRect().top)));
    return {rows: rows.size, top: plot.top, bottom: plot.bottom};
  })"""
CONTOUR_LEGENDS = LEGENDS.replace(
    "p.querySelector('.legend",
    "p.querySelector('.contourlayer path')\n    && p.querySelector('.legend",
)


LEGEND_BOTTOMS = """() => [...document.querySelectorAll('.js-plotly-plot')]
  .filter(p => p.querySelector('.legend .traces'))
  .map(p => Math.round(p.querySelector('.legend').getBoundingClientRect().bottom))"""


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_initialization_compare_legend_is_on_the_first_screen(tab, server, lang):
    """Which colour is which of the six initializations: the legend sat below 720 px, under
    the two-row box of initializations to compare (now in the sidebar, short names)."""
    page = _open(tab, server, f"initialization?lang={lang}&view=compare", 1280, 720)
    page.wait_for_function(f"() => ({LEGEND_BOTTOMS})().length >= 2")
    bottoms = page.evaluate(LEGEND_BOTTOMS)
    assert len(bottoms) == 2 and max(bottoms) <= 720, bottoms
    assert not page.evaluate(CUT), page.evaluate(CUT)  # the sidebar's chips are not cut
    no_exception(page)


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_lab_at_batch_size_1_keeps_its_legends_on_the_first_screen(tab, server, lang):
    """At batch size 1 the lab shows a warning (why the BN net cannot train) and a sentence
    above its charts: which line is train and which test sat below 720 px (a teacher's pass)."""
    page = _open(tab, server, f"batchnorm_lab?lang={lang}&batch_size=1", 1280, 720)
    page.wait_for_function(f"() => ({LEGEND_BOTTOMS})().length >= 2", timeout=90_000)
    bottoms = page.evaluate(LEGEND_BOTTOMS)
    assert len(bottoms) == 2 and max(bottoms) <= 720, bottoms
    assert not page.evaluate(CUT), page.evaluate(CUT)
    no_exception(page)


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_lab_distributions_legend_and_drift_are_on_the_first_screen_under_ioffe(tab, server, lang):
    """Audit 11: under the Ioffe preset's three-line sentence the Distributions legend ended at
    734 px, and the drift its sentence is about was only in the caption below the fold."""
    page = _open(tab, server, f"batchnorm_lab?lang={lang}&view=percentiles", 1280, 720)
    page.wait_for_function(DRAWN, timeout=90_000)
    settle(page)
    click_preset(page, t("lab.preset.ioffe", lang))
    settle(page)
    ratio = t("lab.fig.drift_ratio", lang, ratio="\0").split("\0")[1]  # "× as much)", " 倍）"
    axis = f"""() => [...document.querySelectorAll('.js-plotly-plot text[class$="title"]')]
      .filter(e => e.textContent.includes({ratio!r}))
      .map(e => Math.round(e.getBoundingClientRect().bottom))"""
    page.wait_for_function(f"() => ({axis})().length === 1", timeout=90_000)
    page.evaluate("() => window.scrollTo(0, 0)")
    bottoms = page.evaluate(LEGEND_BOTTOMS)
    assert len(bottoms) == 1 and bottoms[0] <= 720, bottoms
    assert page.evaluate(axis)[0] <= 720
    assert t("lab.preset.ioffe_what", lang) in page.locator(".st-key-look_for").inner_text()
    no_exception(page)


SUBTITLE_CLEAR = """() => [...document.querySelectorAll('.js-plotly-plot')].map(p => {
  const sub = p.querySelector('.gtitle-subtitle');
  const ticks = [...p.querySelectorAll('.ytick text')].map(e => e.getBoundingClientRect().top);
  return sub && ticks.length ? Math.min(...ticks) - sub.getBoundingClientRect().bottom : null;
}).filter(gap => gap !== null)"""


def test_a_charts_top_tick_label_stands_clear_of_its_subtitle(tab, server):
    """Audit 12: on why BN's covariate shift the log axis's top label "1" ran 4 px into the
    subtitle above it (the moves per step start at about 1)."""
    page = _open(tab, server, "why_bn?seed=3&view=shift&lang=en", 1280, 720)
    page.wait_for_function(f"() => ({SUBTITLE_CLEAR})().length === 2", timeout=90_000)
    settle(page)
    gaps = page.evaluate(SUBTITLE_CLEAR)
    assert len(gaps) == 2 and min(gaps) >= 0, gaps
    no_exception(page)


SUBTITLES = """() => [...document.querySelectorAll('.js-plotly-plot')].map(p => {
  const sub = p.querySelector('.gtitle-subtitle');
  return sub && [sub.textContent, Math.round(p.getBoundingClientRect().right
    - sub.getBoundingClientRect().right)];  // room left on its right
}).filter(Boolean)"""


def test_why_bn_s_smoothness_subtitles_fit_their_thirds_of_a_projector_in_chinese(tab, server):
    """Audit 28: in Chinese at 1280 px the third panel's subtitle ran 135 px past its chart and
    cut the sentence's own claim, "第 0 步：BN 反而是无 BN 的 2.6 倍" (BN's β-smoothness larger at
    initialization), to "第 0 步：BN"."""
    page = _open(tab, server, "why_bn?seed=3&view=smooth&lang=zh", 1280, 720)
    start = t("why_bn.live.smooth.start", "zh", times="\0").split("\0")[0]  # "第 0 步：为 "
    page.wait_for_function(
        f"() => ({SUBTITLES})().filter(([text]) => text.includes({start!r})).length === 1",
        timeout=120_000,
    )  # both runs ended: every measure is in
    settle(page)
    subs = page.evaluate(SUBTITLES)
    assert len(subs) == 3 and all(room >= 0 for _, room in subs), subs
    no_exception(page)


VIEWS_BOX = """() => {  // the row of view buttons: where it is on the page
  const r = document.querySelector('[class*="-view"] [data-testid=stButtonGroup]')
    .getBoundingClientRect();
  return {top: r.top + window.scrollY, left: r.left};
}"""
# (page, a view that trains live: its run buttons appear, the first view has none or others)
LIVE_VIEWS = [("activations", "dead"), ("why_bn", "smooth"), ("preprocessing", "training"),
              ("running_stats", "regularization"), ("babysitting", "gap"),
              ("hyperparams", "caviar")]  # fmt: skip


@pytest.mark.parametrize(("path", "view"), LIVE_VIEWS, ids=[p for p, _ in LIVE_VIEWS])
def test_view_buttons_stay_put_when_a_view_trains_live(tab, server, path, view):
    """A teacher clicks through the views: the row of views stays where it is. On activations'
    Dead ReLUs view the run buttons took the title row and the views moved under the presets."""
    page = _open(tab, server, f"{path}?lang=en", 1280, 720)
    page.wait_for_selector('[class*="-view"] [data-testid=stButtonGroup] button')
    before = page.evaluate(VIEWS_BOX)
    click_preset(page, t(f"{path}.view.{view}", "en"), within='[class*="-view"]')
    page.wait_for_selector('[class*="run_controls"] button')  # the live view's run buttons
    settle(page)
    after = page.evaluate(VIEWS_BOX)
    assert abs(after["top"] - before["top"]) <= 1 and abs(after["left"] - before["left"]) <= 1, (
        before, after
    )  # fmt: skip
    no_exception(page)


BARS = """() => [...document.querySelectorAll('[data-testid=stProgress]')].map(p => {
  const bar = p.querySelector('[role=progressbar]').getBoundingClientRect();
  return {top: Math.round(bar.top), text: p.innerText.trim(),
          lines: Math.round(p.querySelector('p').getBoundingClientRect().height / 20)}; })"""


def test_preprocessing_s_four_runs_share_one_status_line_to_the_end(tab, server):
    """Four runs' status lines over four columns: when one label wrapped to two lines its bar
    sat lower than the others ("Raw: finished · step 300 / 300" fits on a line, "Centered: …"
    does not), and in audit 34 all four wrapped while training. The chart shows the four: one
    line and one bar name them all, on one line, training and finished."""
    page = _open(tab, server, "preprocessing?lang=en&view=training", 1280, 720)  # trains
    page.wait_for_function(f"() => ({BARS})().some(b => /training/.test(b.text))", timeout=90_000)
    page.get_by_text(t("run.pace", seconds="30")).click()  # full speed: the end is the point
    labels = [t(f"preprocessing.input.{k}") for k in ("raw", "center", "normalize", "whiten")]
    bars: list = []
    seen = set()
    for _ in range(600):  # ~100 s at most; 300 steps each
        bars = page.evaluate(BARS)
        assert len(bars) == 1 and bars[0]["lines"] == 1, bars
        assert named_runs(bars[0]["text"]) == labels, bars
        seen.add("finished" if "finished" in bars[0]["text"] else "training")
        if "finished" in seen:
            break
        page.wait_for_timeout(200)
    assert seen == {"training", "finished"}, (seen, bars)
    no_exception(page)


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_running_stats_legends_take_two_rows_and_plots_line_up(tab, server, lang):
    """The mean and variance charts side by side at 1280x720: each legend at most two rows
    (they took 4 and 5, one entry a row), so both plot areas have the same top and bottom.
    The cumulative preset has the longest run names ("running_mean, m = None")."""
    page = _open(tab, server, f"running_stats?lang={lang}", 1280, 720)
    click_preset(page, t("running_stats.preset.cumulative", lang))
    settle(page)
    _charts_drawn(page)
    for _ in range(40):  # the live panel swaps its chart elements twice a second
        charts = page.evaluate(LEGENDS)
        if len(charts) == 2:
            break
        page.wait_for_timeout(100)
    assert len(charts) == 2, charts
    assert max(c["rows"] for c in charts) <= 2, charts
    assert abs(charts[0]["top"] - charts[1]["top"]) <= 1, charts
    assert abs(charts[0]["bottom"] - charts[1]["bottom"]) <= 1, charts


BARS_BESIDE = """() => [...document.querySelectorAll('.js-plotly-plot')]
  .filter(p => p.querySelector('.colorbar') && p.querySelector('.contourlayer path'))
  .map(p => { const fig = p.getBoundingClientRect(), plot = p.querySelector('.nsewdrag')
    .getBoundingClientRect(), bar = p.querySelector('.colorbar').getBoundingClientRect();
    return {gap: Math.round(bar.left - plot.right), out: Math.round(bar.right - fig.right),
            plot: Math.round(plot.width)}; })"""


@pytest.mark.parametrize("size", [(1920, 1080), (1280, 720)])
def test_standardization_colour_bars_stand_beside_their_plots(tab, server, size):
    """The standardized panel keeps equal axis units, so its plot shrinks to a square inside
    the figure; its colour bar stayed at the figure's edge, 206 px from the plot at 1920 px.
    Again after a preset redraws both panels, and with the true-shape toggle on."""
    page = _open(tab, server, "standardization?lang=en", *size)

    def bars() -> list:
        page.wait_for_function(f"() => ({BARS_BESIDE})().length == 2")
        page.wait_for_timeout(1000)  # a bar moves after its plot is drawn
        found = page.evaluate(BARS_BESIDE)
        assert all(0 <= b["gap"] <= 30 and b["out"] <= 1 and b["plot"] > 100 for b in found), (
            found
        )  # fmt: skip
        return found

    bars()
    click_preset(page, t("standardization.preset.zigzag", "en"))  # both panels drawn again
    settle(page)
    bars()
    page.get_by_text("Equal axis units").first.click()
    settle(page)
    bars()
    no_exception(page)


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_standardization_steps_to_one_percent_are_on_the_first_screen(tab, server, lang):
    """Audit 38: after Zig-zag at 1280x720 the steps each panel needs (its sentence's "about 50
    steps … 3–4 steps") were under κ and λmax, below the first screen. They come first now,
    each number right under its label, inside the 720 px."""
    page = _open(tab, server, f"standardization?lang={lang}", 1280, 720)
    click_preset(page, t("standardization.preset.zigzag", lang))
    settle(page)
    found = page.evaluate(
        """() => ['raw', 'std'].map(k => document.querySelector(`.st-key-outcome_${k} h3`))
        .map(h => h && [h.innerText, h.getBoundingClientRect().bottom])"""
    )
    steps = t("standardization.readout.steps_value", lang, steps="")
    assert all(f and f[0].strip().endswith(steps.strip()) and f[1] <= 720 for f in found), found
    no_exception(page)


@pytest.mark.parametrize(
    ("lang", "size"), [("en", (1280, 720)), ("zh", (1280, 720)), ("en", (1920, 1080))]
)
def test_standardization_contour_legends_take_as_many_rows_and_plots_line_up(
    tab, server, lang, size
):
    """The raw and standardized contours side by side at 1280x720: the raw plot's longer tick
    labels ("−0.05") left it less width, its legend took two rows against one beside it, and
    the two plots did not line up. At 1920x1080 (audit 18) the raw panel grew with the window
    and the square standardized one did not: both stretch now."""
    page = _open(tab, server, f"standardization?lang={lang}", *size)
    # both drawn: CI once measured the first contour beside a chart further down the page
    page.wait_for_function(f"() => ({CONTOUR_LEGENDS})().length >= 2")
    page.wait_for_timeout(500)
    contours = page.evaluate(CONTOUR_LEGENDS)
    assert len(contours) == 2, contours
    assert contours[0]["rows"] == contours[1]["rows"], contours
    assert abs(contours[0]["bottom"] - contours[1]["bottom"]) <= 1, contours


def test_images_keep_their_height_on_a_taller_window(tab, server):
    """Audit 19b: preprocessing's images (the mean image, one patch centered two ways) grew
    with a 1920x1080 window like the charts, into blank space: plotly locks an image's axes
    itself, with no scaleanchor in the layout for load_plotly.js to see."""
    page = _open(tab, server, "preprocessing?view=images", 1280, 720)
    page.wait_for_function(f"() => ({CHART_HEIGHTS})().length >= 3", timeout=60_000)
    page.wait_for_timeout(500)
    small = page.evaluate(CHART_HEIGHTS)
    page.set_viewport_size({"width": 1920, "height": 1080})
    page.wait_for_timeout(1500)
    large = page.evaluate(CHART_HEIGHTS)
    images = [grows for _, grows in small]
    assert images.count(False) == 2 and images.count(True) >= 1, small  # 2 image rows, a chart
    for (a, grows), (b, _) in zip(small, large, strict=True):
        assert 1.3 < b / a < 1.4 if grows else abs(b - a) <= 1, (small, large)


TITLES_CUT = """() => {  // chart titles wider than their chart (plotly clips them at its edge)
  const out = [];
  for (const p of document.querySelectorAll('.js-plotly-plot')) {
    const frame = p.getBoundingClientRect(), title = p.querySelector('.gtitle');
    if (!title || !frame.width) continue;
    const r = title.getBoundingClientRect();
    if (r.left < frame.left - 1 || r.right > frame.right + 1) out.push(title.textContent);
  }
  return out;
}"""


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_gallery_titles_fit_their_charts_at_1280x720(tab, server, lang):
    """Nine charts in rows of three: "Sigmoid 1/(1 + e⁻ˣ): f and its derivative f′" was cut
    mid-word (the page text's CUT check cannot see a title plotly drew)."""
    page = open_page(tab, f"{server}/activations?view=gallery&lang={lang}", 1280, 720)
    page.wait_for_function(
        "() => document.querySelectorAll('.js-plotly-plot .gtitle').length >= 9", timeout=60_000
    )
    no_exception(page)
    assert page.evaluate(TITLES_CUT) == []


CROWDED = """(plot) => {
  // pairs of texts plotly drew in one chart (titles, panel titles, tick labels) closer than
  // 12 px side by side or 6 px one above the other: "1 −1" read as one label
  const boxes = [...plot.querySelectorAll('.gtitle, .annotation-text, .xtick text, .ytick text')]
    .map(e => ({text: e.textContent, r: e.getBoundingClientRect()}))
    .filter(b => b.r.width && b.text.trim());
  const out = [];
  for (let i = 0; i < boxes.length; i++) for (let j = i + 1; j < boxes.length; j++) {
    const a = boxes[i].r, b = boxes[j].r;
    const dx = Math.max(a.left - b.right, b.left - a.right);
    const dy = Math.max(a.top - b.bottom, b.top - a.bottom);
    if (dx < 12 && dy < 6) out.push([boxes[i].text, boxes[j].text, Math.round(dx), Math.round(dy)]);
  }
  return out;
}"""


@pytest.mark.parametrize("view", ["activations", "gradients"])
def test_initialization_panels_keep_their_labels_apart_at_1280x720(tab, server, view):
    """Ten small panels: the figure's title touched the first row's panel titles, and one
    panel's "1" stood 10 px from the next one's "−1"."""
    page = open_page(tab, f"{server}/initialization?view={view}", 1280, 720)
    plot = page.locator(".js-plotly-plot").filter(has=page.locator(".annotation-text")).first
    plot.wait_for(timeout=60_000)
    no_exception(page)
    assert plot.evaluate(CROWDED) == []


def test_why_bn_view_row_stands_clear_of_the_title(tab, server):
    """Six views take a row under why-BN's title: it started inside the title's text."""
    page = open_page(tab, f"{server}/why_bn?lang=zh", 1280, 720)
    views_row = page.locator('[data-testid="stMain"] [data-testid="stButtonGroup"]').first
    views_row.wait_for(timeout=30_000)
    page.evaluate("() => document.fonts.ready")  # a fallback font wrapped the title: 3 lines
    page.wait_for_timeout(500)
    text = page.evaluate(  # the title's glyphs (its element's box has padding of its own)
        """() => { const r = document.createRange();
        r.selectNodeContents(document.querySelector('[data-testid="stMain"] h1'));
        const b = r.getBoundingClientRect(); return {top: b.top, bottom: b.bottom}; }"""
    )
    views = views_row.bounding_box()
    assert views["y"] >= text["bottom"] + 4, (text, views)


ONE_LINE = """() => [...document.querySelectorAll('[data-testid=stProgress] p')].map(p => {
  const r = document.createRange(); r.selectNodeContents(p);  // a line box per line
  const tops = [...r.getClientRects()].map(b => b.top).sort((a, b) => a - b);
  return {text: p.innerText, lines: tops.filter((t, i) => !i || t - tops[i - 1] > 5).length};
})"""

LEFT = {lang: re.escape(t("run.time_left", lang, minutes=0)).replace("0", "\\d+") for lang in LANGS}


def while_three_train(page, pattern: str, seconds: float = 120) -> list[dict]:
    """What the page showed while its three runs trained: {"lines": ONE_LINE, "bottoms":
    PLOT_BOTTOMS} every 0.3 s, kept when a status line matches `pattern` (a regular
    expression: a run training, past step 100), until each of the three has matched once. Fails,
    with the last lines it saw, if one never does within `seconds` or all finish first.

    Not "the three at once past step 100": on a loaded machine a page's status lines move in
    jumps of seconds, and CI (12-07) saw three runs of 300 steps finish before their lines had
    all been past 100 together."""
    pattern_re, finished = (
        re.compile(pattern),
        re.compile("|".join(t("run.state.finished", lang) for lang in LANGS)),
    )
    seen, kept, history = set(), [], []
    deadline = time.monotonic() + seconds
    while len(seen) < 3 and time.monotonic() < deadline:
        lines = page.evaluate(ONE_LINE)
        if not history or history[-1] != lines:
            history.append(lines)
        matched = {i for i, s in enumerate(lines) if pattern_re.search(s["text"])}
        if matched:
            kept.append({"lines": lines, "bottoms": page.evaluate(PLOT_BOTTOMS)})
            seen |= matched
        elif len(lines) == 3 and all(finished.search(s["text"]) for s in lines):
            break
        page.wait_for_timeout(300)
    if len(seen) < 3:
        pytest.fail(f"not every run was seen matching /{pattern}/; the last lines: {history[-6:]}")
    return kept


PLOT_BOTTOMS = """() => [...document.querySelectorAll('.js-plotly-plot')]
  .map(p => Math.round(p.getBoundingClientRect().bottom))"""


def test_why_bn_noise_status_lines_take_one_line_each_in_zh_at_1280(tab, server):
    """Santurkar's three runs side by side: "BN + 噪声：训练中 · 第 179 / 300 步 · 10 步/秒"
    took two lines in its third of the row (audit 5), its bar lower than the others'."""
    # a seed of its own: runs are shared, and on the default seed this page found the three
    # runs another test of its server had trained, finished (CI, 12-07: "已完成 · 300/300 步")
    page = _open(tab, server, "why_bn?lang=zh&view=noise&seed=45", 1280, 720)
    # the three runs training, past step 100 (three leave out rates); a run under 3 steps/s
    # says its time left
    for shown in while_three_train(page, f"训练中 · \\d{{3}}\\D+300 步({LEFT['zh']})?$"):
        lines = shown["lines"]
        assert len(lines) == 3 and all(s["lines"] == 1 for s in lines), lines
    no_exception(page)


@pytest.mark.parametrize("view", ["shift", "noise"])
def test_why_bn_three_runs_keep_their_charts_on_the_first_screen_while_training(tab, server, view):
    """An audit: on Covariate shift at 1280x720, while the three runs trained, the third status
    line took two lines and the charts ended at 725 px, their legends under the fold."""
    seed = {"shift": 46, "noise": 47}[view]  # fresh runs, as above
    page = _open(tab, server, f"why_bn?view={view}&seed={seed}", 1280, 720)
    page.wait_for_function(f"() => ({PLOT_BOTTOMS})().length >= 2", timeout=90_000)
    for shown in while_three_train(page, f"training · step \\d{{3}} \\/ 300({LEFT['en']})?$"):
        lines, bottoms = shown["lines"], shown["bottoms"]
        assert len(bottoms) >= 2 and max(bottoms) <= 720, shown  # "BN + noise: …" took 2 lines
        assert all(s["lines"] == 1 for s in lines), lines  # with rates, two lines each (audit 12)
    no_exception(page)
