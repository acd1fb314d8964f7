"""HTTP routes served next to Streamlit by st.App: live chart points, plotly.js, the theme.

`GET /bnviz/live?runs=plain:ID,bn:ID&view=loss&lang=en[&since=120,118]` answers a chart's
first paint (no `since`: the whole figure) or the points new since those steps. Answers come
from the process-wide scheduler's snapshots through bnviz.live_api's shared cache: no script
rerun, no per-tab figure building.
"""

from __future__ import annotations

import asyncio
import contextlib
import faulthandler
import gzip
import hashlib
import json
import logging
import multiprocessing
import signal
import threading
from pathlib import Path

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bnviz import live_api
from bnviz.figures.theme import projector_template
from bnviz.i18n import LANGS
from bnviz.ui._compat import bound_graceful_shutdown

PREFIX = "/bnviz"
PLOTLY_URL = f"{PREFIX}/plotly.min.js"
LIVE_URL = f"{PREFIX}/live"
# Streamlit's chart theme as its browser code resolves it (light theme), read from a drawn
# st.plotly_chart by tests/test_browser_plot.py, which also fails when an upgrade changes it.
TEMPLATE = Path(__file__).resolve().parents[2] / "assets" / "js" / "streamlit_template.json"
# served with the projector's chart text (theme.projector_template: 14 px, not 12 px in a pale
# grey; audit 25)
TEMPLATE_BYTES = json.dumps(projector_template(json.loads(TEMPLATE.read_bytes()))).encode()
TEMPLATE_GZIP = gzip.compress(TEMPLATE_BYTES, mtime=0)
# fetched once per tab, cached by the browser; a new template is a new URL
TEMPLATE_URL = f"{PREFIX}/chart_template.json"
TEMPLATE_SRC = f"{TEMPLATE_URL}?v={hashlib.sha256(TEMPLATE_BYTES).hexdigest()[:12]}"
log = logging.getLogger(__name__)
SERVED = {"routes": False}  # True while st.App serves these routes (its lifespan runs)
_STATE: dict = {}


class _NoContextWarning(logging.Filter):
    """Drop Streamlit's "missing ScriptRunContext" warning: the route has no script run."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "missing ScriptRunContext" not in record.getMessage()


def _scheduler():
    """The page's process-wide scheduler (bnviz.ui.common.scheduler), never a second one."""
    sched = _STATE.get("scheduler")
    if sched is None or sched._closed.is_set():
        from bnviz.ui.common import scheduler

        ctx_log = logging.getLogger("streamlit.runtime.scriptrunner_utils.script_run_context")
        quiet = _NoContextWarning()
        ctx_log.addFilter(quiet)
        try:
            sched = _STATE["scheduler"] = scheduler()
        finally:
            ctx_log.removeFilter(quiet)
    return sched


def _gzip_ok(request: Request) -> bool:
    return "gzip" in request.headers.get("accept-encoding", "")


def _bytes(request: Request, plain: bytes, packed: bytes, **headers: str) -> Response:
    """Pre-compressed bytes when the client takes gzip (Streamlit's gzip layer then skips it)."""
    if _gzip_ok(request):
        headers["Content-Encoding"] = "gzip"
        plain = packed
    return Response(
        plain, media_type=headers.pop("media_type", "application/json"), headers=headers
    )


async def live(request: Request) -> Response:
    """A live chart's answer: first paint or the points new since `since`."""
    q = request.query_params
    view, lang = q.get("view", ""), q.get("lang", "en")
    pairs = [p.split(":", 1) for p in q.get("runs", "").split(",") if ":" in p]
    if view not in live_api.SERIES or lang not in LANGS or not pairs:
        return JSONResponse({"error": "bad request"}, status_code=400)
    sched = _scheduler()
    snaps = {name: sched.poll(run_id) for name, run_id in pairs}  # poll = "still watched"
    if any(s is None for s in snaps.values()):
        return JSONResponse({"gone": True, "done": True}, status_code=404)
    since = live_api.parse_since(q.get("since"), list(snaps))
    plain, packed = live_api.answer(snaps, view, since, lang)
    return _bytes(request, plain, packed, **{"Cache-Control": "no-store"})


def _plotly_bytes() -> tuple[bytes, bytes]:
    """plotly.min.js from the installed plotly package, read and compressed once (~4.8 MB)."""
    if "plotly" not in _STATE:
        import plotly

        path = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
        raw = path.read_bytes()
        _STATE["plotly"] = (raw, gzip.compress(raw, compresslevel=6, mtime=0))
    return _STATE["plotly"]


async def plotly_js(request: Request) -> Response:
    """The installed plotly.js (no CDN: classrooms are often offline)."""
    plain, packed = _plotly_bytes()
    cache = "public, max-age=86400"
    return _bytes(request, plain, packed, media_type="text/javascript", **{"Cache-Control": cache})


async def chart_template(request: Request) -> Response:
    """The chart theme of bnviz.ui.plot's charts: 9 KB a chart element no longer carries in
    its script, which Streamlit sends again with every redraw."""
    cache = {"Cache-Control": "public, max-age=86400"}
    return _bytes(request, TEMPLATE_BYTES, TEMPLATE_GZIP, **cache)


def warm_up() -> None:
    """At server start, not at the first request: heavy imports, then the worker processes.

    Without it the first tab after a restart waited ~4 s on a blank page for torch and plotly,
    then its runs waited for the workers to import and warm up too.
    """
    import importlib

    for name in ("torch", "plotly.graph_objects", "sklearn.datasets", "bnviz.train"):
        importlib.import_module(name)
    _scheduler()


@contextlib.asynccontextmanager
async def lifespan(_app):
    """st.App's lifespan: live charts stream while it runs; the workers stop when it ends.

    On SIGTERM uvicorn finishes, then re-raises the signal with the default handler, so
    atexit (where the scheduler normally stops its workers) never runs.
    """
    await asyncio.to_thread(_plotly_bytes)  # compress plotly.js once, off the event loop
    if not bound_graceful_shutdown():  # a stopping server cancels what is still open
        log.warning("no uvicorn server found: SIGTERM may wait for open connections")
    if hasattr(signal, "SIGUSR1"):  # `kill -USR1 <pid>`: every thread's stack on stderr (a hang)
        faulthandler.register(signal.SIGUSR1, all_threads=True)
    SERVED["routes"] = True
    threading.Thread(target=warm_up, name="bnviz-warm-up", daemon=True).start()
    try:
        yield None
    finally:
        SERVED["routes"] = False
        if multiprocessing.active_children() or "scheduler" in _STATE:
            _scheduler().shutdown()


def routes() -> list[Route]:
    """The routes to pass to st.App(routes=..., lifespan=lifespan)."""
    return [
        Route(LIVE_URL, live, methods=["GET"]),
        Route(PLOTLY_URL, plotly_js, methods=["GET"]),
        Route(TEMPLATE_URL, chart_template, methods=["GET"]),
    ]
