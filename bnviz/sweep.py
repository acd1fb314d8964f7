"""A sweep: many models of one shape trained at once, as a scheduler job or in the caller's thread.

    result = train_sweep(RunConfig(), [{"lr": lr} for lr in (0.01, 0.1, 1.0)])

Model i of a sweep is the run `train_sync(result.configs[i])`: same weights, batches, updates.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
import os
import pickle
import socket
import subprocess
import sys
import threading
import time
import traceback
from dataclasses import asdict, dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import ClassVar

import numpy as np
import torch
from torch.nn import functional as F

from bnviz.batched import StackedData, check_shared
from bnviz.config import RunConfig
from bnviz.procs import CpuMeter, keep_freed_memory
from bnviz.stacked import StackedMLP, StackedOptimizer, Step, Workspace, fast_matmul
from bnviz.stepper import Paced, Progress
from bnviz.telemetry import History

MAX_MODELS = 256  # models per sweep
MAX_MODEL_STEPS = 1_000_000  # models × steps per sweep (256 × 2000 = 512k; ~1 min on a core)
MAX_PARAMS = 20_000_000  # models × parameters per model (memory: ~5 copies of 4 bytes each)
EVAL_CAPACITY = 128  # evaluations kept per model (thinned like telemetry.History)
BLOCK = 64  # models per part: a part runs a slice's steps in a row on tensors that stay in cache
PER_CORE = 32  # fewer models per core: a step's fixed cost (~0.45 ms) beats a second core
CORES_ENV = "BNVIZ_SWEEP_CORES"  # cores a sweep built without `cores` uses (default 1)
# A 2-core sweep's helper shares its core with whatever else runs (the pool's other worker):
# measured, with one other busy process the 2-core sweep was slower than 1 core (9.6k vs
# 11.3k model-steps/s at N = 64), so its parts then come home, and go out again on a free core.
LOAD_CHECK_S = 1.0  # how often a 2-core sweep looks at the machine's load
OTHER_BUSY = 0.5  # cores busy with other processes (since the last look): parts move home
SLOW_SLICES = 3  # ... as after this many slices in a row with the helper LAG slower than us
LAG = 0.5
MIN_SLICE_S = 0.005  # (counting only slices long enough to time)
OUT_CHECK_S = 3.0  # while they are home: how often to look for an idle core
IDLE_CORE = 0.8  # idle cores (of the whole machine, since the last look) that count as one
EVAL_FLOATS = 2**20  # activations per evaluation chunk (4 MB: stays in this CPU's cache)
TERMINAL = ("finished", "error", "stopped")
_clock = time.perf_counter  # times the two cores' shares of a slice (a test's fake clock)


@dataclass(frozen=True)
class SweepSnapshot(Progress):
    """What a page draws of a sweep at one moment: plain numpy arrays, picklable, read-only."""

    run_id: str
    state: str  # running, paused, finished, error, stopped (queued: set by the scheduler)
    step: int
    steps: int
    steps_per_s: float
    taken_at: float
    error: str | None
    configs: tuple[RunConfig, ...]
    eval_step: np.ndarray  # (E,) steps at which every model was evaluated
    train_loss: np.ndarray  # (N, E) full training set, eval mode; NaN after divergence
    test_acc: np.ndarray  # (N, E)
    final_loss: np.ndarray  # (N,) at the end of training; NaN if diverged or not finished
    final_acc: np.ndarray  # (N,)
    model_state: np.ndarray  # (N,) "running" / "finished" / "diverged"
    model_step: np.ndarray  # (N,) steps each model completed
    diverged_at: np.ndarray  # (N,) the step whose loss was not finite; -1 if none
    queue_position: int | None = None
    wall_s: float = 0.0  # seconds from the first step to now (or to the end): this server's time
    busy_s: float = 0.0  # of which training (at classroom pace the rest is waiting)
    pace: float | None = None  # steps/s cap (classroom pace), None = as fast as possible
    cores: int = 1  # cores it was built for (2: a helper process trains half of the models)
    moves: int = 0  # times the helper's models moved (home while the other core was busy)


@dataclass(frozen=True)
class SweepResult:
    """A finished sweep (train_sweep): per-model tables."""

    configs: tuple[RunConfig, ...]
    step: np.ndarray  # (E,) evaluated steps
    train_loss: np.ndarray  # (N, E)
    test_acc: np.ndarray  # (N, E)
    final_loss: np.ndarray  # (N,)
    final_acc: np.ndarray  # (N,)
    state: np.ndarray  # (N,) "finished" / "diverged"
    diverged_at: np.ndarray  # (N,) -1 if none


class TooBig(ValueError):
    """A sweep past one of the caps above; `key` (errors.sweep_*) and `values` say it to a
    class in its language (the message itself names the constant, for a developer)."""

    def __init__(self, message: str, key: str, **values: object):
        super().__init__(message)
        self.key, self.values = key, values


@dataclass(frozen=True)
class SweepSpec:
    """What a sweep trains: base.replace(**change) per model; validated and capped when made."""

    base: RunConfig
    changes: tuple
    steps: int | None = None  # None: base.steps; resolved when made (the scheduler needs an int)

    def __post_init__(self) -> None:
        frozen = tuple(tuple(sorted(dict(c).items())) for c in self.changes)
        object.__setattr__(self, "changes", frozen)  # hashable, order of keys irrelevant
        if self.steps is None:
            object.__setattr__(self, "steps", self.base.steps)
        configs = self.configs()
        if not configs:
            raise ValueError("a sweep needs at least one model")
        n, steps = len(configs), configs[0].steps
        if n > MAX_MODELS:
            raise TooBig(
                f"a sweep holds at most {MAX_MODELS} models (MAX_MODELS), got {n}",
                "errors.sweep_models", limit=MAX_MODELS, n=n,
            )  # fmt: skip
        total = n * steps
        if total > MAX_MODEL_STEPS:
            raise TooBig(
                f"a sweep trains at most {MAX_MODEL_STEPS:,} model-steps (MAX_MODEL_STEPS), "
                f"got {n} models × {steps} steps = {total:,}",
                "errors.sweep_model_steps", limit=f"{MAX_MODEL_STEPS:,}", n=n, steps=steps,
                total=f"{total:,}",
            )  # fmt: skip
        check_shared(configs)
        c = configs[0]
        per_model = (
            c.depth * c.width * (c.width + 4) * (c.maxout_k if c.activation == "maxout" else 1)
        )
        if per_model * len(configs) > MAX_PARAMS:
            raise TooBig(
                f"a sweep holds at most {MAX_PARAMS:,} parameters (MAX_PARAMS)",
                "errors.sweep_params", limit=f"{MAX_PARAMS:,}",
            )  # fmt: skip

    def configs(self) -> tuple[RunConfig, ...]:
        """The RunConfig of every model (steps set to the sweep's), made once: a page's run of
        the hyperparameter lesson asked 15 times for its three sweeps' (630 validated configs
        each time, 1.0 s of the page's 1.2 s before its charts, measured)."""
        made = self.__dict__.get("_configs")
        if made is None:
            made = tuple(self.base.replace(**dict(c), steps=self.steps) for c in self.changes)
            object.__setattr__(self, "_configs", made)  # not a field: eq, hash and repr skip it
        return made

    def key(self) -> str:
        """A stable id of everything that changes the result (canonical configs and steps)."""
        made = self.__dict__.get("_key")
        if made is None:
            blob = json.dumps([asdict(c.canonical()) for c in self.configs()], sort_keys=True)
            made = "sweep-" + hashlib.sha1(blob.encode()).hexdigest()[:16]
            object.__setattr__(self, "_key", made)
        return made

    def __getstate__(self) -> dict:
        """Pickled without what configs() and key() keep (six times the bytes: a spec goes to
        a worker with its job, and the worker makes them again)."""
        return {k: v for k, v in self.__dict__.items() if k not in ("_configs", "_key")}

    def build(self, job_id: str, steps: int | None = None, cores: int | None = None) -> SweepJob:
        """The job that trains this sweep (steps: override of the planned steps; cores: see
        SweepJob, default: the CORES_ENV variable, else 1)."""
        if cores is None:
            cores = int(os.environ.get(CORES_ENV) or 1)
        return SweepJob(job_id, self.configs(), steps, cores)


class _Part:
    """Models lo:hi of a sweep with their own data order, weights and optimizer.

    A _Group owns it: it sets `net.ws` (the buffers its parts share) and makes `model_step`
    and `diverged_at` views of its arrays. Picklable (a part moves between processes with
    its progress: the two arrays travel as copies).
    """

    def __init__(self, configs: tuple[RunConfig, ...], lo: int):
        self.lo, self.hi = lo, lo + len(configs)
        self.data = StackedData(list(configs))
        self.net = StackedMLP(list(configs), self.data.n_in, self.data.n_out)
        self.opt = StackedOptimizer(self.net, list(configs))
        self.alive = torch.ones(len(configs), dtype=torch.bool)
        self.n_alive = len(configs)  # alive.sum(), kept as a number: checked every step
        self.model_step = np.zeros(len(configs), np.int64)
        self.diverged_at = np.full(len(configs), -1, np.int64)

    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        state["model_step"], state["diverged_at"] = self.model_step.copy(), self.diverged_at.copy()
        return state

    def train(self, step: int, steps: int) -> int:
        """Train from `step` for `steps` steps, or until every model diverged; steps taken."""
        everyone = len(self.alive)
        for k in range(steps):
            if not self.n_alive:
                return k
            x, y = self.data.batch()
            batch = Step(self.net, x, y, self.data.mask)
            # one sum and one number read while every model is alive and finite
            if not (self.n_alive == everyone and math.isfinite(batch.total())):
                bad = ~torch.isfinite(batch.loss) & self.alive
                if bad.any():  # as Trainer: the step whose loss is not finite is not taken
                    self.diverged_at[bad.numpy()] = step + k + 1
                    self.alive &= ~bad
                    self.n_alive = int(self.alive.sum())
            if self.n_alive:
                self.opt.apply(batch, self.alive, self.n_alive)
            if self.n_alive == everyone:
                self.model_step += 1
            else:
                self.model_step[self.alive.numpy()] += 1
        return steps

    @torch.no_grad()
    def evaluate(self) -> tuple[np.ndarray, np.ndarray]:
        """Training-set loss and test accuracy of every model (eval mode): (n,), (n,).

        In chunks of rows whose activations stay in cache (~2x faster than all rows at once).
        """
        d, n = self.data, self.net.n
        total = d.x_all.shape[1]
        ce, right = torch.empty(n, total), torch.empty(n, total)
        rows = max(32, EVAL_FLOATS // (n * self.net.cfg.width * self.net.k))
        for lo in range(0, total, rows):
            x, y = d.rows(lo, lo + rows)
            logits = self.net.forward(x, False)
            y = y.expand(n, -1)
            ce[:, lo : lo + rows] = F.cross_entropy(logits, y, reduction="none")  # (N, C, rows)
            right[:, lo : lo + rows] = logits.max(1).indices == y  # argmax(1): 20x slower
        dead = ~self.alive
        loss = ce[:, : d.n_train].mean(1).masked_fill(dead, math.nan)
        return loss.numpy(), right[:, d.n_train :].mean(1).masked_fill(dead, math.nan).numpy()


class _Group:
    """The parts of a sweep one process trains, one after the other (one core).

    model_step, diverged_at: arrays whose index 0 is model `base`; each part's are views.
    """

    def __init__(self, model_step: np.ndarray, diverged_at: np.ndarray, base: int = 0):
        self.ws = Workspace()  # shared by its parts: they step in turn
        self.model_step, self.diverged_at, self.base = model_step, diverged_at, base
        self.parts: list[_Part] = []

    def add(self, part: _Part) -> None:
        """Own a part (new, or moved here with its progress); parts stay in model order."""
        a, b = part.lo - self.base, part.hi - self.base
        self.model_step[a:b], self.diverged_at[a:b] = part.model_step, part.diverged_at
        part.model_step, part.diverged_at = self.model_step[a:b], self.diverged_at[a:b]
        part.net.ws = self.ws
        self.parts = sorted([*self.parts, part], key=lambda p: p.lo)

    def take(self, lo: int) -> list[_Part]:
        """Give up the parts of models lo and after (to move them elsewhere)."""
        out = [part for part in self.parts if part.lo >= lo]
        self.parts = [part for part in self.parts if part.lo < lo]
        return out

    def train(self, step: int, steps: int) -> int:
        """Train every part; the most steps one took."""
        return max(part.train(step, steps) for part in self.parts)

    def evaluate(self) -> list[tuple[int, np.ndarray, np.ndarray]]:
        """(lo, loss, accuracy) of each part's models."""
        return [(part.lo, *part.evaluate()) for part in self.parts]

    def alive(self) -> list[tuple[int, torch.Tensor]]:
        """(lo, alive) of each part."""
        return [(part.lo, part.alive) for part in self.parts]

    def close(self) -> None:
        self.ws.clear()


def _serve_fd(fd: int) -> None:
    """Entry point of a helper process (_Helper): serve the socket it was given."""
    _serve(Connection(fd))


def _serve(conn) -> None:
    """A helper process: trains one _Group at a time for the SweepJob that holds it, until EOF.

    Its arrays cover models base:base+n of the job; the job copies them after each request.
    """
    torch.set_num_threads(1)
    keep_freed_memory()
    group = None
    while True:
        try:
            verb, *args = conn.recv()
        except (EOFError, OSError):  # its process has gone
            return
        try:
            reply = None
            if verb == "adopt":  # parts: new ones (configs, cuts) or moved ones (a pickle)
                base, n, what = args
                group = _Group(np.zeros(n, np.int64), np.full(n, -1, np.int64), base)
                if isinstance(what, bytes):
                    parts = pickle.loads(what)
                else:
                    configs, cuts = what
                    parts = [_Part(configs[a:b], a) for a, b in itertools.pairwise(cuts)]
                for part in parts:
                    group.add(part)
                reply = time.process_time()
            elif verb == "train":
                with fast_matmul():
                    taken = group.train(*args)
                alive = [(lo, a.numpy()) for lo, a in group.alive()]
                reply = (taken, group.model_step, group.diverged_at, alive, time.process_time())
            elif verb == "evaluate":
                with fast_matmul():
                    reply = group.evaluate()
            elif verb == "export":  # its parts, to go on in the job's process
                reply = pickle.dumps(group.parts)
                group.close()
                group = None
            elif group is not None:  # "drop": the job is over; wait for the next one
                group.close()
                group = None
            conn.send(("ok", reply))
        except Exception as exc:  # the job's error, raised in the job's process
            traceback.print_exc()
            conn.send(("error", f"{type(exc).__name__}: {exc}"))


GONE = "a sweep's helper process ended unexpectedly"
KEEP_HELPERS = 2  # idle helper processes kept for the next sweep (each ~200 MB with torch)


class _Helper:
    """A process that trains a SweepJob's models on another core; reused by later sweeps.

    Starting one costs ~2 s (a new interpreter imports torch), and its first steps of a new
    shape compile oneDNN kernels, so an ended sweep's helper waits for the next (KEEP_HELPERS).
    """

    _idle: ClassVar[list[_Helper]] = []
    _lock: ClassVar[threading.Lock] = threading.Lock()

    def __init__(self):
        # A plain child process, not multiprocessing's: the pool's worker processes are
        # daemonic, and multiprocessing refuses them children. No fork either (the server and
        # pytest have threads). It talks over a socket pair and ends when this process does
        # (its end then reads EOF).
        ours, theirs = socket.socketpair()
        root = str(Path(__file__).resolve().parent.parent)
        env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join([root, os.environ.get("PYTHONPATH", "")]),
        }
        self.proc = subprocess.Popen(
            [sys.executable, "-c", f"import bnviz.sweep as s; s._serve_fd({theirs.fileno()})"],
            pass_fds=[theirs.fileno()], stdin=subprocess.DEVNULL, env=env, cwd=root,
        )  # fmt: skip
        theirs.close()
        self.conn = Connection(ours.detach())

    @classmethod
    def take(cls) -> _Helper:
        """An idle helper, or a new one."""
        with cls._lock:
            while cls._idle:
                helper = cls._idle.pop()
                if helper.proc.poll() is None:
                    return helper
        return cls()

    def give_back(self) -> None:
        """Drop its models and keep it for the next sweep (or end it)."""
        try:
            self.ask("drop")
            self.answer()
        except RuntimeError:
            self.end()
            return
        with self._lock:
            if len(self._idle) < KEEP_HELPERS:
                self._idle.append(self)
                return
        self.end()

    def ask(self, verb: str, *args) -> None:
        try:
            self.conn.send((verb, *args))
        except OSError:
            raise RuntimeError(GONE) from None

    def answer(self):
        try:
            status, reply = self.conn.recv()
        except (EOFError, OSError):
            raise RuntimeError(GONE) from None
        if status == "error":
            raise RuntimeError(reply)
        return reply

    def end(self) -> None:
        self.conn.close()  # its recv() sees EOF
        try:
            self.proc.wait(1.0)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(1.0)


class _Remote:
    """Models lo:hi of a sweep trained by a helper process: a second core, no shared GIL.

    Two Python threads of one process, each stepping 32 models, were ~30 % slower than two
    processes (measured: 3.39 vs 2.59 ms per step of 64 models): every torch op hands the GIL
    over twice. Requests are sent before this process trains its own group and answered
    after, so both cores work at once; a slice costs one round trip.
    what: (configs, cuts) to build its parts, or a pickle of parts that move there.
    """

    def __init__(self, lo: int, hi: int, what, job: SweepJob):
        self.lo, self.hi, self.job = lo, hi, job
        self.helper = _Helper.take()
        self._alive = [(lo, torch.ones(hi - lo, dtype=torch.bool))]
        self.pending = 0  # requests sent, not yet answered
        try:
            self.ask("adopt", lo, hi - lo, what)
            self.cpu_s = self.answer()  # the helper's CPU seconds (its process's), as of now
        except RuntimeError:  # no job holds it yet: end it here
            self.helper.end()
            raise

    def ask(self, verb: str, *args) -> None:
        self.helper.ask(verb, *args)
        self.pending += 1

    def answer(self):
        self.pending -= 1
        return self.helper.answer()

    def alive(self) -> list[tuple[int, torch.Tensor]]:
        return self._alive

    def train_done(self) -> int:
        """The answer to "train": copies its models' progress into the job's arrays."""
        taken, model_step, diverged_at, alive, self.cpu_s = self.answer()
        self._alive = [(lo, torch.from_numpy(a)) for lo, a in alive]
        self.job.model_step[self.lo : self.hi] = model_step
        self.job.diverged_at[self.lo : self.hi] = diverged_at
        return taken

    def evaluate_done(self) -> list[tuple[int, np.ndarray, np.ndarray]]:
        return self.answer()

    def export(self) -> list[_Part]:
        """Its parts, with their progress, to train elsewhere; the helper is given back."""
        self.ask("export")
        parts = pickle.loads(self.answer())
        self.close()
        return parts

    def close(self) -> None:
        """Give the helper back, once it has answered what it was asked (an error here may
        have left a request unread)."""
        try:
            while self.pending:
                self.answer()
        except RuntimeError:
            self.helper.end()
            return
        self.helper.give_back()


class SweepJob(Paced):
    """All models of a sweep, advanced together in slices: the scheduler's unit of work.

    The models are split into parts of at most BLOCK, each with its own data order, weights
    and optimizer; a part runs a slice's steps in a row, so its tensors stay in cache (256
    models: 4 parts of 64 no slower than 1 of 256, at times ~20 % faster; parts of 16 are
    slower, the per-step Python cost then shows).

    cores=2 (and at least 2 x PER_CORE models) trains the second half of the parts in a
    helper process (_Remote); the two meet only at evaluations and at the end of a slice.
    When the second core is busy with other work (the pool's other worker training), the
    helper falls behind and both would wait for it: when other processes kept OTHER_BUSY of a
    core busy over the last LOAD_CHECK_S, or the helper lagged SLOW_SLICES slices in a row,
    its parts move here (one core, as with cores=1); they move out again once a core was
    idle over OUT_CHECK_S. Results do not depend on where a part trains. Use it with
    torch.set_num_threads(1). close() gives the helper back (as finishing does).
    """

    def __init__(
        self,
        job_id: str,
        configs: tuple[RunConfig, ...],
        steps: int | None = None,
        cores: int = 1,
    ):
        self.run_id, self.configs = job_id, tuple(configs)
        self.steps = steps if steps is not None else configs[0].steps
        self._paused_s, self._paused_at = 0.0, None  # time spent paused (not in the wall time)
        self._state, self.error, self.step = "running", None, 0
        n = len(configs)
        self.cores = max(1, min(int(cores), 2, n // PER_CORE))
        self.model_step = np.zeros(n, np.int64)
        self.diverged_at = np.full(n, -1, np.int64)
        self.local = _Group(self.model_step, self.diverged_at)  # the parts this process trains
        self.remote: _Remote | None = None  # the parts a helper process trains (cores=2)
        self.split = n  # first model of the parts that train in a helper when there is one
        self._slow = 0  # slices in a row in which the helper lagged (see LAG)
        self._meter: CpuMeter | None = None  # the machine's load, while it has a helper or had
        self._looked_at = 0.0  # monotonic time of the meter's last reading
        self._helper_cpu = 0.0  # the helper's CPU seconds at that reading
        self.moves = 0  # times parts moved between processes (to or from the helper)
        self.final = np.full((2, n), np.nan, np.float32)
        self.evals = History(EVAL_CAPACITY, {"train_loss": (n,), "test_acc": (n,)})
        self._rate, self._mark = 0.0, (time.monotonic(), 0)
        self._began: float | None = None  # monotonic time of the first step
        self._ended: float | None = None
        self._busy_s = 0.0  # seconds spent training (advance), not waiting for the pace
        self._step_s = 0.0  # recent seconds per step: how many steps fit in a slice
        self.pace: float | None = None  # steps/s cap (classroom pace), None = full speed
        self._pace_mark = (time.monotonic(), 0)
        self._guard(self._build)

    def _build(self) -> None:
        n = len(self.configs)
        per_core = math.ceil(math.ceil(n / BLOCK) / self.cores)
        cuts = np.linspace(0, n, self.cores * per_core + 1).round().astype(int).tolist()
        for a, b in itertools.pairwise(cuts[: per_core + 1]):
            self.local.add(_Part(self.configs[a:b], a))
        if self.cores == 2:
            self.split = cuts[per_core]
            self.remote = _Remote(self.split, n, (self.configs, cuts[per_core:]), self)
            self._meter, self._looked_at = CpuMeter(), time.monotonic()
            self._helper_cpu = self.remote.cpu_s

    @property
    def parts(self) -> list[_Part]:
        """The parts trained in this process."""
        return self.local.parts

    def _in_order(self, pieces: list[tuple]) -> list[tuple]:
        return sorted(pieces, key=lambda piece: piece[0])

    @property
    def alive(self) -> torch.Tensor:
        """(N,) True for the models still training."""
        pieces = self.local.alive() + (self.remote.alive() if self.remote else [])
        if not pieces:
            return torch.zeros(0, dtype=torch.bool)
        return torch.cat([a for _, a in self._in_order(pieces)])

    def _guard(self, fn, *args):
        """Run fn; an exception becomes the job's error state, never a dead worker."""
        try:
            return fn(*args)
        except Exception as exc:  # shown on the page, never kills a worker
            self.state, self.error = "error", f"{type(exc).__name__}: {exc}"
            traceback.print_exc()
            self.close()
        return None

    def evaluate(self) -> tuple[np.ndarray, np.ndarray]:
        """Training-set loss and test accuracy of every model (eval mode): (N,), (N,)."""
        if self.remote:
            self.remote.ask("evaluate")
        with fast_matmul():
            pieces = self.local.evaluate()
        if self.remote:
            pieces += self.remote.evaluate_done()
        pieces = self._in_order(pieces)
        return np.concatenate([p[1] for p in pieces]), np.concatenate([p[2] for p in pieces])

    def _train_all(self, step: int, steps: int) -> int:
        """Every part trains from `step` for `steps` steps; the most taken."""
        if self.remote is None:
            taken = self.local.train(step, steps) if self.local.parts else 0
            if self._look(OUT_CHECK_S) and self._usage.idle >= IDLE_CORE:
                self.move_out()
            return taken
        self.remote.ask("train", step, steps)
        start = _clock()
        taken = self.local.train(step, steps) if self.local.parts else 0
        ours = _clock() - start
        taken = max(taken, self.remote.train_done())
        waited = _clock() - start - ours
        self._slow = self._slow + 1 if waited > LAG * ours and ours > MIN_SLICE_S else 0
        if self._slow >= SLOW_SLICES or (self._look(LOAD_CHECK_S) and self._others() >= OTHER_BUSY):
            self.move_home()
        return taken

    def _look(self, every: float) -> bool:
        """Read the load meter if `every` seconds have passed (then True, in self._usage)."""
        if self._meter is None or time.monotonic() - self._looked_at < every:
            return False
        self._looked_at, self._usage = time.monotonic(), self._meter.read()
        return self._usage is not None

    def _others(self) -> float:
        """Cores busy with other processes than this one and its helper, since the last look."""
        helper_cpu, self._helper_cpu = self.remote.cpu_s - self._helper_cpu, self.remote.cpu_s
        return self._usage.busy - self._usage.own - helper_cpu / self._usage.seconds

    def move_home(self) -> None:
        """Train the helper's parts here from now on (its core is busy)."""
        for part in self.remote.export():
            self.local.add(part)
        self.remote, self._slow, self.moves = None, 0, self.moves + 1
        self._meter.read()  # the next look measures from here
        self._looked_at = time.monotonic()

    def move_out(self) -> None:
        """Train the parts past `split` in a helper process again."""
        parts = self.local.take(self.split)
        self.remote = _Remote(self.split, len(self.configs), pickle.dumps(parts), self)
        self._helper_cpu, self.moves = self.remote.cpu_s, self.moves + 1
        self._meter.read()
        self._looked_at = time.monotonic()

    def _record_eval(self) -> None:
        loss, acc = self.evaluate()
        self.evals.append(self.step, {"train_loss": loss, "test_acc": acc})

    def _train(self, most: int) -> None:
        """Evaluate if due, then up to `most` steps, stopping before the next evaluation."""
        s, every = self.step, self.configs[0].eval_every
        if s == 0 or self.evals.wants(s, every):
            self._record_eval()
        n = 1
        while n < most and not self.evals.wants(s + n, every):
            n += 1
        self.step = s + self._train_all(s, n)

    def advance(self, budget_s: float = math.inf, max_steps: int | None = None) -> int:
        """Train every model for up to budget_s seconds (or max_steps, or what the pace
        allows); returns the steps taken."""
        if self.state in TERMINAL:
            return 0
        start, first = time.perf_counter(), self.step
        if self._began is None:  # a pause before the first step is not the run's time
            self._began, self._paused_s = time.monotonic(), 0.0
        limit = self.steps - self.step
        for cap in (max_steps, self._paced() if max_steps is None else None):
            limit = limit if cap is None else min(limit, cap)
        with fast_matmul():
            while self.step - first < limit and self.state not in TERMINAL and self.alive.any():
                left = budget_s - (time.perf_counter() - start)
                most = limit - (self.step - first)
                if self._step_s > 0 and left < math.inf:
                    most = max(1, min(most, int(left / self._step_s)))
                t0, s0 = time.perf_counter(), self.step
                self._guard(self._train, most)
                if self.step > s0:
                    self._step_s = (time.perf_counter() - t0) / (self.step - s0)
                if time.perf_counter() - start >= budget_s:
                    break
            if (self.step >= self.steps or not self.alive.any()) and self.state not in TERMINAL:
                self._guard(self._finish)
        self._busy_s += time.perf_counter() - start
        return self.step - first

    def _finish(self) -> None:
        if self.alive.any():
            self._record_eval()
            last = self.evals.view()
            self.final = np.stack([last["train_loss"][-1], last["test_acc"][-1]])
        self.state = "finished"
        self._ended = time.monotonic()
        self.close()

    def close(self) -> None:
        """Free the buffers and give the helper back (the job cannot train after)."""
        self.local.close()
        if self.remote is not None:
            self.remote.close()
            self.remote = None
        self._meter = None

    def snapshot(self) -> SweepSnapshot:
        """An immutable copy of the per-model tables."""
        now = time.monotonic()
        t0, s0 = self._mark
        if now - t0 >= 0.2:
            self._rate = (self.step - s0) / (now - t0) if self.state == "running" else 0.0
            self._mark = (now, self.step)
        ev = self.evals.view()
        states = np.where(
            self.diverged_at >= 0, "diverged", "finished" if self.state == "finished" else "running"
        )
        return SweepSnapshot(
            self.run_id, self.state, self.step, self.steps, self._rate, time.time(), self.error,
            self.configs, ev["step"], ev["train_loss"].T.copy(), ev["test_acc"].T.copy(),
            self.final[0].copy(), self.final[1].copy(), states, self.model_step.copy(),
            self.diverged_at.copy(), wall_s=self._wall(now), busy_s=self._busy_s, pace=self.pace,
            cores=self.cores, moves=self.moves,
        )  # fmt: skip

    @property
    def state(self) -> str:
        return self._state

    @state.setter
    def state(self, value: str) -> None:
        """The pool pauses and resumes a job by setting its state: the time between is kept
        out of the wall time (audit 33: "spread over 53 s at classroom pace" for a run that
        trained 20 s and waited paused for the rest)."""
        now = time.monotonic()
        if value == "paused" and self._state != "paused":
            self._paused_at = now
        elif value != "paused" and self._paused_at is not None:
            self._paused_s += now - self._paused_at
            self._paused_at = None
        self._state = value

    def _wall(self, now: float) -> float:
        """Seconds since the first step (until the end, once finished), less the time paused."""
        if self._began is None:
            return 0.0
        end = self._ended if self._ended is not None else now
        paused = self._paused_s + (end - self._paused_at if self._paused_at is not None else 0.0)
        return max(0.0, end - self._began - paused)


def train_sweep(
    base: RunConfig, changes: list[dict], steps: int | None = None, cores: int = 1
) -> SweepResult:
    """Train one model per change, all at once, in the caller's thread (tests, notebooks).

    cores > 1: the models of every core after the first in a helper process (see SweepJob).
    """
    job = SweepSpec(base, tuple(changes), steps).build("sweep", cores=cores)
    while job.state == "running":
        job.advance()
    if job.state == "error":
        raise RuntimeError(job.error)
    s = job.snapshot()
    return SweepResult(
        s.configs, s.eval_step, s.train_loss, s.test_acc, s.final_loss, s.final_acc,
        s.model_state, s.diverged_at,
    )  # fmt: skip
