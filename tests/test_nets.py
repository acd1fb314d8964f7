"""Networks: init formulas, BN placement and bias, identical weights with and without BN."""

import math

import pytest
import torch

from bnviz.config import RunConfig
from bnviz.datasets import TWO_D, make_dataset
from bnviz.nets import ACTIVATIONS, Dropout, build_mlp, init_weight_


@pytest.mark.parametrize(
    "scheme, expected",
    [("small", 0.01), ("large", 1.0), ("xavier", 1 / math.sqrt(400)), ("he", math.sqrt(2 / 400))],
)
def test_init_std_matches_formula(scheme, expected):
    w = torch.empty(300, 400)
    init_weight_(w, scheme, torch.Generator().manual_seed(0))
    assert w.std().item() == pytest.approx(expected, rel=0.02)
    assert abs(w.mean().item()) < 0.02 * expected * 10


def test_orthogonal_and_zeros():
    w = torch.empty(64, 64)
    init_weight_(w, "orthogonal", torch.Generator().manual_seed(0))
    assert torch.allclose(w @ w.T, torch.eye(64), atol=1e-5)
    init_weight_(w, "zeros", torch.Generator())
    assert w.abs().sum().item() == 0


def test_bn_and_plain_variants_share_linear_weights():
    cfg = RunConfig(depth=4, width=32, seed=3)
    plain = build_mlp(cfg.replace(norm="none"), 2, 2)
    bn = build_mlp(cfg.replace(norm="batchnorm"), 2, 2)
    for a, b in zip(plain.linears(), bn.linears(), strict=True):
        assert torch.equal(a.weight, b.weight)
    other = build_mlp(cfg.replace(seed=4), 2, 2)
    assert not torch.equal(plain.linears()[0].weight, other.linears()[0].weight)


def test_bias_dropped_only_where_bn_follows_the_linear():
    before = build_mlp(RunConfig(norm="batchnorm", bn_placement="before"), 2, 2)
    after = build_mlp(RunConfig(norm="batchnorm", bn_placement="after"), 2, 2)
    plain = build_mlp(RunConfig(), 2, 2)
    assert all(b.linear.bias is None and b.norm_before is not None for b in before.blocks)
    assert all(b.linear.bias is not None and b.norm_after is not None for b in after.blocks)
    assert all(b.linear.bias is not None and b.norm is None for b in plain.blocks)
    assert before.head.bias is not None


def test_bn_momentum_none_is_the_cumulative_average():
    model = build_mlp(RunConfig(norm="batchnorm", bn_momentum=None, depth=1, width=4), 2, 2)
    gen = torch.Generator().manual_seed(0)
    batches = [torch.randn(16, 2, generator=gen) * 3 + 1 for _ in range(5)]
    means = []
    with torch.no_grad():
        for x in batches:
            means.append(model.blocks[0].linear(x).mean(0))
            model(x)
    running = model.blocks[0].norm.running_mean
    torch.testing.assert_close(running, torch.stack(means).mean(0))  # plain average, no decay


@pytest.mark.parametrize("activation", sorted(ACTIVATIONS))
@pytest.mark.parametrize("norm", ["none", "batchnorm"])
def test_every_activation_builds_and_runs(activation, norm):
    cfg = RunConfig(activation=activation, norm=norm, depth=2, width=8, maxout_k=3)
    model = build_mlp(cfg, 5, 3)
    out = model(torch.randn(16, 5))
    assert out.shape == (16, 3) and torch.isfinite(out).all()
    if activation == "maxout":
        assert model.blocks[0].linear.out_features == 8 * 3


@pytest.mark.parametrize("name", [*TWO_D, "digits"])
def test_datasets_are_seeded_split_and_standardized(name):
    cfg = RunConfig(dataset=name, n_samples=400, seed=5)
    a, b = make_dataset(cfg), make_dataset(cfg)
    assert (a.x_train == b.x_train).all() and (a.y_test == b.y_test).all()
    assert len(a.x_test) == pytest.approx(0.25 * (len(a.x_train) + len(a.x_test)), abs=1)
    assert abs(a.x_train.mean(0)).max() < 1e-4
    assert set(a.y_train.tolist()) == set(range(a.n_classes))
    c = make_dataset(cfg.replace(seed=6))
    assert not (a.x_train[:5] == c.x_train[:5]).all()


def test_scaled_init_is_one_axis_through_small_xavier_and_large():
    gen = lambda: torch.Generator().manual_seed(0)  # noqa: E731
    fan_in = 400
    for scheme, scale in (("small", 0.01 * math.sqrt(fan_in)), ("xavier", 1.0), ("large", 20.0)):
        a = init_weight_(torch.empty(300, fan_in), scheme, gen())
        b = init_weight_(torch.empty(300, fan_in), "scaled", gen(), scale)
        torch.testing.assert_close(a, b)
    cfg = RunConfig(init="scaled", init_scale=0.5, depth=2, width=16)
    w = build_mlp(cfg, 2, 2).linears()[1].weight
    torch.testing.assert_close(
        w, build_mlp(cfg.replace(init="xavier"), 2, 2).linears()[1].weight * 0.5
    )


def test_init_scale_counts_in_the_key_only_when_used():
    assert RunConfig(init_scale=3.0).key() == RunConfig().key()
    scaled = RunConfig(init="scaled")
    assert scaled.replace(init_scale=3.0).key() != scaled.key()


# Losses of the first 60 steps of two default runs, measured at commit 555386f, before dropout
# existed: dropout=0 (the default) must leave every run the same computation. Bit for bit on
# that machine; another CPU's matmul kernels round differently in the last bit (an AVX-512 box:
# sum 40.618237733 vs 40.618238032), so compare to 1e-6. A consumed random number or an extra
# layer would move the sum by far more (a different batch order or init: > 1e-2).
BEFORE_DROPOUT = {
    (): (0.6621584296226501, 40.618238031864166),
    (("norm", "batchnorm"), ("activation", "relu")): (0.1035771444439888, 28.382476188242435),
}


@pytest.mark.parametrize("changes", BEFORE_DROPOUT, ids=["default", "bn-relu"])
def test_dropout_zero_leaves_runs_bit_identical(changes):
    from bnviz.train import Trainer

    t = Trainer(RunConfig(steps=60, **dict(changes)))
    assert not any(isinstance(m, Dropout) for m in t.model.modules())
    losses = [t.step() for _ in range(60)]
    assert (losses[-1], sum(losses)) == pytest.approx(BEFORE_DROPOUT[changes], rel=1e-6)


def test_dropout_drops_a_share_p_rescales_and_is_off_in_eval():
    cfg = RunConfig(depth=2, width=400, dropout=0.3, activation="relu")
    model, plain = build_mlp(cfg, 2, 2), build_mlp(cfg.replace(dropout=0.0), 2, 2)
    x = torch.randn(200, 2, generator=torch.Generator().manual_seed(0))
    block, ref = model.blocks[0], plain.blocks[0]
    a = ref.act(ref.linear(x))  # same weights: init has its own stream
    kept = block(x)
    on = a > 0
    assert (kept[on] == 0).float().mean().item() == pytest.approx(0.3, abs=0.02)
    torch.testing.assert_close(kept[on & (kept > 0)], (a / 0.7)[on & (kept > 0)])
    model.eval(), plain.eval()
    assert torch.equal(model(x), plain(x))
    again = build_mlp(cfg, 2, 2).blocks[0]  # masks come from the seed, not global RNG
    torch.manual_seed(123)
    assert torch.equal(again(x), kept)
