"""A class for ten minutes: N tabs against a real server, minute by minute, then all close.

    python bench/soak.py [--sessions 60] [--minutes 10]          # every tab on the lab's pair
    python bench/soak.py --mix [--sessions 60] [--minutes 10]    # tabs over home + 5 lessons

Uses bench/load.py's browser-protocol client and server control (a fresh run store in a temp
file, so nothing opens finished from an earlier run). Each minute: fragment-rerun p50/p95,
full reruns (a tab whose page has nothing live reopens it after 10-40 s, as a student changing
a setting: the lab with the next seed), errors (tabs that failed to open, reruns never
answered, closed sockets), server RSS. At the end every tab closes: the server's threads and
child processes then, against the same counts before the first tab opened.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import tempfile
import time
from pathlib import Path

import load
import load_stream
import websockets
from _common import rss_mb
from load import children, close_tab, open_tab, pct, rerun

# --mix: home and the first five lessons, each at its default view (not why_bn, preprocessing,
# babysitting or hyperparams)
PAGES = ("", "batchnorm_lab", "standardization", "initialization", "activations", "running_stats")
LAB_QUERY = "steps=100000"


def threads(pid: int) -> int:
    """Threads of process pid."""
    return len(list(Path(f"/proc/{pid}/task").glob("*")))


class Tab:
    """One student: a session on one page, its latencies, its errors."""

    def __init__(self, page: str, rng: random.Random):
        self.page, self.rng, self.seed = page, rng, 0
        self.session: load.Session | None = None
        self.streamed: load_stream.Tab | None = None  # the lab's charts fetch new points
        self.answers: list[float] = []  # ms, streamed answers of past minutes
        self.full_ms: list[tuple[float, float]] = []  # (when, ms) page opens and reopens
        self.errors: list[str] = []

    def query(self) -> str:
        """The page's URL query (the lab: long runs, the tab's current seed)."""
        if self.page != load.PAGE:
            return ""
        return LAB_QUERY + (f"&seed={self.seed}" if self.seed else "")

    async def open(self, port: int) -> None:
        """Open the page (errors are counted, not fatal: the soak goes on)."""
        t0 = time.monotonic()
        try:
            self.session, ms = await open_tab(port, self.query(), self.page)
            self.full_ms.append((t0, ms))
            await self.first_paint(port)
        except Exception as err:
            self.errors.append(f"open {self.page or 'home'}: {err!r}")

    async def first_paint(self, port: int) -> None:
        """The streamed charts' first answers (plotly.js only with the first page)."""
        if not self.session.srcs:
            return
        if self.streamed is None:
            self.streamed = await load_stream.first_paint(
                load_stream.Tab(self.session, load_stream.Http(port)), time.perf_counter()
            )
            return
        for src in self.session.srcs:
            _, body, _ = await load_stream.retried(self.streamed.http, src)
            ans = json.loads(body)
            self.streamed.since[src] = ",".join(str(ans["step"][n]) for n in ans["step"])

    async def live(self, port: int, until: float) -> None:
        """Poll and stream while anything is live; then, after a while, reopen the page."""
        while self.session is not None and time.monotonic() < until:
            srcs = list(self.session.srcs) if self.streamed else []
            streams = [
                asyncio.create_task(load_stream.stream(self.streamed, src, until)) for src in srcs
            ]
            while time.monotonic() < until:
                await load.poll(self.session, min(until, time.monotonic() + 1.0))
                if self.session.ws.close_code is not None:
                    self.errors.append(f"socket closed ({self.session.ws.close_code})")
                    return
                if not self.session.timers and all(t.done() for t in streams):
                    break
            await asyncio.gather(*streams)
            patience = time.monotonic() + self.rng.uniform(10, 40)
            while time.monotonic() < min(until, patience):
                await asyncio.sleep(0.5)
            if time.monotonic() < until:
                await self.reopen(port)

    def take_answers(self) -> list[float]:
        """Streamed answers since the last call (ms)."""
        if self.streamed is None:
            return []
        got, self.streamed.answers = self.streamed.answers, []
        self.answers += got
        return got

    async def reopen(self, port: int) -> None:
        """A student changes a setting: the page runs again (the lab with the next seed)."""
        self.seed += 1
        self.session.query = self.query()
        self.session.srcs.clear()
        t0 = time.monotonic()
        try:
            self.full_ms.append((t0, await rerun(self.session)))
            await self.first_paint(port)
        except (TimeoutError, OSError, RuntimeError, websockets.ConnectionClosed) as err:
            self.errors.append(f"reopen {self.page or 'home'}: {err!r}")


def minute_row(tabs: list[Tab], t0: float, t1: float, pid: int) -> dict:
    """Figures of the window [t0, t1)."""
    frag = [ms for tab in tabs if tab.session for at, ms in tab.session.frag_ms if t0 <= at < t1]
    frag += [ms for tab in tabs for ms in tab.take_answers()]  # streamed charts' answers
    full = [ms for tab in tabs for at, ms in tab.full_ms if t0 <= at < t1]
    return {
        "p50": pct(frag, 50), "p95": pct(frag, 95), "n": len(frag),
        "full_p95": pct(full, 95), "full_n": len(full), "rss": rss_mb(pid),
        "lost": sum(tab.session.lost for tab in tabs if tab.session),
    }  # fmt: skip


async def soak(args: argparse.Namespace, port: int, pid: int) -> None:
    """Open the tabs, run them minute by minute, close them, count what is left."""
    warm, _ = await open_tab(port, LAB_QUERY)
    await close_tab(warm)
    await load.settle(pid)
    before = threads(pid), len(children(pid))
    rng = random.Random(0)
    pages = PAGES if args.mix else (load.PAGE,)
    tabs = [Tab(pages[i % len(pages)], random.Random(rng.random())) for i in range(args.sessions)]
    for tab in tabs:  # a class arriving: one tab every 0.2 s
        await tab.open(port)
        await asyncio.sleep(0.2)
    lab = next((t.session for t in tabs if t.session and t.page == load.PAGE), None)
    if lab is not None and load.START_LABEL in lab.buttons:
        await load.click(lab, load.START_LABEL)
    start = time.monotonic()
    end = start + 60 * args.minutes
    work = asyncio.gather(*(tab.live(port, end) for tab in tabs))
    rows = []
    for m in range(args.minutes):
        await asyncio.sleep(max(0.0, start + 60 * (m + 1) - time.monotonic()))
        rows.append(minute_row(tabs, start + 60 * m, start + 60 * (m + 1), pid))
        r = rows[-1]
        print(
            f"minute {m + 1:2d}: refresh p50 {r['p50']:.0f} ms p95 {r['p95']:.0f} ms "
            f"({r['n']} answers); page (re)opens {r['full_n']}, p95 {r['full_p95']:.0f} ms; "
            f"unanswered so far {r['lost']}; server RSS {r['rss']:.0f} MB; "
            f"load average {os.getloadavg()[0]:.1f}",
            flush=True,
        )
    await work
    await asyncio.gather(*(close_tab(t.session) for t in tabs if t.session))
    await report(tabs, rows, before, pid)


async def report(tabs: list[Tab], rows: list[dict], before: tuple[int, int], pid: int) -> None:
    """The whole soak's figures and what the closed tabs left behind."""
    frag = [ms for t in tabs if t.session for _, ms in t.session.frag_ms]
    frag += [ms for t in tabs for ms in t.answers]
    streamed = sum(t.streamed.errors for t in tabs if t.streamed is not None)
    full = [ms for t in tabs for _, ms in t.full_ms]
    errors = [e for t in tabs for e in t.errors] + ["a streamed answer failed"] * streamed
    lost = sum(t.session.lost for t in tabs if t.session)
    print(
        f"all {len(rows)} minutes, {len(tabs)} tabs: refresh p50 {pct(frag, 50):.0f} ms, "
        f"p95 {pct(frag, 95):.0f} ms ({len(frag)} answers), worst minute p95 "
        f"{max(r['p95'] for r in rows):.0f} ms; page (re)opens {len(full)}: p50 "
        f"{pct(full, 50):.0f} ms, p95 {pct(full, 95):.0f} ms; errors {len(errors)} + "
        f"{lost} unanswered reruns"
    )
    for err in sorted(set(errors))[:5]:
        print(f"  error: {err}")
    growth = 100 * (rows[-1]["rss"] / rows[0]["rss"] - 1)
    print(
        f"server RSS minute 1 {rows[0]['rss']:.0f} MB, minute {len(rows)} "
        f"{rows[-1]['rss']:.0f} MB ({growth:+.1f} %)"
    )
    for wait in (5, 30):
        await asyncio.sleep(wait if wait == 5 else wait - 5)
        print(
            f"{wait} s after every tab closed: server threads {threads(pid)} (before the first "
            f"tab: {before[0]}), child processes {len(children(pid))} (before: {before[1]})"
        )


async def main_async(args: argparse.Namespace) -> None:
    """Start a server on a fresh store, soak it under a hard time cap, always stop it."""
    port = load.free_port()
    with (
        tempfile.TemporaryDirectory(prefix="bnviz-soak-") as tmp,
        open(Path(tmp) / "server.log", "w+") as log,
    ):
        os.environ["BNVIZ_STORE"] = str(Path(tmp) / "runs.sqlite")
        proc = load.start_server(port, log)
        try:
            ready = await load.wait_ready(proc, port)
            print(
                f"server pid {proc.pid} ready in {ready:.1f} s; {os.cpu_count()} cores, load "
                f"average {os.getloadavg()[0]:.1f}; {args.sessions} tabs, "
                f"{'home and five lessons' if args.mix else 'the lab pair'}, {args.minutes} min",
                flush=True,
            )
            await asyncio.wait_for(soak(args, port, proc.pid), 60 * args.minutes + 300)
        except BaseException:
            log.seek(0)
            print("server log (tail):\n" + "".join(log.readlines()[-30:]))
            raise
        finally:
            load.stop_server(proc, children(proc.pid))


def main() -> None:
    """Parse the bounded arguments and run."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=60, help="tabs (≤ 200)")
    parser.add_argument("--minutes", type=int, default=10, help="≤ 30")
    parser.add_argument("--mix", action="store_true", help="tabs spread over the pages in PAGES")
    args = parser.parse_args()
    args.sessions = max(1, min(args.sessions, 200))
    args.minutes = max(1, min(args.minutes, 30))
    asyncio.run(main_async(args))


if __name__ == "__main__":
    main()
