"""Training: deterministic, learns, diverges with a clear step number."""

import copy
import itertools

import numpy as np
import pytest
import torch

from bnviz import train
from bnviz.config import RunConfig
from bnviz.metrics import EVAL_COLUMNS, batch_mode_metrics
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
    cfg = RunConfig(n_samples=50, batch_size=1024, steps=5)
    tr = Trainer(cfg)
    assert tr.batch_size == len(tr.x) < 1024
    for _ in range(3):  # every step uses the whole (reshuffled) training set
        xb, _ = tr.next_batch()
        assert len(xb) == len(tr.x)
    assert train_sync(cfg).state == "finished"


# ---------------------------------------------------------------------------- metrics by name


def test_a_run_evaluates_only_the_metrics_its_config_names():
    lab = Trainer(RunConfig(norm="batchnorm", activation="relu", steps=5))
    lab.record_eval()
    assert set(lab.evals.view()) == {"step", *EVAL_COLUMNS}
    cfg = RunConfig(norm="batchnorm", activation="relu", metrics=("population", "dead"))
    full = Trainer(cfg)
    full.record_eval()
    assert set(full.evals.view()) == {"step", *EVAL_COLUMNS, "dead", "bn_pop_mean", "bn_pop_var"}
    assert cfg.key() != cfg.replace(metrics=()).key()  # part of the run's identity
    assert cfg.key() == cfg.replace(metrics=("dead", "population")).key()  # in any order
    with pytest.raises(KeyError, match="unknown metric"):
        Trainer(RunConfig(metrics=("nope",)))


@pytest.mark.parametrize(
    "random", [dict(bn_noise=0.5), dict(dropout=0.3), dict(bn_noise=0.5, dropout=0.3)]
)
def test_how_often_a_run_evaluates_never_changes_its_training(random, monkeypatch):
    """Injected BN noise and dropout draw from generators that only training steps advance:
    metrics running the net in train mode (batch statistics) at every step or every 100th
    leave the same losses. With no generators kept (Trainer._streams, which streams_kept and
    deferred evaluations put back) the same runs differ."""
    cfg = RunConfig(dataset="moons", depth=3, width=16, norm="batchnorm", steps=60, **random,
                    metrics=("batch_mode", "population"))  # fmt: skip

    def losses(every: int) -> np.ndarray:
        return train_sync(cfg.replace(eval_every=every)).losses["loss"]

    often, rarely = losses(1), losses(100)
    assert np.array_equal(often, rarely) and len(often) == 60
    monkeypatch.setattr(Trainer, "_streams", lambda self: [])
    assert not np.array_equal(losses(1), rarely)  # evaluation would consume the draws


@pytest.mark.parametrize("batch_size", [2, 7, 37, 64])
def test_batch_mode_metrics_equal_one_forward_per_mini_batch(batch_size):
    tr = Trainer(RunConfig(norm="batchnorm", n_samples=203, batch_size=batch_size))
    for _ in range(20):
        tr.step()
    buffers = [b.clone() for n in tr.norms for b in n.buffers()]
    got = batch_mode_metrics(tr)
    after = [b for n in tr.norms for b in n.buffers()]
    assert all(torch.equal(a, b) for a, b in zip(buffers, after, strict=True))  # untouched
    model = copy.deepcopy(tr.model).train()
    size = max(2, tr.batch_size)
    with torch.no_grad():
        for name, x, y in (("train", tr.x, tr.y), ("test", tr.x_test, tr.y_test)):
            chunks = [i for i in range(0, len(x), size) if len(x[i : i + size]) > 1]
            logits = torch.cat([model(x[i : i + size]) for i in chunks])
            ys = torch.cat([y[i : i + size] for i in chunks])
            want = torch.nn.functional.cross_entropy(logits, ys).item()
            assert got[f"batch_{name}_loss"] == pytest.approx(want, rel=1e-5)
            acc = (logits.argmax(1) == ys).float().mean().item()
            assert got[f"batch_{name}_acc"] == pytest.approx(acc)


@pytest.mark.parametrize("optimizer", ["sgd", "momentum", "adam"])
def test_learning_rate_can_change_while_training(optimizer):
    tr = Trainer(RunConfig(optimizer=optimizer, steps=10))
    tr.step()
    tr.set_lr(0.123)
    assert all(g["lr"] == 0.123 for g in tr.optimizer.param_groups) and tr.lr == 0.123


def test_steps_between_checks_keep_what_checking_every_step_keeps(monkeypatch):
    """step() checks for an evaluation or a sample only on steps that may be due and keeps
    losses in a list until read; a run that checks every step and reads after every step must
    keep the same rows (small buffers, so every history thins several times). So must a run
    taken in slices by run() (as a worker does) whose losses nobody reads: it files them once
    RECENT_MAX wait (40 here)."""
    monkeypatch.setattr(train, "RECENT_MAX", 40)

    class EveryStep(Trainer):
        def step(self):
            self._next_check = 0  # every step takes the checked path
            value = super().step()
            self.losses  # noqa: B018 - read after every step, as a snapshot would
            return value

    cfg = RunConfig(log_every=3, eval_every=7, depth=2, width=8, norm="batchnorm", steps=900)
    fast, slow = Trainer(cfg, capacity=8), EveryStep(cfg, capacity=8)
    for i in range(900):
        assert fast.step() == slow.step()
        if i % 97 == 0:
            fast.telemetry.flush()  # snapshots at odd moments
    sliced, filed = Trainer(cfg, capacity=8), []
    for size in itertools.cycle((1, 13, 97, 40, 200)):
        if sliced.step_count == 900:
            break
        size = min(size, 900 - sliced.step_count)
        assert sliced.run(size) == size
        filed.append(len(sliced._recent) < sliced.step_count)
        assert len(sliced._recent) < 40 + 200  # bounded between reads
    assert any(filed)  # the bound filed losses before any read
    assert fast.losses.stride > 1 and fast.evals.stride > 1
    assert fast.telemetry.history.stride > 1
    for other in (fast, sliced):
        for a, b in ((other.losses, slow.losses), (other.evals, slow.evals)):
            assert a.view()["step"].tolist() == b.view()["step"].tolist()
            for name, col in a.view().items():
                np.testing.assert_array_equal(col, b.view()[name], err_msg=name)
        ta, tb = other.telemetry.view(), slow.telemetry.view()
        assert ta["step"].tolist() == tb["step"].tolist()
        for name in ta:
            np.testing.assert_allclose(ta[name], tb[name], rtol=1e-6, equal_nan=True, err_msg=name)


def test_run_stops_after_the_step_that_passes_its_deadline():
    tr = Trainer(RunConfig(depth=2, width=8, steps=50))
    assert tr.run(30, deadline=0.0) == 1 and tr.step_count == 1  # always at least one step
    assert tr.run(30) == 30 and tr.step_count == 31


class AtOnce(Trainer):
    """Evaluates on the step it is due, as Trainer did before it deferred evaluations."""

    def record_eval(self):
        self._evals.append(self.step_count, self.evaluate())
        self.record_first_layer()


@pytest.mark.parametrize("big", [False, True])
def test_deferred_evaluations_give_the_rows_of_evaluating_at_once(monkeypatch, big):
    """record_eval() keeps the state an evaluation reads and runs it at the next read. The
    rows must be those of evaluating at once: metrics that draw noise in train mode
    (batch_mode with injected noise and dropout), one that steps along the gradient by the
    learning rate (smoothness; the rate changes between due and run), a history that thins
    (capacity 8), reads at odd moments, a checkpoint in the middle; and big nets, evaluated
    at once (no room to keep a state: PENDING_EVAL_BYTES lowered)."""
    if big:
        monkeypatch.setattr(train, "PENDING_EVAL_BYTES", 1)
    cfg = RunConfig(
        depth=2, width=8, norm="batchnorm", bn_noise=0.5, dropout=0.3, eval_every=3,
        log_every=50, steps=400, metrics=("batch_mode", "population", "smoothness"),
    )  # fmt: skip
    deferred, reference = Trainer(cfg, capacity=8), AtOnce(cfg, capacity=8)
    for tr in (deferred, reference):
        for size in (1, 2, 40, 7, 150):
            tr.run(size)
            tr.set_lr(tr.lr * 0.7)
        if tr is deferred:
            assert bool(tr._pending_evals) is not big
            state = tr.state_dict()  # a checkpoint runs what is due
            assert not tr._pending_evals
            tr.load_state_dict(state)
        tr.run(200)
    assert deferred._pending_evals or big
    a, b = deferred.evals.view(), reference.evals.view()
    assert deferred.evals.stride > 1 and a["step"].tolist() == b["step"].tolist()
    for name in b:
        np.testing.assert_array_equal(a[name], b[name], err_msg=name)
    for name, param in deferred.model.state_dict().items():  # training went on untouched
        assert torch.equal(param, reference.model.state_dict()[name]), name
    assert deferred.order.get_state().equal(reference.order.get_state())
    assert deferred.lr == reference.lr
