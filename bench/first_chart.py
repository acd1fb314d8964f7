"""Time from navigation to the first drawn chart, per page, in headless Chromium (warm server).

    python bench/first_chart.py [repeats]

Starts `streamlit run app.py` on a free port, visits every page once to warm it (imports,
caches, worker processes), then measures each page `repeats` times from `page.goto` to the
first plotly chart with data, in a new tab (the browser loads and starts plotly.js for it),
and then through the app's own navigation bar in an open tab (what a class does: plotly.js is
loaded once per tab). Baseline, measured in the same run: the home page's first paint (its
title), which has no chart: the difference is the chart's own cost. Goal: ≤ 2 s.
"""

from __future__ import annotations

import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import _common  # noqa: F401  (puts the repository on sys.path)

from bnviz.i18n import lesson_group, t

ROOT = Path(__file__).resolve().parent.parent
ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic",
]  # fmt: skip
PAGES = [p.stem.split("_", 1)[1] for p in sorted((ROOT / "pages").glob("[0-9][0-9]_*.py"))][1:]
DRAWN = (
    "() => [...document.querySelectorAll('.js-plotly-plot')]"
    ".some(p => p.querySelector('.trace, .contourlayer path, .barlayer .point'))"
)

STALE = """() => document.querySelectorAll('.js-plotly-plot').forEach(p => {
    p.__old = true;  // drawn by the previous page, unless plotly draws into it again
    if (p.on) p.on('plotly_afterplot', () => { p.__old = false; });
})"""
FRESH = (
    "() => [...document.querySelectorAll('.js-plotly-plot')].some(p => !p.__old"
    " && p.querySelector('.trace, .contourlayer path, .barlayer .point'))"
)


def start_server() -> tuple[subprocess.Popen, str]:
    """`streamlit run app.py` on a free port; returns the process and its URL once healthy."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    cmd = [sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port)]
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    for _ in range(200):
        try:
            if urllib.request.urlopen(url + "/_stcore/health", timeout=1).read() == b"ok":
                return proc, url
        except OSError:
            time.sleep(0.3)
    proc.kill()
    raise SystemExit("the server did not start")


def timed(browser, url: str, ready: str) -> float:
    """Seconds from navigation until the `ready` predicate holds."""
    page = browser.new_page(viewport={"width": 1280, "height": 720})
    t0 = time.perf_counter()
    page.goto(url)
    page.wait_for_function(ready, timeout=120_000)
    took = time.perf_counter() - t0
    page.close()
    return took


def navigated(page, name: str) -> float:
    """Seconds from a click on the page's link in the navigation bar until its chart is drawn."""
    page.evaluate(STALE)
    page.get_by_text(t(f"nav.section.{lesson_group(name)}"), exact=True).first.click()
    link = page.locator(f'a[href$="/{name}"]').first  # in the group's menu, now open
    link.wait_for()
    t0 = time.perf_counter()
    link.click()
    page.wait_for_function(
        f"() => location.pathname.endsWith('/{name}') && ({FRESH})()", timeout=120_000
    )
    return time.perf_counter() - t0


def main(repeats: int = 3) -> None:
    from playwright.sync_api import sync_playwright

    proc, url = start_server()
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
            title = "() => !!document.querySelector('h1')"
            cold = timed(browser, url, title)
            for name in PAGES:  # warm-up: imports, caches, workers
                timed(browser, f"{url}/{name}", DRAWN)
            base = statistics.median(timed(browser, url, title) for _ in range(repeats))
            print(f"first request after start (home title): {cold:6.2f} s")
            print(f"home page title (baseline):             {base:6.2f} s")
            for name in PAGES:
                t = statistics.median(
                    timed(browser, f"{url}/{name}", DRAWN) for _ in range(repeats)
                )
                print(f"{name:>16}: first chart {t:6.2f} s  ({t / base:4.1f}x the baseline)")
            tab = browser.new_page(viewport={"width": 1280, "height": 720})
            tab.goto(url)
            tab.wait_for_function(title, timeout=120_000)
            print("through the navigation bar of an open tab (from the previous lesson):")
            times = {name: [] for name in PAGES}
            for _ in range(repeats):
                for name in PAGES:
                    times[name].append(navigated(tab, name))
            for name, ts in times.items():
                t = statistics.median(ts)
                print(f"{name:>16}: first chart {t:6.2f} s  ({t / base:4.1f}x the baseline)")
            browser.close()
    finally:
        proc.terminate()
        proc.wait(20)


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 3)
