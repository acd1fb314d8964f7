"""Each BatchNorm-lab preset shows its claim after its number of steps (engine level).

All pairs train at once in worker processes (one per core); the claims fail if they stop
being true.
"""

import time

import numpy as np
import pytest

from bnviz.lessons.batchnorm_lab import (
    PRESETS,
    final_loss,
    mean_saturation,
    pair,
    percentile_drift,
    preset,
    steps_to_accuracy,
)
from bnviz.runner import Quotas, Scheduler


@pytest.fixture(scope="module")
def results():
    """{preset: {"plain": Snapshot, "bn": Snapshot}} with every preset trained to the end."""
    sched = Scheduler(
        workers=2, backend="process", quotas=Quotas(max_running=16, max_per_session=16)
    )
    try:
        runs = {
            (name, which): sched.start(cfg, "claims", f"{name}.{which}")
            for name in PRESETS
            for which, cfg in pair(preset(name)).items()
        }
        deadline = time.monotonic() + 600
        while not all(sched.poll(r.run_id).done for r in runs.values()):
            assert time.monotonic() < deadline, "presets did not finish in time"
            time.sleep(0.5)
        out: dict = {}
        for (name, which), run in runs.items():
            out.setdefault(name, {})[which] = sched.poll(run.run_id)
        return out
    finally:
        sched.shutdown()


def test_ioffe_bn_learns_sooner_and_its_percentiles_stay_put(results):
    plain, bn = results["ioffe"]["plain"], results["ioffe"]["bn"]
    assert plain.state == bn.state == "finished"
    assert steps_to_accuracy(bn, 0.9) < steps_to_accuracy(plain, 0.9)
    assert bn.evals["test_acc"][1] > plain.evals["test_acc"][1] + 0.2  # at the first evaluation
    assert percentile_drift(plain) > 2 * percentile_drift(bn)


def test_large_learning_rate_no_bn_stalls_or_diverges_bn_trains(results):
    plain, bn = results["large_lr"]["plain"], results["large_lr"]["bn"]
    assert plain.state == "diverged" or final_loss(plain) > 10 * final_loss(bn)
    assert bn.state == "finished" and bn.evals["test_acc"][-1] > 0.95


@pytest.mark.parametrize("name", ["small_init", "large_init"])
def test_bad_init_only_bn_learns(results, name):
    plain, bn = results[name]["plain"], results[name]["bn"]
    assert bn.evals["test_acc"][-1] > 0.9
    assert plain.evals["test_acc"][-1] < 0.75
    if name == "small_init":  # activations collapse: the last layer's spread is ~0
        q = plain.telemetry["pre_q"][-1, -1]
        assert q[-1] - q[0] < 1e-3
    else:  # tanh saturates without BN
        assert mean_saturation(plain).mean() > 0.7 > 0.1 > mean_saturation(bn).mean()


def test_deep_sigmoid_saturates_without_bn(results):
    plain, bn = results["deep_sigmoid"]["plain"], results["deep_sigmoid"]["bn"]
    sat_plain, sat_bn = mean_saturation(plain), mean_saturation(bn)
    assert len(sat_plain) == 8
    assert sat_plain[1:].mean() > 0.15 and sat_bn.max() < 0.05
    assert np.isfinite(sat_plain).all()


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
