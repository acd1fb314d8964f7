"""What BN does to a network's layers (DLB 8.7.1, seed 004): lower layers of a linear network
become useless but not with a nonlinearity, γ and β of a trained sigmoid network, and the bias
before BN that β makes redundant. Deterministic from the config's seed.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from bnviz.config import RunConfig
from bnviz.lessons.why_bn_live import BASE, one_thread
from bnviz.train import Trainer, pre_activations

# ---------------------------------------------------------------------------- lower layers


def lower_layers(
    activation: str = "tanh", freeze: bool = False, cfg: RunConfig | None = None
) -> dict[str, float]:
    """A BN network trained with its lower Linear layers frozen or not: test accuracy and the
    relative change of the lower weights. activation "linear": no nonlinearity at all."""
    cfg = cfg or LOWER_BASE
    one_thread()
    tr = Trainer(cfg.replace(norm="batchnorm", activation="tanh"))
    if activation == "linear":
        for block in tr.model.blocks:
            block.act = nn.Identity()
    elif activation != "tanh":
        raise ValueError(activation)
    lower = [b.linear.weight for b in tr.model.blocks[:-1]]
    start = [w.detach().clone() for w in lower]
    if freeze:
        for w in lower:
            w.requires_grad_(False)
    for _ in range(cfg.steps):
        tr.step()
    acc = tr.evaluate()["test_acc"]
    moved = [float((w.detach() - s).norm() / s.norm()) for w, s in zip(lower, start, strict=True)]
    return {"test_acc": float(acc), "lower_change": float(np.mean(moved))}


LOWER_BASE = RunConfig(
    dataset="spirals", depth=3, width=32, optimizer="adam", lr=0.01, steps=600,
    log_every=1000, eval_every=5000,
)  # fmt: skip


# ---------------------------------------------------------------------------- γ and β


def gamma_beta(cfg: RunConfig | None = None) -> dict[str, np.ndarray]:
    """γ, β per BN layer of a trained sigmoid network, and the share of its pre-activations
    (BN outputs) beyond |z| > 2, where sigmoid's slope is below 0.105 (0.25 at 0), at
    initialization and after training, on the training set (`_outside_share`)."""
    cfg = (cfg or GAMMA_BASE).replace(norm="batchnorm", activation="sigmoid")
    one_thread()
    tr = Trainer(cfg)
    share_init = _outside_share(tr)
    for _ in range(cfg.steps):
        tr.step()
    norms = [b.norm for b in tr.model.blocks]
    return {
        "gamma": np.stack([n.weight.detach().numpy().copy() for n in norms]),
        "beta": np.stack([n.bias.detach().numpy().copy() for n in norms]),
        "outside_init": share_init,
        "outside_trained": _outside_share(tr),
        "test_acc": np.array(tr.evaluate()["test_acc"]),
    }


def _outside_share(tr: Trainer, bound: float = 2.0) -> np.ndarray:
    """Per layer: share of BN outputs with |z| > bound over the training set, normalized by its
    own mean and variance as BN does in training. Not eval mode: at initialization the running
    statistics are still 0 and 1, so layers 2 and 3 read 0 % (their Linear outputs, unscaled),
    where BN's outputs are ~4 %, near a normal's 4.6 % (audit 31). The running statistics this
    forward moves are put back."""
    saved = {k: v.clone() for k, v in tr.model.state_dict().items()}
    was_training = tr.model.training
    tr.model.train()
    try:
        with torch.no_grad():
            _, pres = pre_activations(tr.model, tr.x)
    finally:
        tr.model.load_state_dict(saved)
        tr.model.train(was_training)
    return np.array([float((z.abs() > bound).float().mean()) for z in pres])


GAMMA_BASE = RunConfig(
    dataset="digits", depth=3, width=64, optimizer="adam", lr=0.01, steps=600,
    log_every=1000, eval_every=5000,
)  # fmt: skip


# ---------------------------------------------------------------------------- bias before BN


def bias_gradient(steps: int = 20, seed: int = 0) -> dict[str, np.ndarray]:
    """Linear (with bias) → BN → tanh → Linear in float64 on moons: per step, the largest
    |∂L/∂bias| of the Linear before BN against its largest |∂L/∂weight|; and how far the bias
    moved by the end ("bias_moved", one value). BN subtracts the batch mean, so any bias
    cancels: its gradient is 0 up to rounding, and it stays where it started."""
    cfg = BASE.replace(seed=seed)
    one_thread()
    data = Trainer(cfg).data
    gen = torch.Generator().manual_seed(seed)
    with torch.random.fork_rng():  # the head's default init: seeded, the global RNG untouched
        torch.manual_seed(seed)  # (it drew from the global RNG: each call a different chart)
        first, head = nn.Linear(2, 16).double(), nn.Linear(16, 2).double()
    with torch.no_grad():
        first.weight.normal_(0, 1, generator=gen)
        first.bias.normal_(0, 1, generator=gen)
    model = nn.Sequential(first, nn.BatchNorm1d(16).double(), nn.Tanh(), head)
    opt = torch.optim.SGD(model.parameters(), lr=0.5)
    x, y = torch.from_numpy(data.x_train).double(), torch.from_numpy(data.y_train)
    bias, weight, start = [], [], first.bias.detach().clone()
    for _ in range(steps):
        idx = torch.randint(len(x), (64,), generator=gen)
        opt.zero_grad()
        F.cross_entropy(model(x[idx]), y[idx]).backward()
        bias.append(first.bias.grad.abs().max().item())
        weight.append(first.weight.grad.abs().max().item())
        opt.step()
    moved = (first.bias.detach() - start).abs().max().item()
    return {"bias_grad": np.array(bias), "weight_grad": np.array(weight), "bias_moved": moved}


# The views' presets: function name -> keyword arguments; each claim is tested over seeds 0-4.
LAYER_PRESETS: dict[str, dict] = {
    "lower": dict(cfg=LOWER_BASE),  # lower_layers("linear"/"tanh", frozen or not)
    "gamma_beta": dict(cfg=GAMMA_BASE),  # gamma_beta
    "bias": dict(steps=20),  # bias_gradient
}


def lower_claim(rows: dict[tuple[str, bool], dict[str, float]]) -> bool:
    """Linear: lower layers trained or frozen give the same accuracy (within 0.03, 0.5-0.63);
    tanh: above 0.85 either way. rows[(activation, frozen)] = lower_layers(...)."""
    lin = [rows[("linear", f)]["test_acc"] for f in (False, True)]
    tanh = [rows[("tanh", f)]["test_acc"] for f in (False, True)]
    in_range = min(lin) >= 0.5 and max(lin) <= 0.63  # measured 0.508-0.624, four rounding modes
    return bool(abs(lin[0] - lin[1]) <= 0.03 and in_range and min(tanh) > 0.85)


def gamma_claim(result: dict[str, np.ndarray]) -> bool:
    """γ above 1 (mean |γ| > 1.2 per layer); 15–55 % beyond |z| > 2 trained, < 5 % at init."""
    return bool(
        np.all(result["outside_init"] < 0.05)
        and np.all((result["outside_trained"] > 0.15) & (result["outside_trained"] < 0.55))
        and np.all(np.abs(result["gamma"]).mean(1) > 1.2)
    )
