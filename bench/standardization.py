"""Input standardization page: how long one redraw's numbers and figures take (run by hand).

    python bench/standardization.py

Prints medians in ms and ratios against baselines measured in the same run: the contour grid
from sufficient statistics vs brute force over the samples, and the GD path by matrix
doubling vs a step-by-step loop. No assertions: numbers depend on the machine.
"""

from types import SimpleNamespace

import numpy as np
from _common import median_ms as common_median_ms  # also puts the repository on sys.path

from bnviz.figures import standardization as figs
from bnviz.lessons import standardization as S
from bnviz.lessons import two_weights

REPEATS = 50
STEPS = 500


def median_ms(fn, repeats: int = REPEATS) -> float:
    """Median wall time of fn() in milliseconds (bench/_common.median_ms, this file's repeats)."""
    return common_median_ms(fn, repeats)


def brute_grid(p: S.Problem, grid: S.Grid) -> np.ndarray:
    """Baseline: mean((Xw - y)²)/2 at every grid point, over all samples."""
    W = np.stack(np.meshgrid(grid.w1, grid.w2), -1).reshape(-1, 2)  # (R², 2)
    return (((W @ p.X.T - p.y) ** 2).mean(-1) / 2).reshape(len(grid.w2), len(grid.w1))


def panels(cfg: S.StandardizationConfig):
    """Both panels' descents and contour grids, as the page computes them."""
    out = []
    for standardize in (False, True):
        d = S.descent(**cfg.descent_args(standardize))
        out.append((d, S.contour_grid(d.problem, d.path)))
    return out


def figures(cfg: S.StandardizationConfig, lang: str = "en"):
    """Numbers plus the three figures of one redraw."""
    return figures_of(panels(cfg), lang)


def figures_of(computed, lang: str = "en"):
    """The three figures of one redraw from computed panels (the part both sides draw)."""
    (raw, g_raw), (std, g_std) = computed
    return (
        figs.contour_figure(raw, g_raw, lang=lang),
        figs.contour_figure(std, g_std, lang=lang),
        figs.loss_figure(raw, std, lang=lang),
    )


def report(name: str, ms: float, baseline: float | None = None) -> None:
    """One line: name, median ms, and the speed-up over the baseline."""
    ratio = f"   {baseline / ms:7.1f}x faster than the baseline" if baseline else ""
    print(f"{name:<58s} {ms:9.3f} ms{ratio}")


def naive_panels(cfg: S.StandardizationConfig) -> None:
    """Baseline for both panels: step-by-step paths and brute-force grids over the samples.

    The grid's axes come from the lesson's own framing rule (_half_spans); every loss value
    is computed over the samples, none from XᵀX.
    """
    for standardize in (False, True):
        p = S.problem(cfg.scale, standardize, cfg.noise, cfg.n, cfg.seed, cfg.model)
        path = two_weights._loop_path(p, (cfg.w1_0, cfg.w2_0), [cfg.lr], cfg.steps, "gd", 0.9)
        with np.errstate(all="ignore"):
            span = two_weights._half_spans(p, path[:, 0], False, 3.0)
        t = np.linspace(-1.0, 1.0, 200)
        axes = SimpleNamespace(w1=p.w_star[0] + span[0] * t, w2=p.w_star[1] + span[1] * t)
        brute_grid(p, axes)


def main() -> None:
    """Time the linear and the logistic page at the default scale (x2 ≈ 100·x1)."""
    cfg = S.StandardizationConfig(steps=STEPS)
    d = S.descent(**cfg.descent_args(False))
    p, grid = d.problem, S.contour_grid(d.problem, d.path)
    start, lr = (cfg.w1_0, cfg.w2_0), [cfg.lr]
    print(f"median of {REPEATS} runs; {STEPS}-step paths; 200x200 grids; n = {cfg.n} samples\n")

    brute = median_ms(lambda: brute_grid(p, grid))
    report("baseline: 200x200 grid by brute force over the samples", brute)
    report(
        "200x200 contour grid from XᵀX, Xᵀy, yᵀy",
        median_ms(lambda: S.contour_grid(p, d.path)),
        brute,
    )
    loop = median_ms(lambda: two_weights._loop_path(p, start, lr, STEPS, "gd", 0.9))
    report("baseline: 500-step GD path, one step at a time", loop)
    report(
        "500-step GD path by matrix doubling",
        median_ms(lambda: S.iterate(p, start, lr, STEPS)),
        loop,
    )
    naive = median_ms(lambda: naive_panels(cfg), 10)
    report("baseline: both panels, naive (loops + brute-force grids)", naive)
    report("both panels: descent + grid (linear, GD)", median_ms(lambda: panels(cfg)), naive)
    computed = panels(cfg)
    drawn = median_ms(lambda: figures_of(computed), 10)  # the same figures on both sides
    report("baseline: both panels naive + the 3 figures", naive + drawn)
    report("both panels + 3 figures (linear, GD)", median_ms(lambda: figures(cfg)), naive + drawn)

    print()
    momentum, adam = cfg.replace(optimizer="momentum"), cfg.replace(optimizer="adam", lr=0.01)
    logistic = cfg.replace(model="logistic", lr=1e-3, lr_std=1.0)
    for name, c in (
        ("linear, momentum", momentum),
        ("linear, Adam", adam),
        ("logistic, GD", logistic),
    ):
        report(f"both panels: descent + grid ({name})", median_ms(lambda c=c: panels(c), 10))
    report("both panels + 3 figures (logistic, GD)", median_ms(lambda: figures(logistic), 10))
    sweeps = lambda: [S.lr_sweep(standardize=s, steps=2000) for s in (False, True)]  # noqa: E731
    report("lr sweep: 2 x 40 learning rates x 2000 steps (linear, GD)", median_ms(sweeps, 10))
    figure = lambda: figs.sweep_figure(*sweeps(), lang="en")  # noqa: E731
    report("lr sweep + its figure (linear, GD)", median_ms(figure, 10))
    size = sum(len(f.to_json()) for f in figures(cfg)) / 1e3
    print(f"\nJSON of the 3 figures: {size:.0f} kB (two 200x200 float32 contours)")


if __name__ == "__main__":
    main()
