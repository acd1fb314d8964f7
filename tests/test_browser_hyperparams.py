"""Real headless Chromium: a sweep whose worker process dies says so, and Try again trains it."""

import os
import re
import signal

import pytest

from bnviz.i18n import t
from tests.browser_support import SHOTS, no_exception, open_page, settle, worker_pids

pytestmark = pytest.mark.browser

# 8 models x 300 steps at classroom pace (10 steps/s): ~30 s, long enough to be caught running
URL = "/hyperparams?view=caviar&models=8&steps=300&seed=90723"  # a seed no other test trains
STEPPING = (
    "() => [...document.querySelectorAll('[data-testid=stProgress]')]"
    ".some(e => /training · step [1-9]\\d* \\/ 300/.test(e.innerText))"
)


def test_a_sweep_whose_worker_dies_says_interrupted_and_try_again_trains_it(tab, server_process):
    proc, url = server_process
    page = open_page(tab, url + URL)
    no_exception(page)
    page.wait_for_function(STEPPING, timeout=60_000)  # the workers may still be warming up
    workers = worker_pids(proc.pid)
    assert workers, "the server should run its jobs in worker processes"
    for pid in workers:  # whichever runs the sweep: it has no checkpoint, so it is interrupted
        os.kill(pid, signal.SIGKILL)

    label = t("hyperparams.sweep.sweep")
    said = t("hyperparams.failed.interrupted", labels=label).replace("**", "")
    alert = page.locator('[data-testid="stAlert"]').filter(has_text=said)
    alert.wait_for(timeout=30_000)  # said within a poll or two of the death
    settle(page)
    assert page.locator('[data-testid="stProgress"]').count() == 0  # no bar stuck "training"
    where = page.locator('[data-testid="stCaptionContainer"]').filter(
        has_text=re.compile(rf"^{label}, at step [1-9]\d* of 300$")
    )
    assert where.count() == 1, page.locator('[data-testid="stCaptionContainer"]').all_inner_texts()
    no_exception(page)
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / "hyperparams-interrupted.png"), full_page=True)

    page.get_by_text(t("run.pace", seconds="30")).click()  # the new job at full speed
    settle(page)
    page.get_by_role("button", name=t("hyperparams.failed.retry")).click()
    done = t("run.status_idle", label=label, state=t("run.state.finished"), step=300, steps=300)
    page.locator('[data-testid="stProgress"]').filter(has_text=done).wait_for(timeout=120_000)
    settle(page)
    assert alert.count() == 0 and page.locator(".js-plotly-plot").count() >= 1  # its curves
    no_exception(page)
