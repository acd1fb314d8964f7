"""The claim of the heatmap view, over seeds 0-4: BN widens the region that reaches 90 %.

    python bench/bn_grid.py [seeds]

One sweep per seed: the lr x init-scale grid of lessons.hyperparams (BN_GRID_*), without and
with BN, 72 models. Prints the count of settings whose test accuracy reaches 90 % (~2 s a
seed; tests/test_hyperparams_claims.py checks the claim itself).
"""

import sys
import time

import _common  # noqa: F401  (the repository on sys.path)
import torch

from bnviz.lessons.hyperparams import (
    BN_GRID_BASE,
    BN_GRID_LRS,
    BN_GRID_SCALES,
    good_share,
    lr_scale_grid,
)  # fmt: skip
from bnviz.sweep import train_sweep

torch.set_num_threads(1)


def main() -> None:
    seeds = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    grid = lr_scale_grid(BN_GRID_LRS, BN_GRID_SCALES)
    for seed in range(seeds):
        start = time.perf_counter()
        changes = [dict(c, norm=n, seed=seed) for n in ("none", "batchnorm") for c in grid]
        acc = train_sweep(BN_GRID_BASE, changes).final_acc
        plain, bn = good_share(acc[: len(grid)]), good_share(acc[len(grid) :])
        print(f"seed {seed}: >= 90 % without BN {plain[0]}/{plain[1]}, with BN {bn[0]}/{bn[1]} "
              f"({time.perf_counter() - start:.0f} s)")  # fmt: skip


if __name__ == "__main__":
    main()
