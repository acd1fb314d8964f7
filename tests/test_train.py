"""Training: deterministic, learns, diverges with a clear step number."""

import numpy as np
import pytest

from bnviz.config import RunConfig
from bnviz.runner import train_sync
from bnviz.stepper import Stepper
from bnviz.train import Trainer


def test_same_config_same_run():
    cfg = RunConfig(steps=60, norm="batchnorm")
    a, b = train_sync(cfg), train_sync(cfg)
    assert np.array_equal(a.losses["loss"], b.losses["loss"])
    c = train_sync(cfg.replace(seed=1))
    assert not np.array_equal(a.losses["loss"], c.losses["loss"])


def test_both_variants_see_the_same_batches():
    cfg = RunConfig(depth=2, width=8)
    a, b = Trainer(cfg), Trainer(cfg.replace(norm="batchnorm"))
    for _ in range(30):
        xa, ya = a.next_batch()
        xb, yb = b.next_batch()
        assert (xa == xb).all() and (ya == yb).all()


def test_a_small_network_learns_moons():
    snap = train_sync(RunConfig(dataset="moons", steps=600, optimizer="adam", lr=0.01))
    assert snap.state == "finished" and snap.step == 600
    assert snap.evals["test_acc"][-1] > 0.95
    assert snap.evals["step"][-1] == 600  # a final evaluation at the end


def test_divergence_is_a_state_with_the_step_number():
    cfg = RunConfig(activation="relu", init="large", lr=10.0, optimizer="sgd", depth=6, steps=200)
    snap = train_sync(cfg)
    assert snap.state == "diverged"
    assert 1 <= snap.diverged_at <= 200
    assert snap.step == snap.diverged_at - 1  # the step that produced NaN did not count


def test_batch_size_one_with_bn_is_explained_not_raised():
    stepper = Stepper("x", RunConfig(norm="batchnorm", batch_size=1))
    assert stepper.state == "error" and "errors.bn_batch1" in stepper.error


def test_batch_larger_than_data_is_clamped():
    snap = train_sync(RunConfig(n_samples=50, batch_size=1024, steps=5))
    assert snap.state == "finished"


@pytest.mark.parametrize("optimizer", ["sgd", "momentum", "adam"])
def test_learning_rate_can_change_while_training(optimizer):
    tr = Trainer(RunConfig(optimizer=optimizer, steps=10))
    tr.step()
    tr.set_lr(0.123)
    assert all(g["lr"] == 0.123 for g in tr.optimizer.param_groups) and tr.lr == 0.123
