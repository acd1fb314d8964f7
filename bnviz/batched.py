"""Many MLPs of one shape at once: weights stacked over a leading model dim, one flat optimizer.

Model i computes exactly what `nets.build_mlp(configs[i])` and `train.Trainer` compute (same
initial weights from its seed, same mini-batch order, same optimizer formulas), up to float32
rounding. Shapes: N models, B rows per mini-batch, F units.
"""

from __future__ import annotations

import dataclasses

import torch

from bnviz.config import RunConfig
from bnviz.datasets import make_dataset

VARYING = ("lr", "momentum", "init", "init_scale", "seed", "norm", "batch_size")
UNSUPPORTED = ("weight_decay", "dropout", "bn_noise")  # the stacked engine has none of them
BN_EPS = 1e-5  # nn.BatchNorm1d's
ADAM_BETAS, ADAM_EPS = (0.9, 0.999), 1e-8  # torch.optim.Adam's defaults


def check_shared(configs: list[RunConfig]) -> None:
    """ValueError unless the configs differ only in VARYING (BN models: same BN settings)."""
    skip = set(VARYING) | {"bn_placement", "bn_momentum", "log_every"}
    first = configs[0].canonical()
    for cfg in configs[1:]:
        canon = cfg.canonical()
        for f in dataclasses.fields(RunConfig):
            a, b = getattr(first, f.name), getattr(canon, f.name)
            if f.name not in skip and a != b:
                allowed = ", ".join(VARYING)
                raise ValueError(
                    f"models of one sweep may differ only in {allowed}; {f.name} differs "
                    f"({a!r} vs {b!r})"
                )
    if len({(c.bn_placement, c.bn_momentum) for c in configs if c.batchnorm}) > 1:
        raise ValueError("BatchNorm models of one sweep share bn_placement and bn_momentum")
    for cfg in configs:
        if cfg.problems():
            raise ValueError(f"cannot train {cfg}: {cfg.problems()[0][0]}")
        for name in UNSUPPORTED:
            if getattr(cfg.canonical(), name):
                raise ValueError(f"sweeps do not implement {name} > 0: train such runs one by one")


class Order:
    """One seeded mini-batch order, drawn exactly like `Trainer.next_batch`."""

    def __init__(self, seed: int, n: int, batch_size: int):
        self.gen = torch.Generator().manual_seed(seed + 1)
        self.n, self.batch_size = n, batch_size
        self.perm = torch.empty(0, dtype=torch.long)
        self.pos = 0

    def next(self) -> torch.Tensor:
        """Indices of the next mini-batch (a short last batch of an epoch is skipped)."""
        if self.pos + self.batch_size > len(self.perm):
            self.perm = torch.randperm(self.n, generator=self.gen)
            self.pos = 0
        self.pos += self.batch_size
        return self.perm[self.pos - self.batch_size : self.pos]


class StackedData:
    """Each model's dataset (one per distinct seed) and mini-batch order (per seed, batch size)."""

    def __init__(self, configs: list[RunConfig]):
        seeds = sorted({c.seed for c in configs})
        sets = [make_dataset(configs[0].replace(seed=s)) for s in seeds]
        self.n_in, self.n_out = sets[0].n_features, sets[0].n_classes
        self.x = torch.stack([torch.from_numpy(d.x_train) for d in sets])  # (S, n, D)
        self.y = torch.stack([torch.from_numpy(d.y_train) for d in sets])  # (S, n)
        x_test = torch.stack([torch.from_numpy(d.x_test) for d in sets])
        y_test = torch.stack([torch.from_numpy(d.y_test) for d in sets])
        n = self.n_train = self.x.shape[1]
        self.x_all, self.y_all = torch.cat([self.x, x_test], 1), torch.cat([self.y, y_test], 1)
        self.slot = torch.tensor([seeds.index(c.seed) for c in configs])  # (N,) -> data set
        sizes = [min(c.batch_size, n) for c in configs]
        streams = sorted({(c.seed, b) for c, b in zip(configs, sizes, strict=True)})
        self.orders = [Order(s, n, b) for s, b in streams]
        pairs = zip(configs, sizes, strict=True)
        self.which = torch.tensor([streams.index((c.seed, b)) for c, b in pairs])
        self.width = max(sizes)
        self.mask = None  # (N, B, 1) 1 for real rows when batch sizes differ, else None
        if len(set(sizes)) > 1:
            self.mask = (torch.arange(self.width) < torch.tensor(sizes)[:, None]).float()[..., None]

    def batch(self) -> tuple[torch.Tensor, torch.Tensor]:
        """The next mini-batch of every model: x (N, B, D), y (N, B); padding rows use row 0.

        When every model draws the same rows of the same data, x and y are one batch expanded
        over the models (a view: nothing is copied N times).
        """
        if len(self.orders) == 1 and self.x.shape[0] == 1:
            idx, n = self.orders[0].next(), len(self.which)
            x, y = self.x[0].index_select(0, idx), self.y[0].index_select(0, idx)
            return x.expand(n, -1, -1), y.expand(n, -1)
        rows = torch.zeros(len(self.orders), self.width, dtype=torch.long)
        for k, order in enumerate(self.orders):
            rows[k, : order.batch_size] = order.next()
        idx = rows[self.which]
        if self.x.shape[0] == 1:
            return self.x[0][idx], self.y[0][idx]
        return self.x[self.slot[:, None], idx], self.y[self.slot[:, None], idx]

    def rows(self, lo: int, hi: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Rows lo:hi of the training then the test set: x (N or 1, rows, D), y (N or 1, rows)."""
        x, y = self.x_all[:, lo:hi], self.y_all[:, lo:hi]
        return (x, y) if x.shape[0] == 1 else (x[self.slot], y[self.slot])
