"""Real headless Chromium: the home page and the BatchNorm lab (fixtures in browser_support)."""

import os
import re
import time
from pathlib import Path

import pytest
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from bnviz.i18n import lesson_title, t
from bnviz.ui._compat import SKIP_LINK
from tests.browser_support import (
    ARGS,
    CHROMIUM,
    CJK_FONT,
    SHOTS,
    _free_port,
    chinese_font_missing,
    new_tab,
    no_exception,
    open_page,
    pause_if_running,
    server_log,
    settle,
    start_streamlit,
    stop_server,
    worker_pids,
)

pytestmark = pytest.mark.browser


def test_home_opens_in_the_browser_language_and_switches(browser, server):
    page = new_tab(browser, server, locale="zh-CN")
    page.wait_for_selector("text=看神经网络如何训练", timeout=30_000)
    no_exception(page)
    page.get_by_role("radio", name="English").click()
    page.wait_for_selector("text=watch neural networks train", timeout=30_000)
    settle(page)
    no_exception(page)
    assert "lang=en" in page.url
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / "home.png"), full_page=True)
    page.close()


@pytest.mark.parametrize("alias", ["home", "index"])
def test_home_typed_by_hand_opens_the_home_page_with_the_root_as_its_share_link(tab, server, alias):
    """Audits: /home and /index said "Page not found"; /home's share link repeated /home."""
    page = open_page(tab, server + f"/{alias}?lang=zh")
    page.wait_for_selector("text=看神经网络如何训练", timeout=30_000)
    no_exception(page)
    assert page.get_by_text("Page not found").count() == 0
    code = page.locator('[data-testid="stSidebar"] [data-testid="stCode"]').first
    want = server.rstrip("/") + "/?lang=zh"  # the root, with its slash (audit 24: "…8644?")
    for _ in range(40):  # read once a rerun has drawn it (run alone, one read came too early)
        if (link := code.inner_text().strip()) == want:
            break
        page.wait_for_timeout(250)
    assert link == want, link
    assert page.get_by_text("首页", exact=True).count() == 1  # the alias is not in the navigation


def test_an_unknown_page_shares_the_root_not_its_own_address(tab, server):
    """Audit 31: at /nope Streamlit shows the home page under its "Page not found", and the
    share link read …/nope/?lang=zh, passing the bad address on."""
    page = open_page(tab, server + "/nope?lang=zh")
    page.wait_for_selector("text=看神经网络如何训练", timeout=30_000)
    no_exception(page)
    code = page.locator('[data-testid="stSidebar"] [data-testid="stCode"]').first
    want = server.rstrip("/") + "/?lang=zh"
    for _ in range(40):
        if (link := code.inner_text().strip()) == want:
            break
        page.wait_for_timeout(250)
    assert link == want, link


def test_a_fresh_server_s_first_visitor_at_index_sees_the_home_page(tab):
    """A suite run with three workers: a server's first tab, at /index, showed "Page not
    found" over the home page (Streamlit's old pages/ mode, where /index is no page, lasted
    until a tab's script called st.navigation; app.py now leaves it before any tab connects).
    A server of its own: the session's is never fresh by the time a test gets it."""
    proc, url = start_streamlit("app.py")
    try:
        # once warm (its workers started): a tab that came during the server's imports did not
        # see the note on the old code, its script run being later
        deadline = time.monotonic() + 60
        while not worker_pids(proc.pid) and time.monotonic() < deadline:
            time.sleep(0.2)
        page = open_page(tab, url + "/index?lang=zh")
        page.wait_for_selector("text=看神经网络如何训练", timeout=60_000)
        settle(page)
        assert page.get_by_text("Page not found").count() == 0
        no_exception(page)
    finally:
        stop_server(proc, 20)


def test_an_open_tab_follows_its_runs_through_a_server_restart(tab, tmp_path):
    """Audit 24: the server restarted under an open lab tab; its runs continued from their
    checkpoints, but the tab's streamed charts said "no longer on the server. Press Reset"
    (which would have thrown the resumed runs away) under status lines frozen at the old step.
    The chart now has the page attach its runs again (a reload: Streamlit runs no script for
    the rerun it asks), and they go on from their checkpoints, not from step 0."""
    env = {"BNVIZ_STORE": str(tmp_path / "store.sqlite")}  # checkpoints outlive the server
    port = _free_port()
    proc, url = start_streamlit("app.py", port, env)
    try:
        deadline = time.monotonic() + 60  # warm: a cold server's first script run is long
        while not worker_pids(proc.pid) and time.monotonic() < deadline:
            time.sleep(0.2)
        # 20000 steps at classroom pace: ~670 steps/s, so a run trained afresh after the
        # restart would show a few hundred steps where the resumed one shows thousands
        page = open_page(tab, url + "/batchnorm_lab?steps=20000&seed=64")  # streamed: loss
        try:  # both past step 3000 (CI on a loaded 2-core machine: not within 90 s, once)
            page.wait_for_function(
                "() => [...document.querySelectorAll('.bnviz-live-status')].flatMap(e =>"
                " e.innerText.split('\\n')).filter(t => /step ([3-9]\\d{3}|\\d{5}) \\//.test(t))"
                ".length === 2",
                timeout=120_000,
            )
        except PlaywrightTimeout:
            status = page.locator(".bnviz-live-status").all_inner_texts()
            pytest.fail(f"two runs past step 3000 within 120 s: {status}\n{server_log(proc)}")
        stop_server(proc, 30)  # SIGTERM: the workers write their checkpoints
        before = progress_steps(page)
        proc, _ = start_streamlit("app.py", port, env)
        seen = []
        for _ in range(240):  # the tab reconnects, is reloaded, its runs resume
            page.wait_for_timeout(250)
            try:
                now = progress_steps(page)
            except PlaywrightError:  # read while the page reloads
                continue
            if len(now) == 2 and min(now) > 0 and now != before:
                seen.append(now)
            if seen and all(b > a for a, b in zip(before, now, strict=True)):
                break
        notes = page.locator(".bnviz-live-note").all_inner_texts()
        assert seen, (before, notes)
        # resumed: near where they were (a fresh run shows a few hundred steps at first). Under
        # load the checkpoint written at the stop can be a second or so behind the status line
        assert all(b >= a / 2 for a, b in zip(before, seen[0], strict=True)), (before, seen[:3])
        assert all(b > a for a, b in zip(before, seen[-1], strict=True)), (before, seen[-3:])  # on
        assert t("run.live_gone") not in notes, notes
        no_exception(page)
    finally:
        if proc.poll() is None:  # the second server (the first failed the test if it hung)
            stop_server(proc, 30)


def test_a_chromium_without_a_chinese_font_is_refused(browser, tmp_path):
    """Until 12-07 the browser tests ran on a Chromium with no Chinese font: every Chinese
    character was an empty box of 5.8 px instead of 16, and the zh layout tests measured text a
    third as wide as a class sees. A fontconfig that knows only DejaVu stands for that machine."""
    conf = tmp_path / "fonts.conf"
    conf.write_text(
        '<?xml version="1.0"?><fontconfig><dir>/usr/share/fonts/truetype/dejavu</dir>'
        f"<cachedir>{tmp_path}/cache</cachedir></fontconfig>"
    )
    env = {**os.environ, "FONTCONFIG_FILE": str(conf)}
    bare = browser.browser_type.launch(executable_path=CHROMIUM, args=ARGS, env=env)
    try:
        assert CJK_FONT in (chinese_font_missing(bare) or ""), "boxes taken for characters"
    finally:
        bare.close()
    assert chinese_font_missing(browser) is None  # the suite's own browser has one


def test_each_lesson_names_its_browser_tab(tab, server):
    """An audit: every tab said "bnviz", so a student with several lessons open could not tell
    them apart. A lesson's tab carries its title in the page's language; home, the app's name."""
    page = open_page(tab, server + "/why_bn?lang=zh")
    page.wait_for_function(
        f"() => document.title === {lesson_title('why_bn', 'zh')!r}", timeout=30_000
    )
    page.goto(server + "/home")
    page.wait_for_selector("text=Lessons", timeout=30_000)
    page.wait_for_function("() => document.title === 'bnviz'", timeout=30_000)
    no_exception(page)


def progress_steps(page) -> list[int]:
    """Each run's step, from its progress bar or (streamed charts) the chart's status lines."""
    texts = page.locator('[data-testid="stProgress"]').all_inner_texts()
    for block in page.locator(".bnviz-live-status").all_inner_texts():
        texts += block.splitlines()
    return [int(m.group(1)) for t in texts if (m := re.search(r"step (\d+) /", t))]


def test_lab_start_grows_pause_and_reset(tab, server):
    page = open_page(tab, server + "/batchnorm_lab?steps=20000&seed=21")  # trains on open
    no_exception(page)
    page.wait_for_function(
        "() => document.querySelectorAll('.js-plotly-plot .scatterlayer .trace').length >= 4",
        timeout=60_000,
    )
    page.wait_for_function(  # the workers may still be warming up right after the server start
        "() => [...document.querySelectorAll('[data-testid=stProgress], .bnviz-live-status')]"
        ".some(e => /step [1-9]\\d* \\//.test(e.innerText))",
        timeout=60_000,
    )
    first = progress_steps(page)
    for _ in range(60):  # both grow (the status refresh backs off when the server is busy)
        page.wait_for_timeout(500)
        later = progress_steps(page)
        if len(later) == 2 and all(b > a for a, b in zip(first, later, strict=True)):
            break
    assert len(first) == 2 and all(b > a for a, b in zip(first, later, strict=True)), (first, later)
    no_exception(page)
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / "lab.png"), full_page=True)
    page.get_by_role("button", name="Pause", exact=True).click()
    # both runs pause at one step: the one behind trains on to it for up to PAUSE_WAIT_S (in
    # CI one line said "paused" at 3201 while the other went on from 2905 to 3021)
    page.wait_for_function(
        "() => { const lines = [...document.querySelectorAll("
        "'[data-testid=stProgress], .bnviz-live-status')].flatMap(e => e.innerText.split('\\n'))"
        ".filter(t => /step \\d+ \\//.test(t));"
        " return lines.length === 2 && lines.every(t => /paused/.test(t)); }",
        timeout=30_000,
    )
    page.wait_for_timeout(1200)
    paused = progress_steps(page)
    page.wait_for_timeout(1200)
    assert progress_steps(page) == paused
    page.get_by_role("button", name="Reset", exact=True).click()
    page.wait_for_function(
        "() => [...document.querySelectorAll('[data-testid=stProgress], .bnviz-live-status')]"
        ".some(e => /step \\d+ \\//.test(e.innerText))",
        timeout=30_000,
    )
    # the new pair's chart shows both runs' status lines, back near step 0 (right after the
    # click the old chart's lines are still there: run alone, the test once read one of them)
    for _ in range(80):
        page.wait_for_timeout(250)
        now = progress_steps(page)
        if len(now) == 2 and max(now) < min(paused):
            break
    assert len(now) == 2 and max(now) < min(paused), (paused, now)
    pause_if_running(page, "Pause")  # leave the workers idle
    no_exception(page)
    page.close()


def _wait_buttons(page, want: dict[str, bool], timeout_s: float = 30.0) -> None:
    """Wait until each named run button is enabled (True) or disabled (False)."""
    seen = {}
    for _ in range(int(timeout_s * 4)):
        seen = {n: page.get_by_role("button", name=n, exact=True).is_enabled() for n in want}
        if seen == want:
            return
        page.wait_for_timeout(250)
    raise AssertionError(f"after {timeout_s} s the buttons are {seen}, not {want}")


RUNNING, PAUSED = {"Pause": True, "Resume": False}, {"Pause": False, "Resume": True}


@pytest.mark.parametrize(("view", "seed"), [("loss", 31), ("percentiles", 32)])
def test_another_tab_pausing_and_resuming_a_shared_run_redraws_the_buttons(
    browser, tab, server, view, seed
):
    """An audit (5): a student's tab on the class's shared run was not told when the teacher
    paused it (its Pause stayed enabled, Resume off, so it could not resume), nor when it was
    resumed. Streamed (loss: stream_chart.js asks for the rerun) and polled views."""
    url = f"{server}/batchnorm_lab?steps=100000&seed={seed}&view={view}"
    teacher = open_page(tab, url)
    teacher.wait_for_function(
        "() => [...document.querySelectorAll('[data-testid=stProgress], .bnviz-live-status')]"
        ".some(e => /training/.test(e.innerText))",
        timeout=60_000,
    )
    _wait_buttons(teacher, RUNNING)
    student = new_tab(browser, url)  # the same settings: the same runs
    _wait_buttons(student, RUNNING)
    teacher.get_by_role("button", name="Pause", exact=True).click()
    _wait_buttons(student, PAUSED)  # told within a poll or two
    student.get_by_role("button", name="Resume", exact=True).click()
    _wait_buttons(teacher, RUNNING)
    no_exception(teacher)
    no_exception(student)
    teacher.get_by_role("button", name="Pause", exact=True).click()
    student.close()


STEPS = """() => [...document.querySelectorAll('[data-testid=stProgress], .bnviz-live-status')]
  .map(e => e.innerText).join(' ')"""
SOURCES = """() => [...document.querySelectorAll('.bnviz-live')]
  .map(b => b.parentElement.__bnvizLive?.data.src)"""


@pytest.mark.parametrize(("view", "seed"), [("loss", 35), ("percentiles", 36)])
def test_a_reset_in_another_tab_is_followed_by_every_tab_on_the_run(
    browser, tab, server, view, seed
):
    """Audit 15: the teacher's Reset started a new run for the teacher's tab only; the students'
    tabs stood on the dropped run ("Live updates stopped … Press Reset", or their charts gone:
    "dropped after a long idle time"), and a student's Reset did the same to the projector."""
    url = f"{server}/batchnorm_lab?steps=100000&seed={seed}&view={view}"
    student = new_tab(browser, url)
    try:
        student.wait_for_function(f"() => /training · step/.test(({STEPS})())", timeout=90_000)
        before = student.evaluate(SOURCES)
        teacher = open_page(tab, url)  # the same settings: the same runs
        _wait_buttons(teacher, RUNNING)
        teacher.get_by_role("button", name="Reset", exact=True).click()
        settle(teacher)
        student.wait_for_timeout(5000)  # the old code said "gone" at its next poll
        text = student.locator("[data-testid=stMain]").inner_text()
        gone = [t(key) for key in ("run.dropped", "run.live_gone")]
        assert not [g for g in gone if g[:20] in text], text
        if view == "loss":  # the student's charts stream the teacher's new runs
            assert student.evaluate(SOURCES) == teacher.evaluate(SOURCES) != before
        lines = student.evaluate(STEPS)
        student.wait_for_function(f"() => ({STEPS})() !== {lines!r}", timeout=30_000)  # moving
        _wait_buttons(student, RUNNING)
        no_exception(student)
        no_exception(teacher)
        pause_if_running(teacher, "Pause")  # leave the workers idle
    finally:
        student.close()


def test_a_big_run_says_how_long_it_will_take_streamed_and_polled(tab, server):
    """An audit (5): 10 layers x 512 units trained for minutes under "a run takes ~30 s"."""
    # 100,000 steps of 10 x 512: minutes at any speed (1500 steps keep classroom pace, ~50
    # steps/s, on an idle machine: the line then rightly says nothing)
    page = open_page(tab, server + "/batchnorm_lab?depth=10&width=512&steps=100000&seed=34")
    page.wait_for_function(  # the streamed chart's status lines (stream_chart.js)
        "() => [...document.querySelectorAll('.bnviz-live-status')]"
        ".some(e => /training · step \\S+ \\/ \\S+ · about \\d+ min left/.test(e.innerText))",
        timeout=90_000,
    )
    page.get_by_role("radio", name="Distributions").click()  # a polled view: progress bars
    page.wait_for_function(
        "() => [...document.querySelectorAll('[data-testid=stProgress]')]"
        ".some(e => /training · step \\S+ \\/ \\S+ · about \\d+ min left/.test(e.innerText))",
        timeout=90_000,
    )
    no_exception(page)
    pause_if_running(page, "Pause")  # leave the workers idle


LR_SHOWN = (
    '() => document.querySelector(\'[data-testid="stSidebar"] [data-testid="stSlider"]'
    ' [data-testid="stSliderThumbValue"]\')?.innerText'
)


def _lab_shows(page, lr: str, sentence: str) -> None:
    """The lab's sidebar shows learning rate `lr` and the page says `sentence`."""
    page.wait_for_function(f"() => ({LR_SHOWN})() === {lr!r}", timeout=90_000)
    settle(page)
    page.get_by_text(sentence).first.wait_for(timeout=30_000)


def test_a_share_link_names_the_language_the_page_is_shown_in(browser, server):
    """Audit 23: a teacher reading the Chinese page in a zh-CN browser shared a link without
    lang=, which a student's English browser opened in English. The address stays short (the
    browser's language), the share link names it; a link's lang= stays in the address."""
    page = new_tab(browser, server + "/why_bn?w=0.8&seed=4", locale="zh-CN")
    try:
        code = page.locator('[data-testid="stSidebar"] [data-testid="stCode"]').first
        code.wait_for(timeout=60_000)
        settle(page)
        assert "lang=zh" in code.inner_text() and "lang=" not in page.url, page.url
        page.goto(server + "/why_bn?w=0.8&seed=4&lang=zh")
        page.wait_for_selector('[data-testid="stSidebar"] [data-testid="stCode"]', timeout=60_000)
        settle(page)
        page.wait_for_timeout(1000)
        assert "lang=zh" in page.url, page.url  # not dropped as the browser's own
        no_exception(page)
    finally:
        page.close()


def test_the_document_says_the_language_it_is_shown_in(browser, server):
    """Audit 25: Chinese pages said <html lang="en"> (Streamlit's), so a screen reader read them
    in an English voice. The home page and a lesson in Chinese say zh-CN; a switch to English
    says en. Streamlit's "Skip to main content", the first Tab stop, is in the page's language
    too, after a move to another lesson by the navigation bar as well (audit 27)."""
    page = new_tab(browser, server + "/?lang=zh", locale="zh-CN")

    def says(lang: str, skip: str) -> None:
        page.wait_for_function(
            "([lang, skip, link]) => document.documentElement.lang === lang"
            " && document.querySelector(link)?.textContent === skip",
            arg=[lang, skip, SKIP_LINK],
            timeout=60_000,
        )

    try:
        says("zh-CN", t("app.skip_to_main", "zh"))
        page.goto(server + "/running_stats?lang=zh&seed=6")
        says("zh-CN", t("app.skip_to_main", "zh"))
        settle(page)
        page.keyboard.press("Tab")  # the first Tab stop, shown when focused
        focused = page.evaluate("document.activeElement.textContent")
        assert focused == t("app.skip_to_main", "zh"), focused
        page.get_by_role("button", name=t("nav.section.batchnorm", "zh")).click()  # a group
        page.locator('a[href$="/why_bn"]').click()  # (its name has its icon's: "psychology…")
        page.wait_for_url("**/why_bn**", timeout=60_000)
        settle(page)
        says("zh-CN", t("app.skip_to_main", "zh"))
        page.get_by_role("radio", name="English").click()
        says("en", "Skip to main content")
        no_exception(page)
    finally:
        page.close()


# an element's opacity as drawn (its own times its ancestors') and whether it is visible
SEEN = """e => {
  let opacity = 1;
  for (let n = e; n; n = n.parentElement) opacity *= +getComputedStyle(n).opacity;
  return { opacity, visible: getComputedStyle(e).visibility === "visible" };
}"""


def test_the_share_link_can_be_copied_with_the_keyboard(browser, server):
    """Audit 25: the share link's copy button showed on hover only and, hidden, was out of the
    Tab order: a keyboard could not copy the link. Tab from the link reaches it, Enter copies."""
    context = browser.new_context(
        viewport={"width": 1280, "height": 720}, permissions=["clipboard-read", "clipboard-write"]
    )
    page = context.new_page()
    try:
        page.goto(server + "/babysitting?seed=12&lang=en")
        code = page.locator('[data-testid="stSidebar"] [data-testid="stCode"]').first
        code.wait_for(timeout=60_000)
        settle(page)
        code.focus()
        page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.getAttribute('aria-label')") == (
            "Copy to clipboard"
        )
        seen = page.evaluate(SEEN, page.evaluate_handle("document.activeElement"))
        assert seen == {"opacity": 1, "visible": True}, seen  # audit 26: focused, yet opacity 0
        page.keyboard.press("Enter")
        page.wait_for_function("navigator.clipboard.readText().then(t => t.includes('seed=12'))")
        assert page.evaluate("navigator.clipboard.readText()") == code.inner_text().strip()
        no_exception(page)
    finally:
        context.close()


def test_captions_and_the_keyboard_s_place_are_seen_on_a_projector(browser, server):
    """Audit 25: captions (measured numbers) were 3.9:1 on white and the focus ring 1.9:1. As
    drawn: captions at least 4.5:1, and a control reached with Tab has a 3 px outline."""
    from bnviz.figures.theme import contrast

    page = new_tab(browser, server + "/initialization?seed=13&lang=en")
    try:
        caption = page.locator('[data-testid="stCaptionContainer"]').first
        caption.wait_for(timeout=60_000)
        rgb = caption.evaluate("e => getComputedStyle(e).color")  # "rgb(r, g, b)"
        r, g, b = (int(v) for v in rgb[4:-1].split(","))
        assert contrast(f"#{r:02X}{g:02X}{b:02X}") >= 4.5, rgb
        seen = caption.evaluate(SEEN)  # as drawn: Streamlit dims captions to 0.6 (audit 26)
        assert seen == {"opacity": 1, "visible": True}, seen
        page.get_by_role("radio", name=t("initialization.preset.cs231n_small")).focus()
        for key in ("Shift+Tab", "Tab", "Tab"):  # the views' control; a chart's toolbar button
            page.keyboard.press(key)
            ring = page.evaluate("getComputedStyle(document.activeElement).outlineWidth")
            assert ring == "3px", (key, ring)
    finally:
        page.close()


def test_the_home_page_is_seen_and_used_by_keyboard_as_the_lessons_are(browser, server):
    """The home page did not load the lessons' style sheet: Streamlit's 1.9:1 focus ring, its
    captions dimmed to 0.6, and the share link's copy button seen on hover only (out of the
    Tab order). Now it has the lessons' (assets/access.css), not their one-screen layout."""
    page = new_tab(browser, server + "/?lang=en")
    try:
        caption = page.locator('[data-testid="stCaptionContainer"]').first
        caption.wait_for(timeout=60_000)
        assert caption.evaluate(SEEN) == {"opacity": 1, "visible": True}
        page.locator('[data-testid="stPageLink-NavLink"]').first.focus()
        page.keyboard.press("Tab")  # the next lesson's link
        ring = page.evaluate("getComputedStyle(document.activeElement).outlineWidth")
        assert ring == "3px", ring
        page.locator('[data-testid="stSidebar"] [data-testid="stCode"]').first.focus()
        page.keyboard.press("Tab")
        label = page.evaluate("document.activeElement.getAttribute('aria-label')")
        assert label == "Copy to clipboard", label
        seen = page.evaluate(SEEN, page.evaluate_handle("document.activeElement"))
        assert seen == {"opacity": 1, "visible": True}, seen
        size = page.locator('[data-testid="stMain"] h1').first.evaluate(
            "e => parseFloat(getComputedStyle(e).fontSize)"
        )
        h3 = page.locator('[data-testid="stMain"] h3').first.evaluate(
            "e => parseFloat(getComputedStyle(e).fontSize)"
        )
        assert size > h3, (size, h3)  # the title stays the largest (not a lesson's 1.65 rem)
        no_exception(page)
    finally:
        page.close()


def test_back_and_forward_bring_back_the_settings_of_each_address(tab, server):
    """D10: after a preset, Back changed the address to the earlier settings and the page wrote
    its own back at once (its widgets kept the preset's values): Back did nothing, and a second
    Back left the page. Now each Back shows the earlier settings, Forward the later ones; and an
    address the page rewrote (a bad value's note) does not trap Back on it."""
    page = open_page(tab, server + "/?lang=en")
    page.goto(server + "/batchnorm_lab?seed=49&lang=en")
    _lab_shows(page, "1", t("lab.look_for.default"))
    page.get_by_role("radio", name=t("lab.preset.large_lr")).click()
    _lab_shows(page, "3", t("lab.preset.large_lr_what"))
    assert "lr=3" in page.url, page.url
    page.go_back()
    _lab_shows(page, "1", t("lab.look_for.default"))
    assert "lr=" not in page.url, page.url
    page.go_forward()
    _lab_shows(page, "3", t("lab.preset.large_lr_what"))
    pause_if_running(page)
    no_exception(page)
    # a bad value: the page rewrites the address with a note (a new history entry); Back to the
    # address as typed is not loaded again (it would be rewritten and pushed again, for ever)
    page.goto(server + "/batchnorm_lab?seed=49&lang=en&lr=abc")
    _lab_shows(page, "1", t("lab.look_for.default"))
    rewritten = page.url
    assert "lr=" not in rewritten, rewritten
    page.go_back()  # the address as typed: rewritten in place
    page.wait_for_timeout(2000)
    settle(page)
    page.go_back()  # the preset's address before it
    _lab_shows(page, "3", t("lab.preset.large_lr_what"))  # its runs, paused above
    no_exception(page)


def test_the_address_a_tab_opened_with_is_kept_only_once_no_script_runs(browser, server):
    """CI, a loaded machine: the lab's first run wrote a bad value's note into the address more
    than 2 s after the chart's script came, so the address as typed was kept; Back to it
    reloaded it, the page rewrote and pushed it again, and the next Back stayed there. The
    address is kept at the first moment no script runs after the 2 s. Here the script state is
    a stand-in (a page of the server's own, with the chart's script added), so the run can be
    held as long as the test likes."""
    page = browser.new_page()
    try:
        page.goto(server + "/_stcore/health")  # the server's origin: its sessionStorage
        page.evaluate(
            """() => { window.__bnvizKeptWaitMs = 100;
            const s = document.createElement('div');
            s.setAttribute('data-test-script-state', 'running');
            document.body.appendChild(s); }"""
        )
        page.add_script_tag(path=str(Path("assets/js/load_plotly.js").resolve()))
        kept = "() => sessionStorage.getItem('bnvizKept') || ''"
        page.wait_for_timeout(1500)  # 15 times the wait: the first run still under way
        assert page.url not in page.evaluate(kept)
        page.evaluate(
            "() => document.querySelector('[data-test-script-state]')"
            ".setAttribute('data-test-script-state', 'notRunning')"
        )
        page.wait_for_function(f"() => ({kept})().includes({page.url!r})", timeout=10_000)
    finally:
        page.close()


def test_back_after_a_preset_clicked_at_once_shows_the_settings_before_it(browser, server):
    """A preset clicked within 2 s of the page's first chart (the teacher's pass at stop 46):
    the address the tab opened with was not yet known to be kept, so Back to it did nothing and
    a second Back left the lesson. A click made when no script runs and the address is still the
    one opened keeps it. Here the 2-second rule is held off, so only the click can keep it."""
    page = browser.new_page(locale="en-US", viewport={"width": 1280, "height": 720})
    page.add_init_script("window.__bnvizKeptWaitMs = 600000")
    try:
        page.goto(server + "/batchnorm_lab?seed=52")  # kept as it is (lang=en would be dropped)
        _lab_shows(page, "1", t("lab.look_for.default"))
        page.wait_for_selector(".js-plotly-plot .main-svg", timeout=60_000)  # the script came
        opened = page.url
        assert opened == server + "/batchnorm_lab?seed=52"
        assert page.evaluate("() => history.state") is None  # the entry the tab opened with
        assert opened not in (page.evaluate("() => sessionStorage.getItem('bnvizKept')") or "")
        page.get_by_role("radio", name=t("lab.preset.large_lr")).click()
        _lab_shows(page, "3", t("lab.preset.large_lr_what"))
        page.go_back()
        _lab_shows(page, "1", t("lab.look_for.default"))
        assert page.url == opened, page.url
        pause_if_running(page)
        no_exception(page)
    finally:
        page.close()


@pytest.mark.parametrize(
    "seed", [61, 62, 63]
)  # fresh runs: the first view's finish in its first run
def test_a_first_visit_keeps_classroom_pace_and_its_view_lit(browser, server, seed):
    """Audit 38: on a fresh tab of babysitting with a new seed, the pace toggle was drawn off
    and no view was lit, in 5 of 6 zh tabs here: the browser had mounted both afresh at their
    defaults, and sent that back with the next click, whose runs then trained at full speed
    (400 steps in under 6 s). Each run passes them as the controls' defaults now."""
    # a tab of its own, as a student's: its context's cache is cold, as in the audit (the
    # session's tab, with Streamlit's scripts cached, did not show it in 3 of 3)
    page = new_tab(browser, f"{server}/babysitting?seed={seed}&lang=zh", "zh-CN")
    page.set_viewport_size({"width": 1280, "height": 720})
    page.wait_for_timeout(3000)  # the first view's 1-step runs end; the page reruns
    settle(page)
    pace = page.locator("[data-testid=stSidebar] input[type=checkbox]").first
    lit = '[class*="-view"] [data-testid=stButtonGroup] button[aria-checked=true]'
    assert pace.is_checked() and page.locator(lit).count() == 1
    views = page.locator('[class*="-view"] [data-testid=stButtonGroup] button')
    views.filter(has_text="3 ·").first.click()
    # CI once read "1 ·" here after settle() (stop 59, when every run sent the view: a run under
    # way at the click drew the old view back; not reproduced here in 40 tries). The click's
    # view is waited for, as an eye does; a click that is lost still fails, after 60 s
    page.wait_for_function(
        f"() => document.querySelector({lit!r})?.innerText.startsWith('3 ·')", timeout=60_000
    )
    settle(page)
    assert pace.is_checked(), "the click sent the pace toggle as off"
    assert page.locator(lit).inner_text().startswith("3 ·")
    no_exception(page)
    page.close()
