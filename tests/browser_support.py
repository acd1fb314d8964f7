"""Real headless Chromium against one real `streamlit run app.py` per test session.

These tests need Debian's /usr/bin/chromium and the playwright package. They skip only when
BNVIZ_ALLOW_NO_BROWSER=1 is set; CI does not set it, so there they must run.
"""

from __future__ import annotations

import collections
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
SHOTS = ROOT / "shots"
ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic",
]  # fmt: skip


def _browser_missing() -> str | None:
    try:
        import playwright  # noqa: F401
    except ImportError:
        return "the playwright package is not installed"
    if not shutil.which(CHROMIUM):
        return f"{CHROMIUM} is missing (apt-get install -y chromium)"
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_streamlit(
    script: str | Path, port: int | None = None, env: dict[str, str] | None = None
) -> tuple[subprocess.Popen, str]:
    """`streamlit run script` from the project's folder (its .streamlit/config.toml) on `port`
    (a free one by default), with `env` added, once it answers: (its process, its URL)."""
    port = port or _free_port()
    env = {k: v for k, v in os.environ.items() if k != "BNVIZ_BACKEND"} | (env or {})
    cmd = [sys.executable, "-m", "streamlit", "run", str(script), "--server.port", str(port)]
    proc = subprocess.Popen(
        cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    # read all along: a pipe nobody read would block the server once 64 KB of log waited in it
    proc.log = collections.deque(maxlen=LOG_LINES)
    proc.drained = threading.Thread(target=_drain, args=(proc,), daemon=True)  # at its EOF
    proc.drained.start()
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            if urllib.request.urlopen(url + "/_stcore/health", timeout=1).read() == b"ok":
                return proc, url
        except OSError:
            pass
        assert proc.poll() is None, server_log(proc)
        assert time.monotonic() < deadline, "server did not start"
        time.sleep(0.3)


LOG_LINES = 400  # the end of a server's output kept for a failure's message


def _drain(proc: subprocess.Popen) -> None:
    for line in iter(proc.stdout.readline, b""):
        proc.log.append(line.decode(errors="replace"))


def server_log(proc: subprocess.Popen) -> str:
    """The end of a server's output (stdout and stderr)."""
    time.sleep(0.5)  # the reader thread's last lines
    return "".join(proc.log)[-12_000:]


def stop_server(proc: subprocess.Popen, timeout: float) -> None:
    """SIGTERM, and fail if the server has not exited within timeout s: then with every one of
    its threads' stacks (SIGUSR1: faulthandler, bnviz.ui.live_routes) and the end of its log
    (CI once saw a server not exit 60 s after SIGTERM; nothing said where it was)."""
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=timeout)
        return
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGUSR1)
        time.sleep(2.0)
        proc.kill()
        proc.wait(timeout=10)
    pytest.fail(f"the server did not stop within {timeout:.0f} s of SIGTERM:\n{server_log(proc)}")


@pytest.fixture(scope="session")
def server_process():
    """`streamlit run app.py` on a free port, (its process, its URL); stopped with SIGTERM at
    the end (must not hang)."""
    missing = _browser_missing()
    if missing:
        if os.environ.get("BNVIZ_ALLOW_NO_BROWSER") == "1":
            pytest.skip(missing)
        pytest.fail(missing + " — set BNVIZ_ALLOW_NO_BROWSER=1 to skip browser tests locally")
    proc, url = start_streamlit("app.py")
    yield proc, url
    workers = _children(proc.pid)
    assert workers, "the server should have started its worker processes"
    stop_server(proc, 20)
    deadline = time.monotonic() + 5
    while any(Path(f"/proc/{pid}").exists() for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not [pid for pid in workers if Path(f"/proc/{pid}").exists()], "workers outlived it"
    proc.drained.join(10)  # the whole log: the resource tracker writes it last, as it ends
    assert "leaked semaphore" not in server_log(proc), server_log(proc)  # pool._drop_inboxes


@pytest.fixture(scope="session")
def server(server_process):
    """The URL of the session's `streamlit run app.py`."""
    return server_process[1]


def worker_pids(server_pid: int) -> list[int]:
    """The server's worker processes (spawned; not multiprocessing's resource tracker)."""
    return [pid for pid in _children(server_pid) if b"spawn_main" in _cmdline(pid)]


def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


def _children(pid: int) -> list[int]:
    """Pids whose parent is `pid` (Linux /proc)."""
    out = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            out.append(int(stat.parent.name))
    return out


CJK_FONT = "fonts-noto-cjk"  # Debian's package of a Chinese font (Noto Sans CJK: Source Han Sans)
# two Chinese characters at 16 px: 32 px in any Chinese font (each 1 em); without one Chromium
# draws each as an empty box of 5.8 px (this machine, 12-07), and every zh layout test measured
# text a third narrower than a class sees it (a status line: 170 px instead of 241)
CJK_WIDTH = """() => { const e = document.createElement('span');
  e.style.font = '16px sans-serif'; e.textContent = '训练'; document.body.append(e);
  const width = e.getBoundingClientRect().width; e.remove(); return width; }"""


def chinese_font_missing(b) -> str | None:
    """Why browser `b` cannot show Chinese as a class sees it, or None."""
    page = b.new_page()
    try:
        width = page.evaluate(CJK_WIDTH)
    finally:
        page.close()
    if width >= 30:
        return None
    return (
        f"Chromium has no Chinese font: two characters measured {width:.1f} px, not 32 "
        f"(empty boxes), so the Chinese pages' layout cannot be tested "
        f"(apt-get install -y {CJK_FONT})"
    )


@pytest.fixture(scope="session")
def browser(server):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        missing = chinese_font_missing(b)
        if missing:  # not skipped: the zh tests would pass on text narrower than it is
            b.close()
            pytest.fail(missing)
        yield b
        b.close()


@pytest.fixture(scope="session")
def _tabs(browser):
    """[the session's one tab], opened on first use (again if a test closed it)."""
    tabs = []
    yield tabs
    for page in tabs:
        if not page.is_closed():
            page.close()


@pytest.fixture
def tab(_tabs, browser):
    """The session's one tab (en-US), navigated by each test that needs one page.

    Navigating a tab the browser has costs Chromium 1.4-2.9 s of CPU per page load; a new tab,
    4-6.4 s, in a new context or the same one: it starts a renderer process and compiles
    Streamlit's and plotly's scripts cold (`/proc` CPU of the browser's processes, lab,
    activations, standardization). The suite is CPU-bound, so that was ~1.5 min of its time.
    After the test the tab goes to about:blank: the page's Streamlit session ends, as a closed
    tab's does, and no test finds what the previous one left.
    """
    if not _tabs or _tabs[0].is_closed():
        _tabs[:] = [browser.new_page(locale="en-US", viewport={"width": 1400, "height": 1000})]
    yield _tabs[0]
    if not _tabs[0].is_closed():  # not waiting for the blank page's load: a busy page took 5 s
        _tabs[0].goto("about:blank", wait_until="commit")


def open_page(tab, url: str, width: int = 1400, height: int = 1000):
    """`url` in the session's tab (the `tab` fixture) at width x height, settled."""
    tab.set_viewport_size({"width": width, "height": height})
    tab.goto(url)
    settle(tab)
    return tab


def new_tab(browser, url: str, locale: str = "en-US"):
    """`url` in a tab of its own (a second tab, another locale, routes), settled; the test
    closes it."""
    page = browser.new_page(locale=locale, viewport={"width": 1400, "height": 1000})
    page.goto(url)
    settle(page)
    return page


def settle(page, timeout: float = 90_000):
    """Connected, the page's script has drawn its title, and no script run is under way.

    90 s, as the tests' waits for a drawn chart: on a loaded machine (load 9 on 2 cores) a page
    that has just started a preset's runs took over 60 s to finish a script run (activations'
    dead-ReLU view, 13 s idle, until its bias remedy moved to the background).

    "notRunning" alone is also the state before the first run starts: a test that acted on
    it could find only what a previous run left (or nothing) and click the wrong element.
    On a lesson page, also: its house style applied (HOUSE_STYLE).
    """
    page.wait_for_selector('[data-test-connection-state="CONNECTED"]', timeout=timeout)
    page.wait_for_selector('[data-testid="stMain"] h1', timeout=timeout)
    page.wait_for_selector('[data-test-script-state="notRunning"]', timeout=timeout)
    page.wait_for_function(HOUSE_STYLE, timeout=timeout)
    # right after a click the state may still read "notRunning" from before it: what the last
    # run drew is greyed ("stale") until the new run has drawn its own (CI measured a greyed
    # view's chart, below the fold, as the new view's)
    page.wait_for_function(NOTHING_STALE, timeout=timeout)


NOTHING_STALE = """() => !document.querySelector('[data-testid="stMain"] [data-stale="true"]')"""

# a lesson page has its house style (assets/style.css) applied: for a moment after a script run
# the browser lays the page out without it (title twice as large, the page ~100 px lower)
HOUSE_STYLE = """() => !document.querySelector('.st-key-look_for')
  || getComputedStyle(document.documentElement).getPropertyValue('--bnviz-style').trim() === '1'"""


def click_preset(page, label: str, timeout: float = 60_000, within: str = ""):
    """Click the preset pill (or view button) labelled `label` (never the same words in the
    page's prose), and wait for the page the click makes: its settings in the address, drawn.
    `within`: a selector the button group is in (a page's row of views: '[class*="-view"]')."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    pill = page.locator(f'{within} [data-testid="stButtonGroup"] button'.strip()).filter(
        has_text=re.compile(rf"^\s*{re.escape(label)}\s*$")
    )
    pill.first.wait_for(state="visible", timeout=timeout)
    chosen = pill.first.get_attribute("aria-checked") == "true"  # a click would change nothing
    before = page.evaluate("() => location.href")
    pill.first.click()
    if not chosen:
        # the click's script run writes the preset's settings into the address. Without this
        # wait, settle() could read "notRunning" from before that run started and the test go on
        # with the page before the click (the project's CI, stop 54: the Ioffe preset's layout
        # test read the default sentence)
        changed = "b => location.href !== b"
        try:
            page.wait_for_function(changed, arg=before, timeout=30_000)
        except PlaywrightTimeout:
            # a click lost on a loaded machine (the project's CI, stop 56: twice in one run, the
            # address unchanged 90 s on): clicked again, as a teacher would. Not if it took: a
            # second click on a chosen pill would deselect it
            if pill.first.get_attribute("aria-checked") != "true":
                pill.first.click()
            page.wait_for_function(changed, arg=before, timeout=90_000)
        settle(page)


def pause_if_running(page, label: str = "Pause") -> None:
    """Leave the workers idle: press Pause unless the page's runs have ended.

    A classroom-pace run lasts ~30 s; on a loaded machine a test can reach its last click after
    that, when Pause is greyed out (the project's CI, stop 53: a 30 s wait on a disabled button).
    """
    from playwright.sync_api import TimeoutError as ClickTimeout

    button = page.get_by_role("button", name=label, exact=True)
    try:
        button.click(timeout=10_000)
    except ClickTimeout:  # acceptable only if the runs ended
        assert button.is_disabled(), f"{label} was neither clickable nor greyed out"


def no_exception(page):
    shown = page.locator('[data-testid="stException"]').all_inner_texts()
    assert not shown, shown
    content = page.content()
    at = content.find("Traceback")
    assert at < 0, content[at : at + 2000]
