"""Each BatchNorm-lab preset shows the sentence the page prints next to it, for seeds 0-4.

SLOW BY DESIGN (the claims test: ~70 s of CPU, ~40 s on 2 idle cores): the default and every
preset train as a pair (no BN, BN) for seeds 0-4, at the preset's full length, on 2 processes; every
assertion below is one clause of `lab.preset.<name>_what` (or of the DEFAULT comment).
"""

import multiprocessing
from concurrent.futures import ProcessPoolExecutor

import numpy as np
import pytest
import torch

from bnviz.lessons.batchnorm_lab import (
    DEFAULT,
    PRESETS,
    final_loss,
    gradient_shrink,
    mean_saturation,
    pair,
    percentile_drift,
    preset,
    steps_to_accuracy,
)
from bnviz.runner import Scheduler, train_sync

SEEDS = range(5)
NAMES = ["default", *PRESETS]
pytestmark = pytest.mark.timeout(900)  # the claims fixture trains 60 runs (~70 s of CPU)


def _never(step: int | None) -> float:
    return float("inf") if step is None else step


def _train_pair(name: str, seed: int) -> dict:
    torch.set_num_threads(1)  # a spawned worker does not run conftest
    base = DEFAULT if name == "default" else preset(name)
    return {which: train_sync(cfg) for which, cfg in pair(base.replace(seed=seed)).items()}


@pytest.fixture(scope="module")
def results():
    """{(preset, seed): {"plain": Snapshot, "bn": Snapshot}}, trained on first use per preset."""
    with ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("spawn")) as pool:

        class Results(dict):
            def __missing__(self, key):
                name = key[0]
                pairs = pool.map(_train_pair, [name] * len(SEEDS), SEEDS)
                self.update({(name, seed): p for seed, p in zip(SEEDS, pairs, strict=True)})
                return self[key]

        yield Results()


@pytest.mark.parametrize("seed", SEEDS)
def test_default_bn_reaches_95_percent_sooner_but_ends_at_a_higher_loss(results, seed):
    plain, bn = results["default", seed]["plain"], results["default", seed]["bn"]
    assert _never(steps_to_accuracy(bn, 0.95)) < _never(steps_to_accuracy(plain, 0.95))
    assert final_loss(bn) > final_loss(plain)


@pytest.mark.parametrize("seed", SEEDS)
def test_ioffe_bn_passes_90_at_step_100_and_its_percentiles_drift_half_as_much(results, seed):
    plain, bn = results["ioffe", seed]["plain"], results["ioffe", seed]["bn"]
    assert plain.state == bn.state == "finished"
    assert steps_to_accuracy(bn, 0.9) == 100
    assert 300 <= _never(steps_to_accuracy(plain, 0.9)) <= 600
    assert 1.7 < percentile_drift(plain) / percentile_drift(bn) < 3.0  # "about half"


@pytest.mark.parametrize("seed", SEEDS)
def test_large_learning_rate_no_bn_stalls_saturated_bn_trains(results, seed):
    plain, bn = results["large_lr", seed]["plain"], results["large_lr", seed]["bn"]
    assert plain.state == "diverged" or final_loss(plain) > 10 * final_loss(bn)
    assert plain.state == "diverged" or mean_saturation(plain).mean() > 0.9
    assert bn.state == "finished" and bn.evals["test_acc"][-1] > 0.97


@pytest.mark.parametrize("seed", SEEDS)
def test_small_init_collapses_to_chance_without_bn(results, seed):
    plain, bn = results["small_init", seed]["plain"], results["small_init", seed]["bn"]
    assert 0.4 < plain.evals["test_acc"][-1] < 0.6  # chance on two classes
    q = plain.telemetry["pre_q"][-1, -1]
    assert q[-1] - q[0] < 1e-3  # the last layer's spread collapsed
    assert bn.evals["test_acc"][-1] > 0.9


@pytest.mark.parametrize("seed", SEEDS)
def test_large_init_saturates_without_bn_and_bn_reaches_95_sooner(results, seed):
    plain, bn = results["large_init", seed]["plain"], results["large_init", seed]["bn"]
    assert mean_saturation(plain).mean() > 0.8 and mean_saturation(bn).mean() < 0.03
    assert _never(steps_to_accuracy(bn, 0.95)) < _never(steps_to_accuracy(plain, 0.95))


@pytest.mark.parametrize("seed", SEEDS)
def test_deep_sigmoid_gradient_shrinks_and_no_bn_stays_at_chance(results, seed):
    plain, bn = results["deep_sigmoid", seed]["plain"], results["deep_sigmoid", seed]["bn"]
    assert len(mean_saturation(plain)) == 10
    losses = plain.evals["train_loss"]  # "drops to 0.69, chance, and stays there"
    assert losses.min() > np.log(2) - 0.005
    assert np.all(np.abs(losses[len(losses) // 4 :] - np.log(2)) < 0.01)
    assert 3.0 < gradient_shrink(plain) < 6.0  # "about 4x per layer"
    assert gradient_shrink(bn) < 1.5  # every layer gets a gradient
    assert bn.evals["test_acc"][-1] > 0.95


def test_a_class_opening_one_preset_shares_one_pair():
    sched = Scheduler(workers=1, backend="thread", warm=False)
    try:
        configs = pair(preset("large_lr"))
        runs = {
            (s, w): sched.start(cfg, f"student{s}", f"lab.{w}")
            for s in range(30)
            for w, cfg in configs.items()
        }
        assert len({id(r) for r in runs.values()}) == 2
        assert sum(sched.stats().values()) == 2
    finally:
        sched.shutdown()


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_lab_prose_and_sentences_say_what_the_runs_show(lang):
    import inspect

    from bnviz.i18n import lesson_text, t
    from bnviz.lessons import batchnorm_lab

    prose = lesson_text("batchnorm_lab", lang)
    assert "γ = √(σ² + ε)" in prose and "γ = σ " not in prose and "γ = σ、" not in prose
    assert "the deeper the net, the worse" not in prose and "网络越深越严重" not in prose
    assert "stay put" not in t("lab.preset.ioffe_what", lang)
    source = inspect.getsource(batchnorm_lab)
    assert "clear BN win" not in source and "higher training loss" in source


@pytest.mark.parametrize("seed", SEEDS)
def test_gamma_beta_undo_the_normalization_and_the_bias_before_bn_never_moves(seed):
    from bnviz.lessons.batchnorm_lab import bias_before_bn, undo_normalization

    assert undo_normalization(seed) < 1e-6  # identity up to float32 rounding
    check = bias_before_bn(seed)
    assert check.weight_grad > 0.1  # the layer does learn...
    assert check.bias_grad < 1e-6  # ...its bias gets 0 up to float32 rounding (~1e-8)
    assert check.bias_moved < 1e-8


def test_undo_normalization_matches_the_formula():
    x = torch.randn(64, 8, generator=torch.Generator().manual_seed(0)) * 3.0 + 2.0
    mu, var = x.mean(0), x.var(0, unbiased=False)
    y = (x - mu) / torch.sqrt(var + 1e-5) * torch.sqrt(var + 1e-5) + mu  # BN, then γ, β
    assert float((y - x).abs().max() / x.abs().max()) < 1e-6
