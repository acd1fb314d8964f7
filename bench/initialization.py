"""Benchmark: the 10 x 500 initialization table with histograms, on 1 torch thread.

Run by hand: python bench/initialization.py
Prints medians in ms and ratios against two references measured in the same run: the bare
forward pass (matmuls, activations, random draws: the floor no statistics can beat) and a
naive version of the same statistics (per layer: numpy moments, saturated share,
np.histogram on the lesson's range, np.unique for distinct units). No assertions.
"""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bnviz.lessons import initialization as init

SETTING = init.PRESETS["cs231n_small"]  # 10 layers x 500 units, n = 1000, tanh
REPEATS = 15


def median_ms(fns: dict[str, Callable[[], object]], repeats: int = REPEATS) -> dict[str, float]:
    """Median wall time of each fn() in ms, taken in turns so load drift hits all alike."""
    times: dict[str, list[float]] = {name: [] for name in fns}
    for fn in fns.values():
        fn()  # warm-up
    for _ in range(repeats):
        for name, fn in fns.items():
            start = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(ts) * 1e3 for name, ts in times.items()}


def bare_forward() -> list:
    """The forward pass alone: what any version has to pay."""
    s = SETTING
    gen = torch.Generator().manual_seed(s["seed"])
    with torch.inference_mode():
        x, weights = init._network(s["depth"], s["width"], s["activation"], s["init"], s["n"], gen)
        return init._forward(x, weights, s["activation"], s["batchnorm"])


def lesson_table() -> list:
    """The lesson's table, cache cleared so it is really computed."""
    init._activation_table.cache_clear()
    return init.layer_stats(**SETTING)


def naive_table() -> list:
    """The obvious version of the lesson's row: moments, saturated, histogram, distinct units."""
    rows = []
    lo, hi = init.BOUNDED[SETTING["activation"]]  # the lesson's range for tanh
    for h in bare_forward():
        a = h.numpy()
        counts, _ = np.histogram(a, bins=init.BINS, range=(lo, hi))
        distinct = len(np.unique(a.T, axis=0))
        rows.append((a.mean(), a.std(), np.mean(np.abs(a) > 0.99), counts, distinct))
    return rows


def gradient_table() -> list:
    """Forward + backward with the gradients' histograms."""
    init._gradient_table.cache_clear()
    return init.gradient_stats(**SETTING)


def main() -> None:
    """Time everything on 1 thread, then the lesson table on the default thread count."""
    default_threads = torch.get_num_threads()
    torch.set_num_threads(1)
    ms = median_ms({"bare": bare_forward, "lesson": lesson_table})
    ms |= median_ms({"naive": naive_table, "grads": gradient_table}, repeats=5)
    torch.set_num_threads(default_threads)
    threads = median_ms({"lesson": lesson_table})["lesson"]
    bare, lesson = ms["bare"], ms["lesson"]
    print("initialization table: 10 layers x 500 units, n = 1000, tanh, small init (median ms)")
    print(f"  {'bare forward (the floor), 1 thread':40s} {bare:7.1f}")
    print(
        f"  {'lesson table + histograms, 1 thread':40s} {lesson:7.1f}  = {lesson / bare:.2f}x floor"
    )
    print(
        f"  {'naive table, 1 thread':40s} {ms['naive']:7.1f}  = {ms['naive'] / lesson:.1f}x lesson"
    )
    print(f"  {'gradient table (fwd + bwd), 1 thread':40s} {ms['grads']:7.1f}")
    print(f"  {f'lesson table, {default_threads} threads':40s} {threads:7.1f}")


if __name__ == "__main__":
    main()
