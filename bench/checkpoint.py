"""Cost of a checkpoint (Stepper.checkpoint + a SQLite store write) against one training slice.

python bench/checkpoint.py   # prints size, checkpoint and store-write times per network size
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import _common  # noqa: F401  (puts the repository on sys.path)
import torch

from bnviz.config import RunConfig
from bnviz.stepper import Stepper
from bnviz.store import pack
from bnviz.store_sqlite import SQLiteStore

CASES = {
    "lab default (3x64, momentum)": RunConfig(),
    "lab default + BN, Adam": RunConfig(norm="batchnorm", optimizer="adam"),
    "largest allowed (10x512, Adam)": RunConfig(depth=10, width=512, optimizer="adam"),
}


def best_of(fn, repeats: int = 5) -> float:
    """Fastest of a few timings, in ms."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return min(times)


def main() -> None:
    """One line per network: KB, ms to checkpoint, ms to store, ms of a 100-step slice."""
    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as tmp:
        store = SQLiteStore(Path(tmp) / "bench.sqlite", 1 << 30)
        print(f"{'network':34} {'KB':>8} {'ckpt ms':>8} {'store ms':>9} {'100 steps ms':>13}")
        for name, cfg in CASES.items():
            run = Stepper("bench", cfg)
            run.advance(max_steps=200)
            blob = run.checkpoint()
            ckpt = best_of(run.checkpoint)
            put = best_of(lambda b=blob: store.checkpoint("bench", b))
            steps = best_of(lambda r=run: r.advance(max_steps=100), 3)
            print(f"{name:34} {len(blob) / 1024:8.0f} {ckpt:8.1f} {put:9.1f} {steps:13.1f}")
            print(f"{'':34} checkpoint + store = {(ckpt + put) / steps:.2f} x a 100-step slice")
            snap = run.snapshot()
            done = best_of(lambda s=snap: store.put_finished("bench", s))
            size = len(pack(snap)) / 1024
            print(f"{'':34} finished snapshot: {size:.0f} KB, put_finished {done:.1f} ms")
        store.close()


if __name__ == "__main__":
    main()
