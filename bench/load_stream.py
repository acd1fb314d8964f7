"""The streaming client path of bench/load.py: tabs fetch the live-chart JSON route.

    python bench/load.py --stream --sessions 1,30,60 [--seconds 30] [--fragments]

Each tab opens the lab over the websocket like a browser (one full page run), fetches
plotly.js and the chart's first paint from the route, then asks for the points new since its
last answer exactly as assets/js/stream_chart.js does: one request in flight, the next one
0.5 s after the answer, the pause doubled after an answer slower than 250 ms (up to 8 s) and
halved again after a fast one. Without --fragments the tabs run no fragment timers (the live
panel as it should be: no script rerun per tick); with it they also rerun the panel's fragment
as today's page asks. Each stage opens its tabs at once on a pair of its own and measures them.
"""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import json
import time
from dataclasses import dataclass, field

import load

BASE_S, MAX_S, SLOW_MS = 0.5, 8.0, 250.0  # as assets/js/stream_chart.js


@dataclass
class Http:
    """A minimal keep-alive HTTP/1.1 GET client on 127.0.0.1 (one connection, like a tab)."""

    port: int
    reader: asyncio.StreamReader | None = None
    writer: asyncio.StreamWriter | None = None

    async def get(self, path: str) -> tuple[int, bytes, int]:
        """(status, decoded body, bytes on the wire)."""
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(
                "127.0.0.1", self.port, limit=8 << 20
            )  # a big read buffer: 1.4 MB of plotly.js without 64 KB pause/resume ping-pong
        req = f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept-Encoding: gzip\r\n\r\n"
        self.writer.write(req.encode())
        await self.writer.drain()
        head = await self.reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        headers = {k.lower(): v.strip() for k, _, v in (ln.partition(":") for ln in lines[1:])}
        body = b""
        if "content-length" in headers:
            body = await self.reader.readexactly(int(headers["content-length"]))
        elif headers.get("transfer-encoding") == "chunked":
            while size := int((await self.reader.readuntil(b"\r\n")).strip(), 16):
                body += (await self.reader.readexactly(size + 2))[:-2]
            await self.reader.readuntil(b"\r\n")
        wire = len(head) + len(body)
        json_body = headers.get("content-type", "").startswith("application/json")
        if headers.get("content-encoding") == "gzip" and json_body:  # plotly.js: bytes only
            body = gzip.decompress(body)  # (a browser inflates it on its own machine)
        return int(lines[0].split()[1]), body, wire

    async def close(self) -> None:
        """Close the connection."""
        if self.writer is not None:
            self.writer.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.writer.wait_closed(), 2)


@dataclass
class Tab:
    """A streaming tab: its websocket session, HTTP connection and what it measured."""

    session: load.Session
    http: Http  # plotly.js and first paints; each chart then keeps its own connection
    conns: dict[str, Http] = field(default_factory=dict)
    since: dict[str, str] = field(default_factory=dict)  # src -> "120,118"
    answers: list[float] = field(default_factory=list)  # ms
    wire: int = 0
    errors: int = 0
    first_ms: float = float("nan")  # open the page .. first chart answered
    page_ms: float = float("nan")  # of which the page's full script run
    plotly_ms: float = float("nan")  # and plotly.min.js
    slowest_s: float = BASE_S


async def open_stream_tab(port: int, query: str) -> Tab:
    """Open the page (websocket), then plotly.js and the first paint of every live chart."""
    t0 = time.perf_counter()
    session, page_ms = await load.open_tab(port, query)
    tab = await first_paint(Tab(session, Http(port)), t0)
    tab.page_ms = page_ms
    return tab


async def retried(http: Http, path: str) -> tuple[int, bytes, int]:
    """GET, reconnecting once if the server closed the connection (as fetch does)."""
    try:
        return await http.get(path)
    except (OSError, asyncio.IncompleteReadError):
        await http.close()
        http.reader = http.writer = None
        return await http.get(path)


async def first_paint(tab: Tab, t0: float) -> Tab:
    """plotly.js and each live chart's first answer, as the browser fetches them."""
    session = tab.session
    if not session.srcs:
        raise RuntimeError("the page mounted no live chart (is the loss view streaming?)")
    t1 = time.perf_counter()
    status, _, wire = await retried(tab.http, "/bnviz/plotly.min.js")  # once per browser
    tab.plotly_ms, tab.wire = (time.perf_counter() - t1) * 1000, tab.wire + wire
    for src in session.srcs:
        status, body, wire = await retried(tab.http, src)
        tab.wire += wire
        if status != 200:
            raise RuntimeError(f"first paint {src}: HTTP {status}")
        ans = json.loads(body)
        tab.since[src] = ",".join(str(ans["step"][n]) for n in ans["step"])
    tab.first_ms = (time.perf_counter() - t0) * 1000
    return tab


async def stream(tab: Tab, src: str, until: float) -> None:
    """Ask for new points as the browser's chart does until `until` or the runs end."""
    every = BASE_S
    http = tab.conns.setdefault(src, Http(tab.http.port))
    while time.monotonic() < until:
        t0 = time.perf_counter()
        try:  # an idle keep-alive is closed by uvicorn after 5 s: reconnect once
            status, body, wire = await retried(http, f"{src}&since={tab.since[src]}")
        except (OSError, asyncio.IncompleteReadError):
            tab.errors += 1
            return
        ms = (time.perf_counter() - t0) * 1000
        tab.answers.append(ms)
        tab.wire += wire
        if status != 200:
            tab.errors += 1
        else:
            ans = json.loads(body)
            tab.since[src] = ",".join(str(ans["step"][n]) for n in ans["step"])
            now = time.monotonic()
            tab.session.progress += [(n, now, s) for n, s in ans["step"].items()]
            if ans["done"]:
                return
        every = min(every * 2, MAX_S) if ms > SLOW_MS or status != 200 else max(BASE_S, every / 2)
        tab.slowest_s = max(tab.slowest_s, every)
        await asyncio.sleep(max(0.0, min(every, until - time.monotonic())))


async def window(tabs: list[Tab], seconds: float, pid: int, fragments: bool) -> dict:
    """Every tab streams (and, with fragments, polls) for `seconds`; the window's figures."""
    for t in tabs:
        t.answers.clear()
        t.session.progress.clear()
        t.errors, t.slowest_s = 0, BASE_S
    w0, cpu = sum(t.wire + t.session.bytes_in for t in tabs), load.CpuWindow(pid)
    cpu.start()
    t0 = time.monotonic()
    jobs = [stream(t, src, t0 + seconds) for t in tabs for src in t.session.srcs]
    if fragments:
        jobs += [load.poll(t.session, t0 + seconds) for t in tabs]
    await asyncio.gather(*jobs)
    wall = time.monotonic() - t0
    out = cpu.cores()
    ms = [m for t in tabs for m in t.answers]
    wire = sum(t.wire + t.session.bytes_in for t in tabs) - w0
    out |= {"p50": load.pct(ms, 50), "p95": load.pct(ms, 95), "n": len(ms), "rate": len(ms) / wall}
    out["errors"] = sum(t.errors for t in tabs)
    out["kbps"] = wire / wall / 1024 / len(tabs)
    out["steps"] = load.steps_per_s([t.session for t in tabs])
    out["ms_cpu"] = 1000 * out["server"] * wall / max(1, len(ms))
    out["backoff"] = sum(t.slowest_s > BASE_S for t in tabs)
    out["ended"] = wall < seconds - 0.5  # every stream stopped early: the runs had ended
    return out


def show(name: str, f: dict, solo: float) -> None:
    """Print one window against the solo training rate."""
    print(
        f"{name}: refresh p50 {f['p50']:.0f} ms, p95 {f['p95']:.0f} ms; {f['rate']:.1f} answers/s "
        f"({f['errors']} errors, {f['backoff']} tabs backed off); {f['kbps']:.2f} KB/s per tab"
    )
    print(
        f"  server CPU {f['server']:.2f} cores (event loop {f['loop']:.2f}) = {f['ms_cpu']:.2f} ms "
        f"per answer; workers {f['workers']:.2f} cores; client {f['client']:.2f} cores; pair "
        f"{f['steps']:.0f} steps/s = {f['steps'] / solo:.0%} of solo ({solo:.0f})"
    )
    if f.get("ended"):
        print("  NOTE: the pair ended during this window; these figures are of idle tabs")
    others = f["machine"] - f["server"] - f["workers"] - f["client"]
    print(f"  the machine was busy {f['machine']:.2f} cores, {others:.2f} of them other programs")


async def bench_stream(args, port: int, pid: int) -> None:
    """Baseline (1 tab), then each stage of --sessions on a fresh pair: all its tabs open at once.

    Each stage's pair has its own seed (same network, same speed), so a 100,000-step pair is
    still training through the stage's window however many stages came before; a window in
    which the pair ended is said, since its figures then describe idle tabs.
    """
    warm, _ = await load.open_tab(port, args.query)  # imports, scheduler
    await load.close_tab(warm)
    await load.settle(pid)
    session, _ = await load.open_tab(port, args.query)
    await load.click(session, load.START_LABEL)  # its rerun draws the running pair's charts
    first = await first_paint(Tab(session, Http(port)), time.perf_counter())
    tabs = [first]
    try:
        await window(tabs, 3.0, pid, args.fragments)  # the pair is past its start-up
        solo = await window(tabs, args.baseline_seconds, pid, args.fragments)
        show("1 tab (solo)", solo, solo["steps"])
        for stage, n in enumerate(args.stages, 1):
            if n == 1:
                continue
            await close_all(tabs)
            await load.settle(pid)
            query = f"{args.query}&seed={1000 + stage}"  # a pair of its own, trained on open
            got = await asyncio.gather(
                *(open_stream_tab(port, query) for _ in range(n)), return_exceptions=True
            )
            tabs = [g for g in got if isinstance(g, Tab)]
            for err in {repr(g) for g in got if not isinstance(g, Tab)}:
                print(f"  a tab failed to open: {err}")
            firsts, pages = [t.first_ms for t in tabs], [t.page_ms for t in tabs]
            charts = [t.first_ms - t.page_ms for t in tabs]  # plotly.js + first paints
            print(
                f"{len(got)} tabs opening at once: first chart p50 {load.pct(firsts, 50):.0f} ms, "
                f"p95 {load.pct(firsts, 95):.0f} ms ({len(got) - len(tabs)} failed); the page's "
                f"script run p50 {load.pct(pages, 50):.0f} / p95 {load.pct(pages, 95):.0f} ms, "
                f"then the chart p50 {load.pct(charts, 50):.0f} / p95 {load.pct(charts, 95):.0f} ms"
            )
            js = [t.plotly_ms for t in tabs]
            print(f"  (plotly.min.js p50 {load.pct(js, 50):.0f} / p95 {load.pct(js, 95):.0f} ms)")
            show(
                f"{len(tabs)} tabs",
                await window(tabs, args.seconds, pid, args.fragments),
                solo["steps"],
            )
    finally:
        await close_all(tabs)


async def close_all(tabs: list[Tab]) -> None:
    """Close the tabs' sessions and connections (their runs are then no tab's)."""
    for t in tabs:
        await load.close_tab(t.session)
        for http in (t.http, *t.conns.values()):
            await http.close()
