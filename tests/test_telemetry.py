"""Telemetry against torch as the oracle; bounded ring buffers."""

import numpy as np
import pytest
import torch

from bnviz.config import RunConfig
from bnviz.telemetry import BN_UNITS, QUANTILES, History, histogram, quantiles
from bnviz.train import Trainer


def test_history_thins_instead_of_growing():
    h = History(8, {"v": (2,)})
    before = h.nbytes
    for step in range(1000):
        if h.wants(step, 1):
            h.append(step, {"v": [step, -step]})
    view = h.view()
    assert h.nbytes == before and h.n <= 8
    assert (
        view["step"][0] == 0 and view["step"][-1] > 1000 - 2 * 128
    )  # still spans the whole run (stride 128 now)
    assert (np.diff(view["step"]) > 0).all()
    assert (view["v"][:, 0] == view["step"]).all()
    with pytest.raises(ValueError):
        view["v"][0, 0] = 1  # snapshots are read-only


@pytest.mark.parametrize("capacity, unit", [(8, 1), (6, 3), (64, 5)])
def test_record_keeps_the_rows_a_loop_of_wants_and_append_keeps(capacity, unit):
    rng = np.random.default_rng(capacity)
    steps = np.cumsum(rng.integers(1, 4, 3000))  # gaps, as between reads of a run's losses
    values = {"v": rng.standard_normal(3000).astype(np.float32)}
    loop, batched = History(capacity, {"v": ()}), History(capacity, {"v": ()})
    for step, v in zip(steps, values["v"], strict=True):
        if loop.wants(int(step), unit):
            loop.append(int(step), {"v": v})
    for part in np.array_split(np.arange(3000), [1, 7, 500, 501, 2000]):  # reads at odd moments
        batched.record(steps[part], {"v": values["v"][part]}, unit)
    a, b = loop.view(), batched.view()
    assert loop.stride > 8 and a["step"].tolist() == b["step"].tolist()
    assert np.array_equal(a["v"], b["v"]) and batched.stride == loop.stride


def test_next_wanted_is_never_after_a_wanted_step():
    h = History(4, {"v": ()})
    for step in range(400):
        due = h.next_wanted(step, 3)
        assert due >= step and all(not h.wants(s, 3) for s in range(step, due))
        if h.wants(step, 3):
            assert due == step
            h.append(step, {"v": 0.0})


def test_quantiles_match_torch_nearest_rank():
    gen = torch.Generator().manual_seed(0)
    levels = torch.tensor(QUANTILES) / 100
    x = torch.randn(2000, generator=gen)  # below the subsample size: exact
    ref = torch.quantile(x, levels, interpolation="nearest")
    assert np.allclose(quantiles(x.numpy()), ref.numpy(), atol=1e-6)
    big = torch.randn(4, 20_000, generator=gen)  # subsampled, one row per layer
    ours = quantiles(big.numpy())
    for row, mine in zip(big, ours, strict=True):
        assert np.allclose(mine[1:-1], torch.quantile(row, levels[1:-1]).numpy(), atol=0.15)


def test_histogram_counts_everything_in_range_and_clamps_outliers():
    x = np.array([-100.0, -1.0, 0.0, 0.5, 100.0], np.float32)
    h = histogram(x)
    ref = torch.histc(torch.from_numpy(x).clamp(-6, 6), 40, -6, 6).numpy() / 5
    assert np.allclose(h, ref) and h.sum() == pytest.approx(1.0)
    assert h[0] > 0 and h[-1] > 0


def test_bn_running_stats_equal_torch_buffers_and_the_ema_of_batch_stats():
    m = 0.2
    cfg = RunConfig(norm="batchnorm", bn_momentum=m, log_every=1, depth=2, width=16, steps=30)
    tr = Trainer(cfg)
    for _ in range(30):
        tr.step()
    tel = tr.telemetry.view()
    norm = tr.model.blocks[0].norm
    # after the last step, the recorded running mean is torch's buffer
    assert np.allclose(
        tel["bn_running_mean"][-1, 0], norm.running_mean[:BN_UNITS].numpy(), atol=1e-6
    )
    assert np.allclose(tel["bn_running_var"][-1, 0], norm.running_var[:BN_UNITS].numpy(), atol=1e-6)
    # and it is the EMA of the recorded batch means (torch uses the unbiased batch variance)
    rm, rv, b = np.zeros(BN_UNITS), np.ones(BN_UNITS), tr.batch_size
    for bm, bv in zip(tel["bn_batch_mean"][:, 0], tel["bn_batch_var"][:, 0], strict=True):
        rm = (1 - m) * rm + m * bm
        rv = (1 - m) * rv + m * bv * b / (b - 1)
    assert np.allclose(rm, tel["bn_running_mean"][-1, 0], atol=1e-5)
    assert np.allclose(rv, tel["bn_running_var"][-1, 0], atol=1e-5)


def test_layer_statistics_match_a_direct_forward_pass():
    cfg = RunConfig(activation="tanh", log_every=1, depth=3, width=32, init="large")
    tr = Trainer(cfg)
    tr.step()
    tel = tr.telemetry.view()
    # replay the first batch through a fresh model: same weights, same data order
    fresh = Trainer(cfg)
    xb, _ = fresh.next_batch()
    z = fresh.model.blocks[0].linear(xb)
    a = torch.tanh(z)
    assert tel["pre_mean"][0, 0] == pytest.approx(z.mean().item(), abs=1e-5)
    assert tel["pre_std"][0, 0] == pytest.approx(z.std().item(), rel=1e-4)
    assert tel["saturated"][0, 0] == pytest.approx((a.abs() > 0.99).float().mean().item())
    assert np.isnan(tel["dead"][0]).all()  # tanh has no dead units


def test_dead_units_and_update_ratio_are_recorded_for_relu():
    cfg = RunConfig(activation="relu", init="he", log_every=1, depth=2, width=16)
    tr = Trainer(cfg)
    for _ in range(5):
        tr.step()
    tel = tr.telemetry.view()
    assert ((tel["dead"] >= 0) & (tel["dead"] <= 1)).all()
    assert np.isfinite(tel["update_ratio"]).all() and (tel["update_ratio"] < 0).all()
    assert (tel["grad_norm"] > 0).all()


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_gradient_norms_and_update_ratios_equal_torch_norms(optimizer):
    tr = Trainer(RunConfig(log_every=1, depth=2, width=16, optimizer=optimizer, lr=0.01))
    for _ in range(3):
        tr.step()
    before = [lin.weight.detach().clone() for lin in tr.model.linears()]
    tr.step()
    after = [lin.weight.detach() for lin in tr.model.linears()]
    grads = [lin.weight.grad.norm().item() for lin in tr.model.linears()]
    ratios = [
        ((a - b).norm() / b.norm()).log10().item() for a, b in zip(after, before, strict=True)
    ]
    tel = tr.telemetry.view()
    np.testing.assert_allclose(tel["grad_norm"][-1], grads, rtol=1e-5)
    np.testing.assert_allclose(tel["update_ratio"][-1], ratios, atol=1e-5)


@pytest.mark.parametrize("activation", ["tanh", "maxout"])
def test_captures_reduced_in_batches_equal_captures_reduced_one_by_one(activation):
    from bnviz.telemetry import PENDING_CAPTURES

    cfg = RunConfig(activation=activation, log_every=1, depth=3, width=16, norm="batchnorm")
    one_by_one, batched = Trainer(cfg), Trainer(cfg)
    for _ in range(PENDING_CAPTURES - 1):
        one_by_one.step()
        one_by_one.telemetry.flush()
        batched.step()
    assert batched.telemetry.history.n == 0  # all still pending...
    batched.step()
    assert batched.telemetry.history.n == PENDING_CAPTURES  # ...until the batch is full
    batched.step()
    one_by_one.step(), one_by_one.step()
    a, b = one_by_one.telemetry.view(), batched.telemetry.view()  # view() reduces the rest
    assert len(b["step"]) == PENDING_CAPTURES + 1 and list(a) == list(b)
    for name in a:
        np.testing.assert_allclose(a[name], b[name], rtol=1e-6, equal_nan=True, err_msg=name)


def test_sampled_steps_do_not_depend_on_when_snapshots_reduce_captures():
    """A full history thins on the next append; captures still pending when it filled were
    once sampled on the old grid, so which steps a run kept depended on when the worker took
    snapshots (a shared run differed between machines). The grid must be the same either way."""
    cfg = RunConfig(log_every=1, depth=2, width=8, steps=700)
    eager, lazy = Trainer(cfg), Trainer(cfg)
    for trainer in (eager, lazy):  # a small buffer: it thins twice in 300 steps
        shapes = {k: v.shape[1:] for k, v in trainer.telemetry.history.cols.items()}
        trainer.telemetry.history = History(64, shapes)
    for _ in range(300):
        eager.step()
        eager.telemetry.flush()  # a snapshot after every step
        lazy.step()  # reduced only every PENDING_CAPTURES steps
    a, b = eager.telemetry.view(), lazy.telemetry.view()
    assert a["step"].tolist() == b["step"].tolist()
    assert (np.diff(a["step"]) == eager.telemetry.history.stride).all()  # one regular grid
    for name in a:
        np.testing.assert_allclose(a[name], b[name], rtol=1e-6, equal_nan=True, err_msg=name)


def test_tensorboard_bands_are_half_one_and_one_and_a_half_sigma():
    import inspect
    import math

    import bnviz.telemetry as tel

    cdf = [50 * (1 + math.erf(k / math.sqrt(2))) for k in (-1.5, -1, -0.5, 0.5, 1, 1.5)]
    tb = [q for q in tel.QUANTILES if q not in (0.0, 15.0, 50.0, 85.0, 100.0)]
    assert tb == pytest.approx(cdf, abs=0.06)
    source = inspect.getsource(tel)
    assert "±0.5σ" in source and "±2σ" not in source  # the comment says what the bands are
