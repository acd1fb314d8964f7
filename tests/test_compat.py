"""Each Streamlit internal bnviz/ui/_compat.py relies on, pinned: fails loudly on an upgrade."""

import contextlib
import inspect
import signal
import subprocess
import sys
import time
import typing
from pathlib import Path

import streamlit
from streamlit.commands import navigation
from streamlit.runtime import Runtime
from streamlit.runtime.pages_manager import PagesManager
from streamlit.testing.v1 import AppTest

from bnviz.ui import _compat

PROBE = """
import streamlit as st
from bnviz.ui import _compat
st.session_state["apptest"] = _compat.running_under_apptest()
st.session_state["sid"] = _compat.script_session_id()
"""


def test_pages_manager_flag_is_a_class_attribute_that_st_navigation_clears():
    hints = typing.get_type_hints(PagesManager)
    assert "uses_pages_directory" in hints, streamlit.__version__
    assert "PagesManager.uses_pages_directory = False" in inspect.getsource(navigation)
    saved = PagesManager.uses_pages_directory
    try:
        PagesManager.uses_pages_directory = True
        assert _compat.leave_pages_directory_mode() is True
        assert PagesManager.uses_pages_directory is False
        assert _compat.leave_pages_directory_mode() is False
        PagesManager.uses_pages_directory = None  # before the first PagesManager: set too
        assert _compat.leave_pages_directory_mode() is False
        assert PagesManager.uses_pages_directory is False
    finally:
        PagesManager.uses_pages_directory = saved


def test_apptest_resets_the_pages_flag_before_every_run():
    # why ensure_router must not rerun under AppTest (every click would be swallowed)
    assert "PagesManager.uses_pages_directory = None" in inspect.getsource(AppTest)


def test_runtime_singleton_and_apptest_detection():
    assert "_instance" in vars(Runtime), streamlit.__version__
    outside = Runtime._instance
    assert _compat.running_under_apptest() is (type(outside).__module__.startswith("unittest.mock"))
    at = AppTest.from_string(PROBE).run(timeout=30)
    assert not at.exception
    assert at.session_state["apptest"] is True  # AppTest installs a MagicMock Runtime
    assert isinstance(at.session_state["sid"], str) and at.session_state["sid"]
    assert Runtime._instance is outside  # AppTest put the real one back


def test_no_script_context_outside_a_run():
    assert _compat.script_session_id() is None


def test_the_legacy_pages_runner_is_where_we_look_for_it():
    """inside_legacy_pages_mode() walks the stack for this function of Streamlit's."""
    from streamlit.runtime.scriptrunner import script_runner

    from bnviz.ui._compat import LEGACY_PAGES_RUNNER, inside_legacy_pages_mode

    runner = getattr(script_runner, LEGACY_PAGES_RUNNER)
    assert callable(runner) and runner.__code__.co_name == LEGACY_PAGES_RUNNER
    assert not inside_legacy_pages_mode()  # a plain call is not inside it

    def outer():
        return inside_legacy_pages_mode()

    def legacy():
        return outer()

    legacy.__code__ = legacy.__code__.replace(co_name=LEGACY_PAGES_RUNNER)
    assert legacy() is True


WIDGETS_PROBE = """
import streamlit as st
from bnviz.ui import _compat
st.session_state["before"] = _compat.widget_keys_this_run()
st.number_input("n", key="probe.n")
if st.session_state.get("probe.n", 0) == 0:
    st.toggle("t", key="probe.t")
st.session_state["after"] = _compat.widget_keys_this_run()
"""


def test_widget_keys_this_run_are_the_keys_drawn_so_far_in_this_run():
    """controls.release_undrawn reads which settings' widgets a run drew."""
    assert _compat.widget_keys_this_run() == frozenset()  # outside a run
    at = AppTest.from_string(WIDGETS_PROBE).run(timeout=30)
    assert not at.exception
    assert at.session_state["before"] == frozenset()
    assert at.session_state["after"] == {"probe.n", "probe.t"}
    at.number_input(key="probe.n").set_value(1).run()  # the toggle is not drawn this run
    assert at.session_state["after"] == {"probe.n"}


def test_the_served_app_leaves_pages_mode_before_any_tab_connects():
    """`streamlit run app.py` imports app.py as the module `app` (its st.App) before any tab
    connects; the flag it clears is read once, by the first PagesManager, only while unset.
    Set, no tab runs in the old pages/ mode (the first visitor after a restart at /index saw
    "Page not found"; tests/test_browser.py)."""
    assert "if PagesManager.uses_pages_directory is None:" in inspect.getsource(PagesManager)
    probe = (
        "import app\n"
        "from streamlit.runtime.pages_manager import PagesManager\n"
        "print(PagesManager.uses_pages_directory)\n"
    )
    root = Path(__file__).resolve().parents[1]
    out = subprocess.run(
        [sys.executable, "-c", probe], cwd=root, capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines()[-1] == "False", out.stdout


def test_the_skip_link_we_translate_is_in_streamlit_s_frontend():
    """common.mark_language finds Streamlit's "Skip to main content" link by this test id; the
    frontend's bundle renders it with that id and that English text (the browser test checks
    the translation on a page)."""
    import re
    from pathlib import Path

    import streamlit

    from bnviz.ui._compat import SKIP_LINK

    test_id = re.fullmatch(r"\[data-testid=(\w+)\]", SKIP_LINK).group(1)
    bundles = Path(streamlit.__file__).parent.glob("static/static/js/*.js")
    found = [b.name for b in bundles if f"`{test_id}`" in (text := b.read_text("utf-8"))
             and "Skip to main content" in text]  # fmt: skip
    assert found, f"no Streamlit bundle renders {SKIP_LINK} any more"


HANGING_APP = """
import asyncio
import os

import streamlit as st
from starlette.routing import Route

from bnviz.ui.live_routes import lifespan, routes


async def hang(request):  # a request that never ends (as a stuck connection would)
    open(os.environ["HANG_MARK"], "w").close()
    await asyncio.Event().wait()


app = st.App(__file__, routes=[*routes(), Route("/bnviz/hang", hang)], lifespan=lifespan)
"""


def test_a_server_stops_on_sigterm_with_a_request_still_open(tmp_path):
    """Streamlit serves st.App with uvicorn and no graceful-shutdown timeout: after SIGTERM
    uvicorn waited for every open request and connection, for ever (CI: a server not exited 30 s
    after SIGTERM, its main thread in uvicorn's event loop). Our lifespan bounds the wait
    (_compat.bound_graceful_shutdown, through the SIGTERM handler uvicorn installs), so a
    request that never ends is cancelled and the server exits by the signal."""
    import threading
    import urllib.request

    from tests.browser_support import server_log, start_streamlit, stop_server

    script, mark = tmp_path / "hanging_app.py", tmp_path / "hanging"
    script.write_text(HANGING_APP)
    proc, url = start_streamlit(script, env={"HANG_MARK": str(mark), "BNVIZ_STORE": "off"})
    try:

        def ask() -> None:
            with contextlib.suppress(OSError):  # the server cancels it as it stops
                urllib.request.urlopen(url + "/bnviz/hang", timeout=120)

        threading.Thread(target=ask, daemon=True).start()
        for _ in range(300):
            if mark.exists():
                break
            time.sleep(0.1)
        assert mark.exists(), "the hanging request never reached the app\n" + server_log(proc)
    finally:
        stop_server(proc, 30)  # fails with the server's stacks if it has not exited
    assert proc.returncode == -signal.SIGTERM, (proc.returncode, server_log(proc))
    assert "timeout graceful shutdown exceeded" in server_log(proc)  # it was what waited
