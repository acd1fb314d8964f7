"""Per-layer statistics of sampled steps, reduced at once, kept in bounded ring buffers."""

from __future__ import annotations

import math

import numpy as np

from bnviz.nets import (
    MLP,
    RELU_LIKE,
    capture_calls,
    capture_inputs,
    dead_share,
    saturated_share,
)

# Percentiles of Ioffe & Szegedy Fig. 1 (15/50/85) and TensorBoard's 9 (min, ±1.5σ, ±1σ, ±0.5σ,
# median, max: 0/6.7/15.9/30.9/50/69.1/84.1/93.3/100).
QUANTILES = (0.0, 6.7, 15.0, 15.9, 30.9, 50.0, 69.1, 84.1, 85.0, 93.3, 100.0)
Q15, Q50, Q85 = 2, 5, 8  # indices of the paper's bands in QUANTILES
HIST_BINS = 40
HIST_RANGE = 6.0  # pre-activation histogram covers [-6, 6]; outliers land in the end bins
PENDING_CAPTURES = 32  # captures reduced together (a snapshot reduces whatever is pending)
PENDING_BYTES = 8 << 20  # ... or sooner, when their layers' tensors would hold this much
SUBSAMPLE = 2048  # quantiles of big layers from a strided subsample (±1 percentile)
BN_UNITS = 8  # running/batch statistics kept for the first units of every BN layer


# ---------------------------------------------------------------------------- ring buffer


class History:
    """Preallocated rows (step + named columns); when full, keeps every other row.

    Memory is fixed at creation; a long run keeps covering its whole history at half the
    resolution each time the buffer fills (the caller should then sample half as often).
    """

    def __init__(self, capacity: int, columns: dict[str, tuple[int, ...]]):
        self.capacity = capacity + capacity % 2
        self.steps = np.zeros(self.capacity, np.int64)
        self.cols = {
            k: np.full((self.capacity, *s), np.nan, np.float32) for k, s in columns.items()
        }
        self.n = 0
        self.stride = 1  # doubles on every thinning

    def append(self, step: int, values: dict[str, object]) -> None:
        """Add one row (missing columns stay NaN)."""
        if self.n == self.capacity:
            self._thin()
        self.steps[self.n] = step
        for name, value in values.items():
            self.cols[name][self.n] = value
        self.n += 1

    def extend(self, steps: np.ndarray, values: dict[str, np.ndarray]) -> None:
        """append() of len(steps) rows at once (values: name -> (rows, ...)), thinning alike."""
        done, total = 0, len(steps)
        while done < total:
            if self.n == self.capacity:
                self._thin()
            take = min(total - done, self.capacity - self.n)
            rows, part = slice(self.n, self.n + take), slice(done, done + take)
            self.steps[rows] = steps[part]
            for name, value in values.items():
                self.cols[name][rows] = value[part]
            self.n += take
            done += take

    def _thin(self) -> None:
        half = self.n // 2
        self.steps[:half] = self.steps[0 : self.n : 2]
        for arr in self.cols.values():
            arr[:half] = arr[0 : self.n : 2]
            arr[half:] = np.nan
        self.n = half
        self.stride *= 2

    def wants(self, step: int, unit: int) -> bool:
        """Whether `step` falls on the current sampling grid (every unit·stride steps)."""
        return step % (unit * self.stride) == 0

    def next_wanted(self, step: int, unit: int) -> int:
        """The first step >= `step` on the current grid. The grid only thins, so no later
        grid wants an earlier step: no row is due before it."""
        every = unit * self.stride
        return -(-step // every) * every

    def record(self, steps: np.ndarray, values: dict[str, np.ndarray], unit: int) -> None:
        """For each row in order: append it if wants(step, unit), as a loop of those would,
        thinning as it fills (the row that finds the buffer full is kept, the grid it was
        chosen on then doubles), in a few extend() calls."""
        done = 0
        while done < len(steps):
            on = np.flatnonzero(steps[done:] % (unit * self.stride) == 0) + done
            if not len(on):
                return
            room = self.capacity - self.n
            take = on[: max(room, 1)]  # no room: append() thins, then takes one row
            if room:
                self.extend(steps[take], {k: v[take] for k, v in values.items()})
            else:
                self.append(int(steps[take[0]]), {k: v[take[0]] for k, v in values.items()})
            done = int(take[-1]) + 1

    def view(self) -> dict[str, np.ndarray]:
        """Read-only copies of the filled rows: {'step': ..., column: ...}."""
        out = {"step": self.steps[: self.n].copy()}
        out.update({k: v[: self.n].copy() for k, v in self.cols.items()})
        for arr in out.values():
            arr.flags.writeable = False
        return out

    def state_dict(self) -> dict:
        """Copies of the rows and the thinning state (for a checkpoint)."""
        cols = {k: v.copy() for k, v in self.cols.items()}
        return {"steps": self.steps.copy(), "cols": cols, "n": self.n, "stride": self.stride}

    def load_state_dict(self, state: dict) -> None:
        """Put back what state_dict() returned (same capacity and columns)."""
        self.steps[:] = state["steps"]
        for k, v in state["cols"].items():
            self.cols[k][:] = v
        self.n, self.stride = int(state["n"]), int(state["stride"])

    @property
    def nbytes(self) -> int:
        """Bytes held (constant for the life of the buffer)."""
        return self.steps.nbytes + sum(a.nbytes for a in self.cols.values())


# ---------------------------------------------------------------------------- reductions
# In numpy: on a 4096-value layer np.sort costs ~40 µs against ~240 µs for torch.sort (measured).

_QT = np.asarray(QUANTILES) / 100.0


def _stack(arrays: list[np.ndarray]) -> np.ndarray:
    """(layers, n) from equal-size layers; unequal ones (maxout) are strided to a common size."""
    n = min(a.size for a in arrays)
    return np.stack([a if a.size == n else a[:: a.size // n][:n] for a in arrays])


def quantiles(values: np.ndarray) -> np.ndarray:
    """The QUANTILES of each row (or of a 1-D array), from a sorted strided subsample."""
    picked = picked_quantiles(sorted_subsample(np.atleast_2d(values)))
    return picked if values.ndim > 1 else picked[0]


def sorted_subsample(rows: np.ndarray) -> np.ndarray:
    """Each row of (k, n) sorted, strided down to at most SUBSAMPLE values (±1 percentile)."""
    if rows.shape[1] > SUBSAMPLE:
        rows = rows[:, :: math.ceil(rows.shape[1] / SUBSAMPLE)]
    return np.sort(rows, axis=1)


def mean_std(rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(mean, std with ddof=1) of each row of a (k, n) array; rows are centered in place."""
    n = rows.shape[1]
    mean = rows.mean(axis=1)  # not BLAS (rows @ ones): it spins threads, and rounds by shape
    rows -= mean[:, None]
    var = np.einsum("ij,ij->i", rows, rows) / max(n - 1, 1)
    return mean, np.sqrt(var)


def picked_quantiles(ordered: np.ndarray) -> np.ndarray:
    """QUANTILES of each row of sorted rows (nearest rank)."""
    return ordered[:, np.rint(_QT * (ordered.shape[1] - 1)).astype(np.int64)]


def histogram(values: np.ndarray) -> np.ndarray:
    """Share of values per row in HIST_BINS equal bins on ±HIST_RANGE (ends clamped)."""
    rows = np.atleast_2d(values)
    pos = rows + HIST_RANGE  # then in place: one temporary, not three
    pos *= HIST_BINS / (2 * HIST_RANGE)
    np.clip(pos, 0, HIST_BINS - 1, out=pos)
    idx = pos.astype(np.int32)  # finite: a NaN step never gets here
    idx += np.arange(0, len(rows) * HIST_BINS, HIST_BINS, dtype=np.int32)[:, None]  # one bincount
    counts = np.bincount(idx.reshape(-1), minlength=len(rows) * HIST_BINS).reshape(len(rows), -1)
    shares = counts / max(rows.shape[1], 1)
    return shares if values.ndim > 1 else shares[0]


def _sq(array: np.ndarray) -> float:
    """Squared L2 norm of all values (float32 dot product, as torch's norm)."""
    flat = array.reshape(-1)
    return float(np.dot(flat, flat))


def layer_columns(
    layers: int, bn_layers: int, linears: int, bn_units: int = BN_UNITS
) -> dict[str, tuple[int, ...]]:
    """Column shapes of the telemetry history."""
    q, u = len(QUANTILES), bn_units
    cols = {
        "pre_q": (layers, q), "pre_mean": (layers,), "pre_std": (layers,),
        "pre_hist": (layers, HIST_BINS), "out_q": (layers, q), "out_mean": (layers,),
        "out_std": (layers,), "saturated": (layers,), "dead": (layers,),
        "grad_norm": (linears,), "update_ratio": (linears,),
    }  # fmt: skip
    if bn_layers:
        cols.update(
            {
                k: (bn_layers, u)
                for k in ("bn_running_mean", "bn_running_var", "bn_batch_mean", "bn_batch_var")
            }
        )
    return cols


# ---------------------------------------------------------------------------- recorder


class _Capture:
    """One sampled step, as taken: views of its tensors, reduced later by Telemetry.flush()."""

    __slots__ = ("acts", "bn_inputs", "change_sq", "grad_sq", "running", "scale_sq", "step")

    def __init__(self):
        self.step = -1
        self.acts: list[tuple[np.ndarray, np.ndarray]] = []  # (pre, out) of every layer
        self.bn_inputs: list[np.ndarray] = []  # the first units of every BN layer's input
        self.running = None
        # squared norms per Linear: gradient, weights before the update, the update
        self.grad_sq = self.scale_sq = self.change_sq = None


class Telemetry:
    """Records every hidden layer's nonlinearity (and BN) on sampled steps only.

    A sampled step keeps views of its tensors and a few norms; the statistics of many
    sampled steps are reduced together in flush(), where per-call overhead is paid once.
    """

    def __init__(self, model: MLP, capacity: int = 512):
        self.model = model
        self.norms = [b.norm for b in model.blocks if b.norm is not None]
        self.linears = model.linears()
        # BN statistics of the first units only (fewer when a layer is narrower)
        self.bn_units = min([BN_UNITS] + [n.num_features for n in self.norms])
        cols = layer_columns(len(model.blocks), len(self.norms), len(self.linears), self.bn_units)
        self.history = History(capacity, cols)
        self._now: _Capture | None = None  # the sampled step in progress
        self._captures: list = []  # capture_calls(acts), capture_inputs(norms) while it runs
        self._calls: list = []
        self._bn_calls: list = []
        # The Linear weights, and numpy views of them: the optimizer and load_state_dict()
        # write into the same storage, so the views stay current.
        self._weights = [lin.weight for lin in self.linears]
        self._views = [w.detach().numpy() for w in self._weights]
        self._before = [np.empty_like(v) for v in self._views]  # before a sampled update
        self._pending: list[_Capture] = []  # sampled steps to reduce, in step order
        self._pending_bytes = 0

    def close(self) -> None:
        """Stop recording (this step's forward pass is over)."""
        for capture in reversed(self._captures):
            capture.__exit__(None, None, None)
        self._captures = []
        if self._now is not None and self._calls:
            # views only; everything is reduced at once in flush()
            acts = self._calls  # numpy(force=True): views without detach()
            self._now.acts = [(x.numpy(force=True), a.numpy(force=True)) for x, a in acts]
            u = self.bn_units
            self._now.bn_inputs = [z.numpy(force=True)[:, :u] for z in self._bn_calls]
        self._calls = self._bn_calls = []

    def begin(self) -> None:
        """Record the layers for this step's forward pass only (nets.capture_calls)."""
        self._now = _Capture()
        self._captures = [capture_calls([b.act for b in self.model.blocks])]
        if self.norms:
            self._captures.append(capture_inputs(self.norms))
        self._calls = self._captures[0].__enter__()
        if self.norms:
            self._bn_calls = self._captures[1].__enter__()

    def after_backward(self) -> None:
        """Gradient norms, and a copy of the weights to measure this step's update."""
        self.close()
        now = self._now
        grads = [w.grad for w in self._weights]
        now.grad_sq = np.array(
            [math.nan if g is None else _sq(g.numpy()) for g in grads], np.float64
        )
        for w, before in zip(self._views, self._before, strict=True):
            np.copyto(before, w)
        now.scale_sq = np.array([_sq(w) for w in self._before], np.float64)

    def after_step(self, step: int) -> None:
        """Size of this step's update per Linear, the BN buffers; then queue the capture.

        Sizes are RMS (norm/√n): for zero-mean weights and updates that is the std of
        Karpathy's ratio, at a tenth of the cost.
        """
        now, self._now = self._now, None
        for w, before in zip(self._views, self._before, strict=True):
            np.subtract(before, w, out=before)  # minus the update
        now.change_sq = np.array([_sq(d) for d in self._before], np.float64)
        if self.norms:
            u = self.bn_units
            buffers = [n.running_mean for n in self.norms] + [n.running_var for n in self.norms]
            now.running = np.stack([b.numpy()[:u] for b in buffers])  # a copy: they change
        now.step = step
        # The layers' views keep this step's tensors alive until flush() reduces them.
        self._pending.append(now)
        self._pending_bytes += sum(p.nbytes + o.nbytes for p, o in now.acts)
        if len(self._pending) >= PENDING_CAPTURES or self._pending_bytes > PENDING_BYTES:
            self.flush()

    def flush(self) -> None:
        """Reduce the pending captures and append their rows to the history, in step order.

        Captures are reduced in batches because per-call overhead, not arithmetic, dominates
        on these small arrays: every statistic of every layer of every pending capture takes
        one numpy call. Pre and out share one stack, one mean and one variance when they are
        the same size (all but maxout, whose pre-activation is k times wider). Quantiles use
        the sorted strided subsample (every value up to SUBSAMPLE per layer, as quantiles());
        means, stds, histograms and saturated shares use every value.
        """
        if not self._pending:
            return
        pending, self._pending, self._pending_bytes = self._pending, [], 0
        acts = [a for cap in pending for a in cap.acts]  # capture-major, (batch, width) each
        pres, outs = [p for p, _ in acts], [o for _, o in acts]
        k, act = len(acts), self.model.activation
        # quantiles from a strided subsample, the rest from every value; mean_std() centers
        # its rows in place, so it comes last
        if pres[0].shape == outs[0].shape:  # pre and out in one stack (all but maxout)
            full = _stack([a.reshape(-1) for a in pres + outs])
            pre_full, out_full = full[:k], full[k:]
        else:
            pre_full, out_full = (_stack([a.reshape(-1) for a in x]) for x in (pres, outs))
        pre_sorted, out_sorted = sorted_subsample(pre_full), sorted_subsample(out_full)
        hist, saturated = histogram(pre_full), saturated_share(out_full, act, axis=1)
        if pres[0].shape == outs[0].shape:
            mean, std = mean_std(full)
        else:
            (m0, s0), (m1, s1) = mean_std(pre_full), mean_std(out_full)
            mean, std = np.concatenate([m0, m1]), np.concatenate([s0, s1])
        cols = {
            "pre_mean": mean[:k], "out_mean": mean[k:], "pre_std": std[:k], "out_std": std[k:],
            "pre_q": picked_quantiles(pre_sorted), "out_q": picked_quantiles(out_sorted),
            "pre_hist": hist, "saturated": saturated,
        }  # fmt: skip
        if act not in RELU_LIKE:
            cols["dead"] = np.full(k, math.nan)
        elif len({p.shape for p, _ in acts}) == 1:  # one max over the batch for every layer
            cols["dead"] = dead_share(np.stack([p for p, _ in acts]), act)
        else:
            cols["dead"] = np.array([dead_share(p, act) for p, _ in acts])
        n = len(pending)
        cols = {name: values.reshape(n, -1, *values.shape[1:]) for name, values in cols.items()}
        cols["grad_norm"] = np.sqrt(np.stack([cap.grad_sq for cap in pending]))
        change = np.stack([cap.change_sq for cap in pending])
        scale = np.stack([cap.scale_sq for cap in pending])
        with np.errstate(divide="ignore", invalid="ignore"):
            ratios = 0.5 * np.log10(change / scale)
        cols["update_ratio"] = np.where(np.isfinite(ratios), ratios, np.nan)
        if self.norms:
            running = np.stack([cap.running for cap in pending])  # (n, 2·layers, u)
            cols["bn_running_mean"], cols["bn_running_var"] = np.split(running, 2, axis=1)
            z = np.stack([x for cap in pending for x in cap.bn_inputs])
            z = z.reshape(n, len(self.norms), *z.shape[1:])  # (n, layers, batch, u)
            cols["bn_batch_mean"] = z.mean(2)
            cols["bn_batch_var"] = z.var(2)  # biased: what the batch is normalized by
        steps = np.array([cap.step for cap in pending])
        self.history.extend(steps, {name: np.asarray(v, np.float32) for name, v in cols.items()})

    def wants(self, step: int, unit: int) -> bool:
        """Whether to sample `step`: the history's grid, as if every capture were reduced.

        A full history thins on its next append. Captures still pending then were sampled on
        the old grid, so the steps a run kept would depend on when snapshots reduced them:
        reduce first once the pending captures would fill it.
        """
        if self.history.n + len(self._pending) >= self.history.capacity:
            self.flush()
        return self.history.wants(step, unit)

    def view(self) -> dict[str, np.ndarray]:
        """The history with every capture so far (pending ones reduced first)."""
        self.flush()
        return self.history.view()

    def state_dict(self) -> dict:
        """The history with every pending capture reduced (between steps: nothing recording)."""
        self.flush()
        return self.history.state_dict()

    def load_state_dict(self, state: dict) -> None:
        """Put back what state_dict() returned."""
        self.history.load_state_dict(state)
