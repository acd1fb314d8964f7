"""Streamlit's private API, in one place; tests/test_compat.py pins each use to its version.

If a Streamlit upgrade moves or changes any of these, that test fails with the name of the
internal, instead of a page misbehaving in class.
"""

from __future__ import annotations

import signal
import sys

from streamlit.runtime import Runtime
from streamlit.runtime.pages_manager import PagesManager
from streamlit.runtime.scriptrunner import get_script_run_ctx

__all__ = [
    "LEGACY_PAGES_RUNNER",
    "SHUTDOWN_WAIT_S",
    "SKIP_LINK",
    "bound_graceful_shutdown",
    "inside_legacy_pages_mode",
    "leave_pages_directory_mode",
    "running_under_apptest",
    "script_session_id",
    "widget_keys_this_run",
]
# The function of streamlit/runtime/scriptrunner/script_runner.py that runs a script in the old
# pages/ mode (it wraps the main script and the pages/ files in a navigation of its own).
LEGACY_PAGES_RUNNER = "_mpa_v1"
# Streamlit's "Skip to main content" link, the page's first Tab stop, in its frontend's bundle
# (streamlit/static): English whatever the page's language; common.mark_language translates it.
SKIP_LINK = "[data-testid=stSkipToContent]"


def script_session_id() -> str | None:
    """The server session of the script running in this thread (None outside a script run)."""
    ctx = get_script_run_ctx(suppress_warning=True)
    return ctx.session_id if ctx is not None else None


def leave_pages_directory_mode() -> bool:
    """Switch off the old pages/ multipage mode (as st.navigation does); True if it was on.
    Also before the first PagesManager has read the pages/ folder (None: not decided yet)."""
    was = bool(PagesManager.uses_pages_directory)
    PagesManager.uses_pages_directory = False
    return was


def inside_legacy_pages_mode() -> bool:
    """True when this script run was started in the old pages/ mode (per session, per run).

    After a restart a class opens links at once: every session that started before the first
    st.navigation call runs in that mode, its first widget event is lost, and the navigation
    is Streamlit's raw list. Such a run must rerun once; a flag shared by sessions cannot tell.
    """
    frame = sys._getframe(1)
    while frame is not None:
        if frame.f_code.co_name == LEGACY_PAGES_RUNNER:
            return True
        frame = frame.f_back
    return False


def running_under_apptest() -> bool:
    """True inside streamlit.testing's AppTest, which installs a MagicMock as the Runtime."""
    return type(Runtime._instance).__module__.startswith("unittest.mock")


def widget_keys_this_run() -> frozenset[str]:
    """The keys of the widgets this script run has drawn so far (empty outside a run)."""
    ctx = get_script_run_ctx(suppress_warning=True)
    return ctx.shared.widget_user_keys_this_run.snapshot() if ctx is not None else frozenset()


# How long a stopping server waits for its open requests and connections (below).
SHUTDOWN_WAIT_S = 5.0


def bound_graceful_shutdown(seconds: float = SHUTDOWN_WAIT_S) -> bool:
    """After SIGTERM, wait at most `seconds` for open requests and connections, then cancel them
    (and run the lifespan's end: the workers stop and keep their checkpoints). True if set.

    Streamlit 1.67 serves st.App with a uvicorn.Server whose Config has no
    timeout_graceful_shutdown (web/server/starlette/starlette_server.py, UvicornRunner), so
    uvicorn waits for every connection and task to end, for ever: CI twice saw a server that had
    not exited 30 s after SIGTERM, its main thread in uvicorn's event loop. Called from the
    lifespan's start, inside uvicorn's signal handling: the server is the owner of the SIGTERM
    handler it installed (Server.handle_exit). False where there is none (AppTest).
    """
    server = getattr(signal.getsignal(signal.SIGTERM), "__self__", None)
    config = getattr(server, "config", None)
    if config is None or not hasattr(config, "timeout_graceful_shutdown"):
        return False
    config.timeout_graceful_shutdown = seconds
    return True
