"""Why-BN page: what each view's numbers cost (run by hand).

    python bench/why_bn.py

Prints medians in ms, and ratios against baselines measured in the same run: the exact
(rational) deep-linear step vs its float64 order-k terms alone, and each live view against
train_sync of its runs alone (the cost of the probes on top of training). No assertions:
numbers depend on the machine.
"""

import numpy as np
import torch
from _common import median_ms  # also puts the repository on sys.path

from bnviz.figures import why_bn as figs
from bnviz.lessons import why_bn as W
from bnviz.lessons import why_bn_layers as layers
from bnviz.lessons import why_bn_live as live
from bnviz.runner import train_sync

torch.set_num_threads(1)


def main() -> None:
    w = np.full(50, 1.2)
    terms = median_ms(lambda: W.order_terms(1.0, w, -0.01 * W.leave_one_out(w)), 50)
    step = median_ms(lambda: W.deep_linear_step(50, 1.2, 0.01), 20)
    print(f"depth 50: order-k terms {terms:.2f} ms, whole step (exact integers) {step:.1f} ms "
          f"(x{step / terms:.0f})")  # fmt: skip
    view = median_ms(lambda: (
        figs.terms_figure(W.deep_linear_step(50, 1.2, 0.01), lang="en"),
        figs.safe_lr_figure(W.safe_lr_curve(), lang="en", depth=50),
    ), 10)  # fmt: skip
    print(f"view 1 redraw (step, curve, two figures): {view:.1f} ms")
    cfg = live.BASE
    bare = median_ms(lambda: [train_sync(c) for c in live.noise_trio(cfg).values()], 1)
    shift = median_ms(lambda: live.covariate_shift(cfg, steps=cfg.steps, every=10), 1)
    smooth = live.smooth_pair(live.SMOOTH)  # the page's live pair: metric every 25 steps
    pair = median_ms(lambda: [train_sync(c.replace(metrics=())) for c in smooth.values()], 3)
    paid = median_ms(lambda: [train_sync(c) for c in smooth.values()], 3)
    print(f"three runs of {cfg.steps} steps: {bare:.0f} ms")
    print(f"covariate shift, same three runs probed every 10 steps: {shift:.0f} ms "
          f"(x{shift / bare:.2f})")  # fmt: skip
    print(f"smoothness pair (eval every 25): {pair:.0f} ms without the metric, {paid:.0f} ms "
          f"with it (x{paid / pair:.2f})")  # fmt: skip
    for name, fn in (
        ("lower layers (4 runs)", lambda: [layers.lower_layers(a, f) for a in ("linear", "tanh")
                                           for f in (False, True)]),
        ("gamma/beta", layers.gamma_beta),
        ("bias", layers.bias_gradient),
    ):  # fmt: skip
        print(f"{name}: {median_ms(fn, 1):.0f} ms")


if __name__ == "__main__":
    main()
