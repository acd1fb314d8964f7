"""Shared test set-up: one torch thread, the repo on sys.path, thread workers for AppTest."""

import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
# Page tests run the app in this process; thread workers start instantly (the real server uses
# worker processes: tests/test_runner.py and the browser tests cover those).
os.environ.setdefault("BNVIZ_BACKEND", "thread")
# Page tests must not find runs a previous test session left in the user's run store.
os.environ.setdefault("BNVIZ_STORE", "off")

import torch  # noqa: E402

torch.set_num_threads(1)


@pytest.fixture(scope="session")
def root() -> Path:
    """The repository's top folder."""
    return ROOT


@pytest.fixture(autouse=True)
def _close_the_tab():
    """After each test, the AppTest "tab" closes, as a browser tab would: it lets go of its runs.

    Every AppTest shares one session id, so without this a test's runs would count against the
    next test's per-tab quota (5 open runs: Quotas.max_per_session in bnviz/runner.py) and its
    Start would be refused as busy.
    """
    yield
    common = sys.modules.get("bnviz.ui.common")
    if common is not None:
        sched = common.scheduler()
        for session in {session for session, _ in list(sched.slots)}:  # only test sessions here
            sched.release(session)


@pytest.fixture(scope="session", autouse=True)
def _stop_the_workers():
    """At the end, stop the in-process scheduler's workers before the interpreter tears down.

    A worker thread still building a run (a page test's digits run) imported modules during
    interpreter shutdown: "can't register atexit after shutdown" in the log.
    """
    yield
    common = sys.modules.get("bnviz.ui.common")
    if common is not None:
        common.scheduler().shutdown()


from tests.browser_support import (  # noqa: E402, F401  (session-wide fixtures)
    _tabs,
    browser,
    server,
    server_process,
    tab,
)


def pytest_runtest_logreport(report):
    """BNVIZ_TIMELINE=<file>: a line per test phase (worker, start, stop, phase, test id), to
    see where the suite's time goes: which worker sits idle at the end, what runs beside what.
    `python tests/timeline.py <file>` sums it up."""
    path = os.environ.get("BNVIZ_TIMELINE")
    node = getattr(report, "node", None)  # the controller's view of an xdist worker's report
    if path and (node is not None or not os.environ.get("PYTEST_XDIST_WORKER")):
        worker = getattr(getattr(node, "gateway", None), "id", "main")
        with open(path, "a") as out:
            out.write(f"{worker}\t{report.start:.3f}\t{report.stop:.3f}\t{report.when}\t")
            out.write(f"{report.nodeid}\n")


def pytest_terminal_summary(terminalreporter):
    """Print the cases each fuzz test tried (its `fuzz_cases` property), even with -q."""
    rows = [
        (report.nodeid, value)
        for reports in terminalreporter.stats.values()
        for report in reports
        if getattr(report, "when", "") == "call"
        for name, value in getattr(report, "user_properties", ())
        if name == "fuzz_cases"
    ]
    if rows:
        terminalreporter.write_sep("-", f"fuzz: {sum(v for _, v in rows)} cases tried")
        for nodeid, value in rows:
            terminalreporter.write_line(f"{value:6d}  {nodeid}")
