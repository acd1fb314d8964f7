"""Why BN helps, on trained networks: covariate shift measured, Santurkar et al. 2018's noise
injection, and smoothness along the path (the "smoothness" metric of bnviz.metrics, which only
this lesson's runs name, sampled at their evaluations). Deterministic from the config's seed;
lower layers, γ/β and the bias are in bnviz.lessons.why_bn_layers.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import torch
from torch.nn import functional as F

from bnviz.config import RunConfig
from bnviz.metrics import ETAS, PROBE, SMOOTH_KEYS, smoothness  # noqa: F401 (the lesson's API)
from bnviz.nets import bn_buffers_kept
from bnviz.runner import train_sync
from bnviz.stepper import Snapshot
from bnviz.telemetry import Q15, Q50, Q85
from bnviz.train import Trainer

# moons, 4 tanh layers, plain SGD at lr 2.0, 300 steps: with BN test accuracy ≥ 0.98 on seeds
# 0-4, without BN 0.49-0.98 (measured; tests/test_why_bn_live.py).
BASE = RunConfig(
    dataset="moons", depth=4, width=32, activation="tanh", optimizer="sgd", lr=2.0,
    steps=300, log_every=50, eval_every=100,
)  # fmt: skip
NOISE = 0.5  # injected shift in (−0.5, 0.5), scale in (e^−0.5, e^0.5), redrawn every step


def one_thread() -> None:
    """Train these tiny nets on one torch thread, as the workers do (process-wide).

    In a busy server process the default (all cores) made lower_layers 15-50x slower
    (measured: 56 s instead of ~1 s for 600 steps with the load at 6 on 2 cores).
    """
    if torch.get_num_threads() != 1:
        torch.set_num_threads(1)


# The page's live trio: BASE with telemetry every 10 steps (neither telemetry nor evaluation
# draws from a training random stream, so the runs are BASE's whatever log_every/eval_every).
LIVE = BASE.replace(log_every=10)


def pair(cfg: RunConfig) -> dict[str, RunConfig]:
    """The run without and with BatchNorm."""
    return {"plain": cfg.replace(norm="none"), "bn": cfg.replace(norm="batchnorm")}


def noise_trio(cfg: RunConfig = BASE, noise: float = NOISE) -> dict[str, RunConfig]:
    """Santurkar's three runs: no BN, BN, and BN with injected noise after every BN layer."""
    return pair(cfg) | {"bn_noise": cfg.replace(norm="batchnorm", bn_noise=noise)}


def train_trio(cfg: RunConfig = BASE, noise: float = NOISE) -> dict[str, Snapshot]:
    """The three runs trained to the end (tests and the page's static fallback)."""
    return {name: train_sync(c) for name, c in noise_trio(cfg, noise).items()}


# ---------------------------------------------------------------------------- smoothness

# The page's smoothness pair: BASE's two nets (the trio's no BN and BN, 300 steps) evaluated
# every 25 steps with the "smoothness" metric (metrics.path_smoothness: Santurkar Fig. 4 on the
# probe batch). The metric draws no training randomness: the losses are BASE's.
SMOOTH = BASE.replace(eval_every=25, metrics=("smoothness",))


def smooth_pair(cfg: RunConfig = SMOOTH) -> dict[str, RunConfig]:
    """The runs the smoothness view trains live: without and with BN (cfg names the metric)."""
    return pair(cfg)


def smoothness_rows(snap: Snapshot) -> dict[str, np.ndarray]:
    """A run's smoothness evaluations so far: "step" and SMOOTH_KEYS (loss_min/loss_max: the
    band of L(θ − η·g); loss_range, grad_change, beta_eff), one value per evaluation."""
    ev = snap.evals
    if "smooth_beta_eff" not in ev:
        return {k: np.zeros(0) for k in ("step", *SMOOTH_KEYS)}
    cols = {k: np.asarray(ev[f"smooth_{k}"], dtype=np.float64) for k in SMOOTH_KEYS}
    return {"step": np.asarray(ev["step"])} | cols


def probe_batch(tr: Trainer) -> tuple[torch.Tensor, torch.Tensor]:
    """The fixed probe: the first PROBE training examples."""
    return tr.x[:PROBE], tr.y[:PROBE]


# ---------------------------------------------------------------------------- covariate shift


def _hidden_outputs(tr: Trainer, x: torch.Tensor) -> list[torch.Tensor]:
    """Every hidden block's output on x in training mode (batch statistics).

    BN buffers and the noise stream are put back, so probing never changes the run; two
    probes between the same training steps therefore see the same injected noise.
    """
    outs = []
    with torch.no_grad(), bn_buffers_kept(tr.model), tr.streams_kept():
        for block in tr.model.blocks:
            x = block(x)
            outs.append(x)
    return outs


def first_layer_effect(tr: Trainer) -> float:
    """Relative change of the last hidden layer's output on the probe when only the first
    layer takes this batch's gradient step (the other layers stay as they are)."""
    x, y = probe_batch(tr)
    first = list(tr.model.blocks[0].linear.parameters())
    before = _hidden_outputs(tr, x)[-1]
    with bn_buffers_kept(tr.model), tr.streams_kept():
        grads = torch.autograd.grad(F.cross_entropy(tr.model(x), y), first)
    saved = [p.detach().clone() for p in first]
    with torch.no_grad():
        for p, g in zip(first, grads, strict=True):
            p -= tr.lr * g
    after = _hidden_outputs(tr, x)[-1]
    with torch.no_grad():
        for p, s in zip(first, saved, strict=True):
            p.copy_(s)
    return float((after - before).norm() / before.norm().clamp_min(1e-12))


def layer_input_stats(tr: Trainer, layer: int = -1) -> dict[str, np.ndarray]:
    """Per-unit mean and std of the input of hidden block `layer` on the probe batch."""
    outs = _hidden_outputs(tr, probe_batch(tr)[0])
    h = outs[layer - 1] if len(outs) > 1 else probe_batch(tr)[0]
    return {"mean": h.mean(0).numpy(), "std": h.std(0).numpy()}


def covariate_shift(
    cfg: RunConfig = BASE, steps: int = 200, every: int = 10, layer: int = -1,
    noise: float = NOISE,
) -> dict[str, dict[str, np.ndarray]]:  # fmt: skip
    """For each run of noise_trio: per step, how far the input of a deep layer moves (mean
    over units of |Δmean| and |Δstd| between samples `every` steps apart, divided by `every`),
    and first_layer_effect at each sample."""
    one_thread()
    out = {}
    for name, c in noise_trio(cfg, noise).items():
        tr = Trainer(c)
        stats, effect, sampled = [], [], []
        for s in range(steps + 1):
            if s % every == 0:
                stats.append(layer_input_stats(tr, layer))
                effect.append(first_layer_effect(tr))
                sampled.append(s)
            if s < steps:
                tr.step()
        mean = np.stack([st["mean"] for st in stats])
        std = np.stack([st["std"] for st in stats])
        out[name] = {
            "step": np.array(sampled[1:]),
            "mean_shift": np.abs(np.diff(mean, axis=0)).mean(1) / every,
            "std_shift": np.abs(np.diff(std, axis=0)).mean(1) / every,
            "first_layer_effect": np.array(effect[1:]),
        }
    return out


PER_UNIT_STEPS, PER_UNIT_EVERY = 150, 10  # the lesson text's per-unit measure (covariate_shift)
STALLED_EFFECT = 1e-3  # a first-layer step moving the last hidden layer less: a saturated net


def per_unit_measure(seed: int) -> dict[str, float | bool]:
    """The lesson text's per-unit numbers on one seed (the page's box; ~1.5 s of training)."""
    shift = covariate_shift(BASE.replace(seed=seed), steps=PER_UNIT_STEPS, every=PER_UNIT_EVERY)
    return per_unit_ratios(shift)


def per_unit_ratios(shift: Mapping[str, Mapping[str, np.ndarray]]) -> dict[str, float | bool]:
    """Medians over a `covariate_shift` result's samples: mean_less (no BN / BN: the deepest
    input's per-unit mean), effect_less (no BN / BN: a step of the first layer alone), noise_more
    (BN + noise / BN: the mean), and `moving`: whether the net without BN moves at all (on 1 to 3
    of seeds 0-4 it saturates at chance)."""
    med = {run: {k: float(np.median(v)) for k, v in r.items()} for run, r in shift.items()}
    plain, bn, noisy = med["plain"], med["bn"], med["bn_noise"]
    return {
        "mean_less": plain["mean_shift"] / bn["mean_shift"],
        "effect_less": plain["first_layer_effect"] / bn["first_layer_effect"],
        "noise_more": noisy["mean_shift"] / bn["mean_shift"],
        "moving": plain["first_layer_effect"] > STALLED_EFFECT,
    }


# ---------------------------------------------------------------- from a run's telemetry


def input_movement(snap: Snapshot, layer: int = -1) -> dict[str, np.ndarray]:
    """Per step, how far a layer's pre-activation distribution moves: the mean |change| of its
    15/50/85 % quantiles (pooled over units) between telemetry samples, over the steps between.

    Returns {"step": (T-1,), "move": (T-1,), "q_step": (T,), "q": (T, 3)}; empty before two
    samples.
    """
    tel = snap.telemetry
    if "pre_q" not in tel or len(tel["step"]) < 2:
        return {
            "step": np.zeros(0),
            "move": np.zeros(0),
            "q_step": np.zeros(0),
            "q": np.zeros((0, 3)),
        }
    q = np.asarray(tel["pre_q"][:, layer][:, [Q15, Q50, Q85]], dtype=np.float64)
    steps = np.asarray(tel["step"], dtype=np.float64)
    move = np.abs(np.diff(q, axis=0)).mean(1) / np.maximum(np.diff(steps), 1)
    return {"step": steps[1:], "move": move, "q_step": steps, "q": q}


def final_acc(snap: Snapshot) -> float:
    """The run's last test accuracy (nan before the first evaluation)."""
    acc = snap.evals.get("test_acc", ())
    return float(acc[-1]) if len(acc) else float("nan")


def move_vs_bn(moves: Mapping[str, Mapping[str, np.ndarray]]) -> dict[str, float]:
    """Each run's median movement per step (input_movement) over the BN run's: the covariate-
    shift sentence's measure. NaN before both have two samples."""
    median = {
        n: float(np.median(m["move"])) if len(m["move"]) else np.nan for n, m in moves.items()
    }
    bn = median.get("bn", np.nan)
    return {n: float(v / bn) if bn > 0 else np.nan for n, v in median.items()}


AT_CHANCE = 0.6  # a moons net below this test accuracy at the end saturated (chance is 0.5)
NOISE_ACC = 0.97  # "BN + noise trains about as well as BN": this accuracy, within 0.03 of BN
NOISE_WORST = 0.85  # ...on most seeds; one seed on one machine fell to 0.856 (below)


def noise_trains_as_well(snaps: dict[str, Snapshot]) -> bool:
    """BN + noise reaches NOISE_ACC test accuracy, within 0.03 of BN."""
    noisy, bn = final_acc(snaps["bn_noise"]), final_acc(snaps["bn"])
    return bool(noisy >= NOISE_ACC and abs(noisy - bn) <= 0.03)


def noise_claim(snaps: dict[str, Snapshot]) -> bool:
    """Santurkar's sentence, one seed: BN trains (≥ 0.97), BN + noise at least NOISE_WORST
    although its deepest pre-activation moves at least 1.5x more per step than BN's.

    Over seeds 0-4 (tests/test_why_bn_live.py) BN + noise is within 0.03 of BN and ≥ 0.97 on
    4 or 5 of them. Measured on an AVX-512 machine under three rounding modes (default,
    MKL_CBWR=COMPATIBLE, AVX2 kernels): 0.976-1.0, except seed 4 at 0.856 in the default mode;
    earlier on another machine 0.976-1.0. The move ratio was 1.59-7.2.
    """
    return bool(
        final_acc(snaps["bn"]) >= NOISE_ACC
        and final_acc(snaps["bn_noise"]) >= NOISE_WORST
        and move_vs_bn({k: input_movement(snaps[k]) for k in ("bn", "bn_noise")})["bn_noise"] > 1.5
    )


def shift_claim(snaps: dict[str, Snapshot]) -> bool:
    """Covariate shift: BN + noise moves at least 1.5x more than BN; without BN over 10x more
    than BN, unless that net saturated at chance (1-3 of seeds 0-4, by the machine's rounding:
    its inputs then drift by anything from 0.3x to 9x BN's). Measured 12-81x where it trains."""
    ratio = move_vs_bn({k: input_movement(snaps[k]) for k in ("plain", "bn", "bn_noise")})
    at_chance = final_acc(snaps["plain"]) < AT_CHANCE
    return bool(ratio["bn_noise"] > 1.5 and (ratio["plain"] > 10 or at_chance))


SMOOTH_MEASURES = ("loss_range", "grad_change", "beta_eff")


def smooth_ratios(rows: Mapping[str, Mapping[str, np.ndarray]]) -> dict[str, float]:
    """The smoothness sentence's measures on the pair's rows (smoothness_rows): for each of
    SMOOTH_MEASURES the plain net's median over BN's ("BN n× smaller"); "start" and "end":
    BN's β_eff over the plain net's at the first evaluation (step 0) and at the last. NaN
    until both runs have a row."""
    plain, bn = rows.get("plain"), rows.get("bn")
    if plain is None or bn is None or not min(len(plain["beta_eff"]), len(bn["beta_eff"])):
        return dict.fromkeys((*SMOOTH_MEASURES, "start", "end"), np.nan)
    out = {m: float(np.median(plain[m]) / np.median(bn[m])) for m in SMOOTH_MEASURES}
    out["start"] = float(bn["beta_eff"][0] / plain["beta_eff"][0])
    out["end"] = float(bn["beta_eff"][-1] / plain["beta_eff"][-1])
    return out


def smooth_rows_claim(rows: dict[str, dict[str, np.ndarray]]) -> bool:
    """The smoothness sentence on the pair's rows (smooth_ratios): median loss range, gradient
    change and β_eff at least 2x smaller with BN; at initialization BN's β_eff is 1.9–3.6x larger
    (seeds 0-4: 2.63, 2.08, 3.60, 1.94, 3.22; step 0, before any training step); at the last
    evaluation it is smaller."""
    if min(len(rows["plain"]["beta_eff"]), len(rows["bn"]["beta_eff"])) < 2:
        return False
    r = smooth_ratios(rows)
    smaller = all(r[m] > 2 for m in SMOOTH_MEASURES)
    return bool(smaller and 1.85 < r["start"] < 3.7 and r["end"] < 1)


def smooth_claim(snaps: dict[str, Snapshot]) -> bool:
    """The smoothness view's sentence on its live pair (plain, bn), finished."""
    done = all(s.done for s in snaps.values())
    return done and smooth_rows_claim({n: smoothness_rows(s) for n, s in snaps.items()})


LIVE_CLAIMS = {"noise": noise_claim, "shift": shift_claim, "smooth": smooth_claim}
