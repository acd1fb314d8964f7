"""Streamlit's private API, in one place; tests/test_compat.py pins each use to its version.

If a Streamlit upgrade moves or changes any of these, that test fails with the name of the
internal, instead of a page misbehaving in class.
"""

from __future__ import annotations

from streamlit.runtime import Runtime
from streamlit.runtime.pages_manager import PagesManager
from streamlit.runtime.scriptrunner import get_script_run_ctx

__all__ = ["leave_pages_directory_mode", "running_under_apptest", "script_session_id"]


def script_session_id() -> str | None:
    """The server session of the script running in this thread (None outside a script run)."""
    ctx = get_script_run_ctx(suppress_warning=True)
    return ctx.session_id if ctx is not None else None


def leave_pages_directory_mode() -> bool:
    """Switch off the old pages/ multipage mode (as st.navigation does); True if it was on."""
    if not PagesManager.uses_pages_directory:
        return False
    PagesManager.uses_pages_directory = False
    return True


def running_under_apptest() -> bool:
    """True inside streamlit.testing's AppTest, which installs a MagicMock as the Runtime."""
    return type(Runtime._instance).__module__.startswith("unittest.mock")
