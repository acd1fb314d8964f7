"""One deterministic training step, evaluation, and the histories a run keeps."""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Iterator
from typing import NamedTuple

import numpy as np
import torch
from torch.nn import functional as F

from bnviz.config import SEED_DATA_ORDER, RunConfig
from bnviz.datasets import TWO_D, Dataset, make_dataset
from bnviz.metrics import EVAL_COLUMNS, metric
from bnviz.nets import build_mlp, eval_mode, pre_activations
from bnviz.telemetry import History, Telemetry

FIRST_UNITS, FIRST_LAYER_ROWS = 16, 16  # first-layer weights kept: units, and rows over time
RECENT_MAX = 4096  # losses waiting in a list for a read are filed once this many wait
# Evaluations are run in bursts: an evaluation's large matrix products slow the training steps
# after it (on AVX-512 machines the core clocks down for ~1 ms; measured in
# bench/telemetry_overhead.py), so a run keeps the states it is due to evaluate and
# evaluates them together when its evaluations are read (a worker's snapshot: ~10 at a time).
PENDING_EVALS = 32  # states kept for evaluation at most ...
PENDING_EVAL_BYTES = 8 << 20  # ... and at most this many bytes of them (big nets: at once)


class Diverged(ArithmeticError):
    """The loss became NaN or infinite."""


class _DueEval(NamedTuple):
    """What an evaluation reads, kept from the step it was due on (Trainer.record_eval)."""

    step: int
    tensors: list[torch.Tensor]  # copies of the model's parameters and buffers
    streams: list[torch.Tensor]  # states of the run's random generators
    lr: float  # the learning rate (a metric may step along the gradient)


def make_optimizer(cfg: RunConfig, params) -> torch.optim.Optimizer:
    """SGD, SGD with momentum, or Adam (fused: 1.6x faster on CPU, measured)."""
    wd = cfg.weight_decay  # L2: adds wd·w to every gradient (0 skips it: runs unchanged)
    if cfg.optimizer == "adam":
        return torch.optim.Adam(params, lr=cfg.lr, fused=True, weight_decay=wd)
    momentum = cfg.momentum if cfg.optimizer == "momentum" else 0.0
    return torch.optim.SGD(params, lr=cfg.lr, momentum=momentum, weight_decay=wd)


class Trainer:
    """A model, its optimizer, its data order and its histories: step() advances by one."""

    def __init__(self, cfg: RunConfig, data: Dataset | None = None, capacity: int = 512):
        self.cfg = cfg
        self.data = data if data is not None else make_dataset(cfg)
        d = self.data
        self.x = torch.from_numpy(d.x_train)
        self.y = torch.from_numpy(d.y_train)
        self.x_test = torch.from_numpy(d.x_test)
        self._x_both = torch.cat([self.x, self.x_test])  # evaluate() runs both in one pass
        self.y_test = torch.from_numpy(d.y_test)
        self.model = build_mlp(cfg, d.n_features, d.n_classes)
        self.optimizer = make_optimizer(cfg, self.model.parameters())
        self.order = torch.Generator().manual_seed(cfg.seed + SEED_DATA_ORDER)
        self.batch_size = min(cfg.batch_size, len(self.x))
        self._perm = torch.empty(0, dtype=torch.long)
        self._pos = 0
        self.step_count = 0
        self.lr = cfg.lr
        self.telemetry = Telemetry(self.model, capacity)
        self._losses = History(4 * capacity, {"loss": ()})
        self._recent: list[float] = []  # losses of the steps since `losses` was last read
        self._next_check = 0  # no evaluation or sample is due before this step
        self.norms = [b.norm for b in self.model.blocks if b.norm is not None]
        self.metrics = [metric(name) for name in cfg.metrics]  # KeyError on an unknown name
        cols: dict[str, tuple[int, ...]] = {k: () for k in EVAL_COLUMNS}
        for m in self.metrics:
            cols |= m.columns(self)
        self._evals = History(capacity, cols)
        self._pending_evals: list[_DueEval] = []  # evaluations due, not yet run
        self._state_tensors = [*self.model.parameters(), *self.model.buffers()]
        self._state_bytes = sum(t.nbytes for t in self._state_tensors)
        units, inputs = self.model.linears()[0].weight.shape  # 8x8 images for digits
        self.first_layer = History(FIRST_LAYER_ROWS, {"w": (min(FIRST_UNITS, units), inputs)})

    def next_batch(self) -> tuple[torch.Tensor, torch.Tensor]:
        """The next mini-batch of a seeded reshuffle per epoch; a short last batch is skipped."""
        if self._pos + self.batch_size > len(self._perm):
            self._perm = torch.randperm(len(self.x), generator=self.order)
            self._pos = 0
        idx = self._perm[self._pos : self._pos + self.batch_size]
        self._pos += self.batch_size
        return self.x[idx], self.y[idx]

    def set_lr(self, lr: float) -> None:
        """Change the learning rate from the next step on."""
        self.lr = lr
        for group in self.optimizer.param_groups:
            group["lr"] = lr

    def state_dict(self) -> dict:
        """Everything step() depends on or appends to (shared tensors: serialize at once)."""
        return {
            "model": self.model.state_dict(),  # weights and BN buffers
            "optimizer": self.optimizer.state_dict(),
            "order": self.order.get_state(),
            "perm": self._perm.clone(), "pos": self._pos,
            "step_count": self.step_count, "lr": self.lr,
            "losses": self.losses.state_dict(), "evals": self.evals.state_dict(),
            "telemetry": self.telemetry.state_dict(),
            "first_layer": self.first_layer.state_dict(),
            "noise": [n.gen.get_state() for n in self._noises()],  # BN + noise runs
        }  # fmt: skip

    def _noises(self) -> list:
        """The injected-noise and dropout modules (their generators are part of a run's state)."""
        noises = [b.noise for b in self.model.blocks if getattr(b, "noise", None) is not None]
        return noises + [b.drop for b in self.model.blocks if getattr(b, "drop", None) is not None]

    @contextlib.contextmanager
    def streams_kept(self) -> Iterator[None]:
        """Forwards inside draw no training randomness: the data order, injected-BN-noise and
        dropout generators are put back afterwards, so only step() advances them (a
        train-mode measurement draws the noise the next step will draw, then leaves it)."""
        gens = self._streams()
        states = [g.get_state() for g in gens]
        try:
            yield
        finally:
            for g, st in zip(gens, states, strict=True):
                g.set_state(st)

    def _streams(self) -> list[torch.Generator]:
        """The run's random generators: data order, injected noise, dropout (each once)."""
        return list({id(g): g for g in [self.order, *(m.gen for m in self._noises())]}.values())

    def load_state_dict(self, state: dict) -> None:
        """Continue exactly where the Trainer that wrote state_dict() stopped."""
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.order.set_state(state["order"])
        self._perm, self._pos = state["perm"].clone(), int(state["pos"])
        self.step_count = int(state["step_count"])
        self.set_lr(float(state["lr"]))
        self._recent.clear()
        self._next_check = 0
        self._losses.load_state_dict(state["losses"])
        self._pending_evals.clear()
        self._evals.load_state_dict(state["evals"])
        self.telemetry.load_state_dict(state["telemetry"])
        self.first_layer.load_state_dict(state["first_layer"])
        for module, gen_state in zip(self._noises(), state["noise"], strict=True):
            module.gen.set_state(gen_state)

    @property
    def losses(self) -> History:
        """Every step's loss, on a grid that thins as the buffer fills (History)."""
        if self._recent:  # the steps since the last read, added as one step at a time would
            steps = np.arange(self.step_count - len(self._recent), self.step_count)
            self._losses.record(steps, {"loss": np.array(self._recent, np.float32)}, 1)
            self._recent.clear()  # in place: run() holds the list
        return self._losses

    def step(self) -> float:
        """One optimizer step; records telemetry on sampled steps; raises Diverged on NaN/Inf.

        Most steps are due no evaluation or sample: they touch as little as a bare loop
        (measured, the checks of every step cost ~2 % of a lab step: each runs with caches
        that the step before flushed). Their losses are kept in a list until read.
        """
        self.run(1)
        return self._recent[-1]

    def run(self, limit: int, deadline: float = math.inf) -> int:
        """Up to `limit` steps, as `limit` calls of step() would, stopping after the step that
        ends past `deadline` (time.perf_counter()); the steps taken. Diverged propagates.

        The loop a worker spends its time in: the unchecked steps are inlined here, one Python
        frame per slice rather than three per step (measured: those cost ~1 % of a lab step).
        """
        if len(self._recent) >= RECENT_MAX:  # nobody read the losses for a long while
            self.losses  # noqa: B018 (reading files them in the history)
        model, optimizer, recent = self.model, self.optimizer, self._recent
        clock, taken = time.perf_counter, 0
        while taken < limit:
            s = self.step_count
            taken += 1
            if s >= self._next_check:
                self._checked_step(s)
            else:
                xb, yb = self.next_batch()
                loss = F.cross_entropy(model(xb), yb)
                value = loss.item()
                if not math.isfinite(value):
                    raise Diverged(s + 1)
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                recent.append(value)
                self.step_count = s + 1
            if clock() >= deadline:
                break
        return taken

    def _checked_step(self, s: int) -> float:
        """step() when an evaluation or a sample may be due; then plans the next check."""
        if self._evals.n + len(self._pending_evals) >= self._evals.capacity:
            self.run_evals()  # the history thins on its next row: choose on the grid it will have
        if s == 0 or self._evals.wants(s, self.cfg.eval_every):
            self.record_eval()
        value = self._update(s, self.telemetry.wants(s, self.cfg.log_every))
        self._next_check = min(
            self._evals.next_wanted(s + 1, self.cfg.eval_every),
            self.telemetry.history.next_wanted(s + 1, self.cfg.log_every),
        )
        return value

    def _update(self, s: int, sample: bool) -> float:
        """Train on the next mini-batch (recording its telemetry if `sample`); its loss."""
        xb, yb = self.next_batch()
        if sample:
            self.telemetry.begin()
        loss = F.cross_entropy(self.model(xb), yb)
        value = loss.item()
        if not math.isfinite(value):
            if sample:
                self.telemetry.close()
            raise Diverged(s + 1)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if sample:
            self.telemetry.after_backward()
        self.optimizer.step()
        if sample:
            self.telemetry.after_step(s)
        self._recent.append(value)
        self.step_count = s + 1
        return value

    def evaluate(self) -> dict[str, object]:
        """Loss and accuracy on train and test (eval mode), and the metrics cfg names.

        Never changes the run: metrics that run the network in train mode (batch statistics,
        injected noise, dropout) consume no random numbers of training (streams_kept).
        """
        with self.streams_kept():
            return self._evaluate()

    @torch.inference_mode()
    def _evaluate(self) -> dict[str, object]:
        pres = None
        n = len(self.x)
        with eval_mode(self.model):
            if any(m.needs_pre for m in self.metrics):
                logits, pres = pre_activations(self.model, self.x)
                test_logits = self.model(self.x_test)
            else:  # one pass over both sets (eval mode: each row on its own)
                both = self.model(self._x_both)
                logits, test_logits = both[:n], both[n:]
        out: dict[str, object] = {
            "train_loss": F.cross_entropy(logits, self.y).item(),
            "train_acc": (logits.argmax(1) == self.y).float().mean().item(),
            "test_loss": F.cross_entropy(test_logits, self.y_test).item(),
            "test_acc": (test_logits.argmax(1) == self.y_test).float().mean().item(),
        }
        for m in self.metrics:
            out |= m.compute(self, pres)
        return out

    @property
    def evals(self) -> History:
        """The evaluations so far, every one due run (History)."""
        self.run_evals()
        return self._evals

    def record_eval(self) -> None:
        """Append this step's evaluation to the eval history: at the next read (`evals`, a
        snapshot, a checkpoint), on what it reads now (weights, buffers, random streams, the
        learning rate), so the rows are the ones evaluating at once would give."""
        if (len(self._pending_evals) + 1) * self._state_bytes > PENDING_EVAL_BYTES:
            self.run_evals()  # a big net: no room to keep its state, evaluate at once
            self._evals.append(self.step_count, self.evaluate())
        else:
            self._pending_evals.append(self._due_now())
            if len(self._pending_evals) >= PENDING_EVALS:
                self.run_evals()
        self.record_first_layer()

    def _due_now(self) -> _DueEval:
        tensors = [t.detach().clone() for t in self._state_tensors]
        streams = [g.get_state() for g in self._streams()]
        return _DueEval(self.step_count, tensors, streams, self.lr)

    def run_evals(self) -> None:
        """Run the evaluations due, in step order, each on what it read when it was due."""
        if not self._pending_evals:
            return
        pending, self._pending_evals = self._pending_evals, []
        now = self._due_now()
        try:
            for due in pending:
                self._put(due)
                self._evals.append(due.step, self._evaluate())
        finally:
            self._put(now)

    @torch.no_grad()
    def _put(self, due: _DueEval) -> None:
        """Put back the weights, buffers, random streams and learning rate of `due`."""
        for t, v in zip(self._state_tensors, due.tensors, strict=True):
            t.copy_(v)
        for g, state in zip(self._streams(), due.streams, strict=True):
            g.set_state(state)
        self.lr = due.lr

    def record_first_layer(self) -> None:
        """Keep the first layer's weights: rows on a thinning grid, plus always the newest."""
        hist = self.first_layer
        if hist.n and not hist.wants(int(hist.steps[hist.n - 1]), self.cfg.eval_every):
            hist.n -= 1  # the last row was kept only as the newest: replace it
        w = self.model.linears()[0].weight.detach()
        hist.append(self.step_count, {"w": w[: hist.cols["w"].shape[1]].numpy()})

    @torch.inference_mode()
    def boundary(self, resolution: int = 60) -> dict[str, np.ndarray] | None:
        """P(class 1) on a grid over the 2-D inputs (None for other datasets)."""
        if self.cfg.dataset not in TWO_D:
            return None
        lo = self.x.min(0).values - 0.3
        hi = self.x.max(0).values + 0.3
        gx = torch.linspace(lo[0].item(), hi[0].item(), resolution)
        gy = torch.linspace(lo[1].item(), hi[1].item(), resolution)
        grid = torch.stack(torch.meshgrid(gx, gy, indexing="xy"), -1).reshape(-1, 2)
        with eval_mode(self.model):
            prob = torch.softmax(self.model(grid), 1)[:, 1]
        return {
            "x": gx.numpy(),
            "y": gy.numpy(),
            "p": prob.reshape(resolution, resolution).numpy().astype(np.float32),
        }
