"""Classroom load: N browser sessions on the BatchNorm lab, spoken to over Streamlit's websocket.

    python bench/load.py [--sessions 30] [--seconds 30]
    python bench/load.py --stream --sessions 1,30,60 --seconds 30    (bench/load_stream.py)

Starts `python -m streamlit run app.py` on 127.0.0.1 (a free port; SIGTERM at the end) and
drives it with a small asyncio client that speaks the browser's protocol: `BackMsg.rerun_script`
over `ws://127.0.0.1:<port>/_stcore/stream` (subprotocol "streamlit"), `ForwardMsg` replies until
`script_finished`, and the fragment timers the page announces with `auto_rerun`, run by the client
as the browser would. Only loopback traffic, a bounded number of sessions, a hard time cap.

1. Baseline, one session: the teacher's tab opens the lab page (URL `--query`, default the lab
   defaults with 100k steps so the pair outlasts the benchmark), clicks Start (the button's
   widget id comes from the first run's deltas), and its live panel polls alone for a while;
   then 3 probe tabs open the page one at a time while the pair trains (full-run latency).
2. Load: N-1 more tabs open the same URL at once (they attach to the shared pair), then all N
   poll for `--seconds`: fragment rerun latency p50/p95, reruns/s served, server CPU (its own
   threads, the event-loop thread among them, and its worker processes), the pair's steps/s
   (from the progress text "step N / M"), and the active sessions `/_stcore/metrics` reports.
3. Ratio: fragment p50 with N sessions / fragment p50 with one.

A browser's fragment timer is a plain setInterval; this client skips a tick while the previous
rerun is still in flight (the server would coalesce it into the running one anyway) and counts it.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import tomllib
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import websockets
from _common import rss_mb
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ClientState_pb2 import ClientState
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from websockets.asyncio.client import ClientConnection

ROOT = Path(__file__).resolve().parent.parent
PAGE = "batchnorm_lab"  # the lab's URL path (pages/01_batchnorm_lab.py)
START_LABEL = tomllib.loads((ROOT / "assets/i18n/en/run.toml").read_text())["start"]
DONE = {
    ForwardMsg.FINISHED_SUCCESSFULLY,
    ForwardMsg.FINISHED_FRAGMENT_RUN_SUCCESSFULLY,
    ForwardMsg.FINISHED_WITH_COMPILE_ERROR,
}  # FINISHED_EARLY_FOR_RERUN is not the end: st.rerun() starts the next run at once
PROGRESS = re.compile(r"^(?P<label>[^:]+):.*?(?P<step>\d+) / (?P<steps>\d+)")
RUN_TIMEOUT = 30.0  # one rerun, send -> script_finished
CLK = os.sysconf("SC_CLK_TCK")


# ---------------------------------------------------------------------------- server


def free_port() -> int:
    """A free TCP port on the loopback interface."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(port: int, log) -> subprocess.Popen:
    """`streamlit run app.py` on 127.0.0.1:port, output to log."""
    cmd = [sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port)]
    cmd += ["--server.address", "127.0.0.1", "--server.headless", "true"]
    cmd += ["--browser.gatherUsageStats", "false"]
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    env.setdefault("BNVIZ_STORE", "off")  # no finished run from an earlier bench opens instantly
    return subprocess.Popen(cmd, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, env=env)


def http_get(port: int, path: str, timeout: float = 5.0) -> str:
    """GET http://127.0.0.1:port/path as text."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=timeout) as resp:
        return resp.read().decode()


async def wait_ready(proc: subprocess.Popen, port: int, timeout: float = 60.0) -> float:
    """Seconds until /_stcore/health answers ok (raises if the server dies or times out)."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with code {proc.returncode}")
        with contextlib.suppress(OSError):
            if (await asyncio.to_thread(http_get, port, "/_stcore/health", 2.0)) == "ok":
                return time.monotonic() - t0
        await asyncio.sleep(0.25)
    raise TimeoutError("server not ready")


def stop_server(proc: subprocess.Popen, kids: list[int]) -> None:
    """SIGTERM the server, wait for it, then make sure its worker processes are gone."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            print("server ignored SIGTERM for 20 s: killing it")
            proc.kill()
            proc.wait(5)
    deadline = time.monotonic() + 5
    for pid in kids:  # this server's worker processes, found as its children before
        while _alive_worker(pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        if _alive_worker(pid):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)


def _alive_worker(pid: int) -> bool:
    """Whether pid is still a multiprocessing worker (and not a recycled pid)."""
    try:
        return b"multiprocessing" in Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False


# ---------------------------------------------------------------------------- CPU (/proc)


def _stat(path: str) -> list[str]:
    """The fields of a /proc stat file after the command name."""
    with open(path) as fh:
        return fh.read().rsplit(")", 1)[1].split()


def cpu_s(path: str) -> float:
    """utime + stime in seconds from a /proc stat file (0 if it is gone)."""
    try:
        fields = _stat(path)
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / CLK


def children(pid: int) -> list[int]:
    """Direct child processes of pid (the scheduler's workers, the resource tracker)."""
    out: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        with contextlib.suppress(OSError):
            out += [int(c) for c in (task / "children").read_text().split()]
    return sorted(set(out))


@dataclass
class CpuWindow:
    """CPU seconds of the server (all threads, event-loop thread) and its children, and wall."""

    pid: int
    t0: float = 0.0
    marks: dict[str, float] = field(default_factory=dict)

    def sample(self) -> dict[str, float]:
        """Current counters."""
        kids = sum(cpu_s(f"/proc/{c}/stat") for c in children(self.pid))
        own = cpu_s(f"/proc/{self.pid}/stat")
        loop = cpu_s(f"/proc/{self.pid}/task/{self.pid}/stat")  # the main thread runs the loop
        with open("/proc/stat") as fh:  # every process: user, nice, system, irq, softirq
            busy = sum(
                int(x) for i, x in enumerate(fh.readline().split()[1:9]) if i not in (3, 4, 7)
            )
        return {
            "server": own,
            "loop": loop,
            "workers": kids,
            "client": time.process_time(),
            "machine": busy / CLK,
        }

    def start(self) -> None:
        """Begin the window."""
        self.t0, self.marks = time.monotonic(), self.sample()

    def used(self) -> dict[str, float]:
        """CPU seconds of each part since start()."""
        now = self.sample()
        return {k: now[k] - self.marks[k] for k in now}

    def cores(self) -> dict[str, float]:
        """Cores used by each part since start()."""
        wall = time.monotonic() - self.t0
        return {k: v / wall for k, v in self.used().items()}


# ---------------------------------------------------------------------------- protocol client


@dataclass
class Session:
    """One browser tab: its websocket, what the page told it, and what it measured."""

    ws: ClientConnection
    query: str
    page_hash: str = ""
    timers: dict[str, list[float]] = field(default_factory=dict)  # fragment -> [interval, due]
    buttons: dict[str, str] = field(default_factory=dict)  # label -> widget id
    progress: list[tuple[str, float, int]] = field(default_factory=list)  # (run, t, step)
    frag_ms: list[tuple[float, float]] = field(default_factory=list)  # (sent at, ms)
    skipped: int = 0
    lost: int = 0
    bytes_in: int = 0
    srcs: list[str] = field(default_factory=list)  # live chart routes (st.components.v2 data)
    page: str = PAGE  # its URL path (bench/soak.py spreads tabs over every page)


def rerun_msg(s: Session, fragment_id: str = "", triggers: tuple[str, ...] = ()) -> bytes:
    """A rerun_script BackMsg as the browser sends it (widget states empty but for triggers)."""
    state = ClientState(query_string=s.query, page_script_hash=s.page_hash)
    state.page_name = "" if s.page_hash else s.page  # first load: the page from the URL path
    state.fragment_id, state.is_auto_rerun = fragment_id, bool(fragment_id)
    state.context_info.locale = "en-US"
    state.context_info.url = f"http://127.0.0.1/{s.page}"
    for wid in triggers:
        state.widget_states.widgets.add(id=wid, trigger_value=True)
    msg = BackMsg()
    msg.rerun_script.CopyFrom(state)
    return msg.SerializeToString()


def on_element(s: Session, el) -> None:
    """Remember the buttons' widget ids and the runs' progress."""
    kind = el.WhichOneof("type")
    if kind == "button":
        s.buttons[el.button.label] = el.button.id
    elif kind == "progress" and (m := PROGRESS.match(el.progress.text)):
        s.progress.append((m["label"], time.monotonic(), int(m["step"])))
    elif kind == "bidi_component" and el.bidi_component.json:
        src = json.loads(el.bidi_component.json).get("src")
        if src and src not in s.srcs:
            s.srcs.append(src)


def on_message(s: Session, msg: ForwardMsg) -> int | None:
    """Update the tab from one ForwardMsg; the script_finished status if it is one."""
    kind = msg.WhichOneof("type")
    if kind == "new_session" and not msg.metadata.run.fragment_ids:
        s.timers.clear()  # a full run clears the browser's fragment timers
    elif kind == "navigation":
        pages = {p.url_pathname: p.page_script_hash for p in msg.navigation.app_pages}
        if s.page not in pages:
            raise RuntimeError(f"no page {s.page!r} in the app's navigation: {sorted(pages)}")
        s.page_hash = pages[s.page]
    elif kind == "page_not_found":
        raise RuntimeError(f"server: page {s.page!r} not found")
    elif kind == "page_info_changed":
        s.query = msg.page_info_changed.query_string  # the page rewrote the URL
    elif kind == "delta" and msg.delta.WhichOneof("type") == "new_element":
        on_element(s, msg.delta.new_element)
    elif kind == "auto_rerun":
        fid, every = msg.auto_rerun.fragment_id, msg.auto_rerun.interval
        if s.timers.get(fid, [None])[0] != every:  # same interval: keep the countdown
            s.timers[fid] = [every, time.monotonic() + every]
    elif kind == "stop_auto_rerun":
        for fid in msg.stop_auto_rerun.fragment_ids:
            s.timers.pop(fid, None)
    elif kind == "script_finished":
        return msg.script_finished
    return None


async def rerun(s: Session, fragment_id: str = "", triggers: tuple[str, ...] = ()) -> float:
    """Send one rerun and read replies until its script_finished; latency in ms."""
    t0 = time.perf_counter()
    await asyncio.wait_for(s.ws.send(rerun_msg(s, fragment_id, triggers)), 10)
    deadline = t0 + RUN_TIMEOUT
    while True:
        left = deadline - time.perf_counter()
        data = await asyncio.wait_for(s.ws.recv(), max(left, 0.001))
        s.bytes_in += len(data)
        msg = ForwardMsg()
        msg.ParseFromString(data)
        if on_message(s, msg) in DONE:
            return (time.perf_counter() - t0) * 1000


async def open_tab(port: int, query: str, page: str = PAGE) -> tuple[Session, float]:
    """Connect a new tab and run the page once; (session, full-run latency in ms)."""
    ws = await websockets.connect(
        f"ws://127.0.0.1:{port}/_stcore/stream",
        subprotocols=["streamlit"],
        open_timeout=20,
        close_timeout=5,
        ping_interval=None,  # a loaded server answers pings late; the browser sends none
        max_size=None,
    )
    s = Session(ws, query, page=page)
    try:
        return s, await rerun(s)
    except BaseException:
        await close_tab(s)
        raise


async def close_tab(s: Session) -> None:
    """Close the tab's websocket (bounded)."""
    with contextlib.suppress(Exception):
        await asyncio.wait_for(s.ws.close(), 5)


async def click(s: Session, label: str) -> float:
    """Press the button labelled `label` (a trigger, as the browser sends it); latency in ms."""
    if label not in s.buttons:
        raise RuntimeError(f"no button {label!r} on the page (saw {sorted(s.buttons)})")
    return await rerun(s, triggers=(s.buttons[label],))


async def poll(s: Session, until: float) -> None:
    """Run the tab's fragment timers until `until` (monotonic), recording each rerun."""
    while (now := time.monotonic()) < until:
        if not s.timers:  # nothing live (e.g. the runs ended): wait for nothing
            await asyncio.sleep(min(0.1, until - now))
            continue
        fid, (every, due) = min(s.timers.items(), key=lambda kv: kv[1][1])
        if due > now:
            await asyncio.sleep(min(due - now, until - now))
            continue
        try:
            s.frag_ms.append((now, await rerun(s, fragment_id=fid)))
        except TimeoutError:
            s.lost += 1  # e.g. a stale fragment id: the server never answers (#9080)
        except websockets.ConnectionClosed:
            s.lost += 1
            return
        if fid in s.timers:
            nxt = due + every
            while nxt < time.monotonic():
                nxt, s.skipped = nxt + every, s.skipped + 1
            s.timers[fid][1] = nxt


# ---------------------------------------------------------------------------- figures


def pct(values: list[float], q: int) -> float:
    """q-th percentile (nearest rank)."""
    if not values:
        return float("nan")
    v = sorted(values)
    return v[min(len(v) - 1, max(0, round(q / 100 * len(v) + 0.5) - 1))]


def steps_per_s(tabs: list[Session]) -> float:
    """Steps/s of all runs together, from the first and last progress text the tabs received."""
    seen: dict[str, list[tuple[float, int]]] = {}
    for s in tabs:
        for label, t, step in s.progress:
            seen.setdefault(label, []).append((t, step))
    rates = [
        (max(p)[1] - min(p)[1]) / (max(p)[0] - min(p)[0])
        for p in seen.values()
        if len(p) > 1 and max(p)[0] > min(p)[0]
    ]
    return sum(rates) if rates else float("nan")


async def live(tabs: list[Session], seconds: float, pid: int) -> dict[str, float]:
    """Every tab polls for `seconds`; latency, rate and CPU figures of that window."""
    t0 = time.monotonic()
    for s in tabs:
        s.frag_ms.clear()
        s.progress.clear()
        s.skipped = s.lost = 0
        for timer in s.timers.values():  # ticks that fell before this window do not count
            timer[1] = max(timer[1], t0)
    cpu, b0 = CpuWindow(pid), sum(s.bytes_in for s in tabs)
    cpu.start()
    await asyncio.gather(*(poll(s, t0 + seconds) for s in tabs))
    wall = time.monotonic() - t0
    out = cpu.cores()
    ms = [m for s in tabs for _, m in s.frag_ms]
    out |= {"p50": pct(ms, 50), "p95": pct(ms, 95), "n": len(ms), "rate": len(ms) / wall}
    out["skipped"] = sum(s.skipped for s in tabs)
    out["lost"] = sum(s.lost for s in tabs)
    out["kbps"] = (sum(s.bytes_in for s in tabs) - b0) / wall / 1024 / len(tabs)
    out["steps"] = steps_per_s(tabs)
    out["ms_cpu"] = 1000 * out["server"] * wall / max(1, len(ms))
    return out


def show_live(name: str, f: dict[str, float]) -> None:
    """Print one live window."""
    print(
        f"{name}: fragment rerun p50 {f['p50']:.0f} ms, p95 {f['p95']:.0f} ms "
        f"({f['n']} reruns, {f['rate']:.1f}/s served, {f['skipped']} ticks skipped, "
        f"{f['lost']} unanswered); {f['kbps']:.0f} KB/s per tab"
    )
    print(
        f"  server CPU {f['server']:.2f} cores (event-loop thread {f['loop']:.2f}) = "
        f"{f['ms_cpu']:.1f} ms per rerun; workers {f['workers']:.2f} cores; "
        f"this client {f['client']:.2f} cores; the pair trains at {f['steps']:.0f} steps/s"
    )
    others = f["machine"] - f["server"] - f["workers"] - f["client"]
    print(f"  the machine was busy {f['machine']:.2f} cores, {others:.2f} of them other programs")


async def active_sessions(port: int) -> str:
    """The session counts /_stcore/metrics reports (or why not)."""
    try:
        text = await asyncio.to_thread(http_get, port, "/_stcore/metrics", 5.0)
    except OSError as err:
        return f"unavailable ({err})"
    keep = ("active_sessions", "session_events_total")
    lines = [ln for ln in text.splitlines() if ln.startswith(keep)]
    return "; ".join(lines) or "no session metrics"


# ---------------------------------------------------------------------------- the benchmark


async def settle(pid: int, timeout: float = 40.0) -> None:
    """Wait until the worker processes have finished warming up (idle for a second)."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        cpu = CpuWindow(pid)
        cpu.start()
        await asyncio.sleep(1.0)
        if children(pid) and cpu.cores()["workers"] < 0.1:
            return


async def baseline(port: int, pid: int, query: str, seconds: float) -> tuple[Session, dict]:
    """One tab: open, Start, poll alone; then 3 probe tabs open one at a time."""
    warm, _ = await open_tab(port, query)  # first run of the server: imports, scheduler
    await close_tab(warm)
    await settle(pid)
    tab, open_idle = await open_tab(port, query)
    try:
        clicked = await click(tab, START_LABEL)
        if not tab.timers:
            raise RuntimeError("after Start the page announced no auto-rerun fragment")
        f = await live([tab], seconds, pid)
        probes = []
        for _ in range(3):
            probe, ms = await open_tab(port, query)
            probes.append(ms)
            await close_tab(probe)
    except BaseException:
        await close_tab(tab)
        raise
    f |= {"open_idle": open_idle, "click": clicked, "open": statistics.median(probes)}
    return tab, f


async def burst(port: int, pid: int, query: str, n: int) -> tuple[list[Session], list[float]]:
    """n tabs open the page at once; the tabs that made it and every full-run latency."""
    cpu = CpuWindow(pid)
    cpu.start()
    got = await asyncio.gather(*(open_tab(port, query) for _ in range(n)), return_exceptions=True)
    used = cpu.used()["server"]
    ok = [g for g in got if isinstance(g, tuple)]
    tabs, opened = [t for t, _ in ok], [ms for _, ms in ok]
    for err in {repr(g) for g in got if not isinstance(g, tuple)}:
        print(f"  a tab failed to open: {err}")
    print(
        f"load: {len(opened)} more tabs opened at once: full run p50 {pct(opened, 50):.0f} ms, "
        f"p95 {pct(opened, 95):.0f} ms, max {max(opened, default=float('nan')):.0f} ms; "
        f"server CPU {1000 * used / max(1, len(opened)):.0f} ms per full run"
    )
    return tabs, opened


async def bench(args: argparse.Namespace, port: int, proc: subprocess.Popen) -> None:
    """The whole run against a ready server."""
    tab, base = await baseline(port, proc.pid, args.query, args.baseline_seconds)
    tabs = [tab]
    try:
        print(
            f"baseline (1 tab): open the page {base['open_idle']:.0f} ms before Start, "
            f"Start {base['click']:.0f} ms, open while training {base['open']:.0f} ms (median of 3)"
        )
        show_live("baseline (1 tab)", base)
        more, opened = await burst(port, proc.pid, tabs[0].query, args.sessions - 1)
        tabs += more
        load = asyncio.create_task(live(tabs, args.seconds, proc.pid))
        await asyncio.sleep(args.seconds / 2)
        print(f"  /_stcore/metrics during the load: {await active_sessions(port)}")
        print(f"  server RSS {rss_mb(proc.pid):.0f} MB; load average {os.getloadavg()[0]:.1f}")
        f = await load
        show_live(f"load ({len(tabs)} tabs, asking {2 * len(tabs)} reruns/s)", f)
        print(
            f"ratio: fragment p50 {len(tabs)} tabs / 1 tab = {f['p50'] / base['p50']:.2f}; "
            f"full-run p50 {len(opened)} opening at once / 1 = {pct(opened, 50) / base['open']:.2f}"
        )
    finally:
        await asyncio.gather(*(close_tab(s) for s in tabs))


async def main_async(args: argparse.Namespace) -> None:
    """Start the server, run the benchmark under a hard time cap, always stop the server."""
    port = free_port()
    cap = 240 + args.baseline_seconds + args.seconds
    with tempfile.NamedTemporaryFile("w+", prefix="bnviz-load-", suffix=".log") as log:
        proc = start_server(port, log)
        try:
            ready = await wait_ready(proc, port)
            print(
                f"server pid {proc.pid} on 127.0.0.1:{port}, ready in {ready:.1f} s; "
                f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} before the run"
            )
            if args.stream:
                from load_stream import bench_stream

                await asyncio.wait_for(bench_stream(args, port, proc.pid), cap * len(args.stages))
            else:
                await asyncio.wait_for(bench(args, port, proc), cap)
        except BaseException:
            log.seek(0)
            print("server log (tail):\n" + "".join(log.readlines()[-30:]))
            raise
        finally:
            stop_server(proc, children(proc.pid))  # blocking on purpose: runs when cancelled too


def main() -> None:
    """Parse the bounded arguments and run."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--sessions", default="30", help="tabs in the load (≤ 200); with --stream a list: 1,30,60"
    )
    parser.add_argument("--stream", action="store_true", help="tabs fetch the live-chart route")
    parser.add_argument("--fragments", action="store_true", help="--stream tabs also poll")
    parser.add_argument("--seconds", type=float, default=30.0, help="load window (≤ 600)")
    parser.add_argument("--baseline-seconds", type=float, default=10.0)
    parser.add_argument("--query", default="steps=100000", help="the lab URL's query string")
    args = parser.parse_args()
    args.stages = sorted({max(1, min(int(n), 200)) for n in str(args.sessions).split(",")})
    args.sessions = args.stages[-1]
    args.seconds = max(2.0, min(args.seconds, 600.0))
    args.baseline_seconds = max(2.0, min(args.baseline_seconds, 120.0))
    asyncio.run(main_async(args))


if __name__ == "__main__":
    main()
