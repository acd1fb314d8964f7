"""Process plumbing shared by the worker pool and a sweep's helper process.

Process-wide settings and a spawn guard; nothing here knows about jobs or runs.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import dataclasses
import os
import sys
import time
import types

MMAP_THRESHOLD = 32 << 20  # glibc's largest; allocations below it come from the heap
TRIM_THRESHOLD = 256 << 20  # freed heap memory a worker keeps for its next allocations


def keep_freed_memory() -> bool:
    """Serve big allocations from the heap and keep freed memory (glibc; else a no-op).

    By default glibc gives every allocation over ~128 KB fresh pages from mmap, which fault in
    on first touch. A worker allocates 0.25-4 MB temporaries every step (evaluation
    activations, telemetry reductions, a sweep's stacked layers), so it spent up to half its
    time faulting pages: measured, a telemetry reduction 400 -> 206 us per sampled step, a
    64-model sweep step 5.3 -> 3.8 ms. Process-wide, so for worker processes (and benches).
    """
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    m_trim_threshold, m_mmap_threshold = -1, -3  # <malloc.h>
    return bool(
        mallopt(m_mmap_threshold, MMAP_THRESHOLD) and mallopt(m_trim_threshold, TRIM_THRESHOLD)
    )


@contextlib.contextmanager
def plain_main():
    """Hide the __main__ module while spawning, so workers never re-run it.

    Streamlit runs app.py as __main__; a spawned child would import it again (and start a
    scheduler of its own). Workers only need bnviz, which they import by name.
    """
    main = sys.modules.get("__main__")
    sys.modules["__main__"] = types.ModuleType("__main__")
    try:
        yield
    finally:
        if main is not None:
            sys.modules["__main__"] = main


@dataclasses.dataclass(frozen=True)
class Usage:
    """CPU use between two readings, in cores (1.0: one core all the time)."""

    seconds: float
    busy: float  # every process of the machine
    idle: float
    own: float  # this process


class CpuMeter:
    """CPU use of the machine (Linux /proc/stat) and of this process since the last reading."""

    def __init__(self):
        self._last = self._read()

    @staticmethod
    def _read() -> tuple[float, float, float, float] | None:
        try:
            with open("/proc/stat") as fh:
                fields = fh.readline().split()
        except OSError:
            return None
        if not fields or fields[0] != "cpu" or len(fields) < 6:
            return None
        ticks = [int(f) for f in fields[1:]]
        idle = ticks[3] + ticks[4]  # idle + iowait
        busy = sum(ticks[:8]) - idle  # user nice system idle iowait irq softirq steal
        hz = os.sysconf("SC_CLK_TCK")
        return time.monotonic(), busy / hz, idle / hz, time.process_time()

    def read(self) -> Usage | None:
        """Use since the previous reading (or since made); None where /proc/stat is not."""
        now, last = self._read(), self._last
        self._last = now
        if now is None or last is None or now[0] <= last[0]:
            return None
        dt = now[0] - last[0]
        return Usage(dt, (now[1] - last[1]) / dt, (now[2] - last[2]) / dt, (now[3] - last[3]) / dt)
