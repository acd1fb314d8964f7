"""A run checkpointed at any step and restored in a fresh Stepper ends bit-identical."""

import random
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from bnviz.config import RunConfig
from bnviz.stepper import Stepper
from bnviz.store import MemoryStore, pack, unpack
from bnviz.store_sqlite import SQLiteStore

ROOT = Path(__file__).resolve().parent.parent
STEPS = 120
SMALL = dict(
    n_samples=200, depth=2, width=12, batch_size=32, steps=STEPS, log_every=7, eval_every=11
)
CASES = [
    dict(optimizer="sgd"),
    dict(optimizer="momentum", norm="batchnorm"),
    dict(optimizer="adam"),
    dict(optimizer="adam", norm="batchnorm", bn_placement="after", activation="relu"),
    dict(optimizer="momentum", activation="prelu", dataset="digits"),
    dict(optimizer="sgd", norm="batchnorm", bn_momentum=None, activation="maxout"),
    dict(optimizer="momentum", norm="batchnorm", bn_noise=0.5, weight_decay=0.01),
    dict(optimizer="adam", norm="batchnorm", dropout=0.3, activation="relu"),
]


def run_through(stepper: Stepper) -> Stepper:
    """Advance in uneven slices (as a worker does) until done."""
    while stepper.state == "running":
        stepper.advance(max_steps=13)
    return stepper


def assert_same(a: Stepper, b: Stepper) -> None:
    """Losses, evals and telemetry equal bit for bit (NaN where NaN), and the same weights."""
    sa, sb = a.snapshot(), b.snapshot()
    assert (sa.state, sa.step, sa.lr) == (sb.state, sb.step, sb.lr)
    for name in ("losses", "evals", "telemetry", "first_layer"):
        ha, hb = getattr(sa, name), getattr(sb, name)
        assert ha.keys() == hb.keys()
        for col in ha:
            np.testing.assert_array_equal(ha[col], hb[col], err_msg=f"{name}.{col}")
    wa, wb = a.trainer.model.state_dict(), b.trainer.model.state_dict()
    assert wa.keys() == wb.keys() and all(wa[k].equal(wb[k]) for k in wa)


@pytest.mark.parametrize("case", CASES, ids=lambda c: "-".join(map(str, c.values())))
def test_interrupted_run_is_bit_identical(case):
    cfg = RunConfig(**SMALL, **case)
    whole = run_through(Stepper("r", cfg))
    assert whole.state == "finished" and whole.trainer.evals.n > 5
    rng = random.Random(str(case))
    k1 = rng.randrange(1, STEPS - 1)  # awkward steps: mid-epoch, between samples
    k2 = rng.randrange(k1 + 1, STEPS)
    part = Stepper("r", cfg)
    part.advance(max_steps=k1)
    part.snapshot()  # a page looked at it (flushes telemetry) before the interruption
    blob = unpack(pack(part.checkpoint()))  # as it crosses a store
    del part
    again = Stepper.restore(blob)
    again.advance(max_steps=k2 - k1)
    resumed = run_through(Stepper.restore(again.checkpoint()))  # a second interruption
    assert resumed.step == STEPS
    assert_same(whole, resumed)


def test_restore_keeps_a_changed_learning_rate_and_pause():
    cfg = RunConfig(**SMALL)
    a = Stepper("r", cfg)
    a.advance(max_steps=30)
    a.set_lr(0.2)
    a.state = "paused"
    b = Stepper.restore(a.checkpoint())
    assert (b.state, b.step, b.trainer.lr) == ("paused", 30, 0.2)
    assert b.trainer.optimizer.param_groups[0]["lr"] == 0.2
    a.state = b.state = "running"
    assert_same(run_through(a), run_through(b))


@pytest.mark.parametrize("backend", ["memory", "sqlite"])
def test_resume_through_the_store_and_finished_round_trip(backend, tmp_path):
    store = MemoryStore() if backend == "memory" else SQLiteStore(tmp_path / "s.sqlite", 1 << 24)
    cfg = RunConfig(**SMALL, norm="batchnorm", optimizer="adam")
    whole = run_through(Stepper(cfg.key(), cfg))
    part = Stepper(cfg.key(), cfg)
    part.advance(max_steps=57)
    store.checkpoint(cfg.key(), part.checkpoint())
    resumed = run_through(Stepper.restore(store.resume(cfg.key())))
    assert_same(whole, resumed)
    final = resumed.snapshot()
    store.put_finished(cfg.key(), final)
    assert store.resume(cfg.key()) is None  # finished: the checkpoint is dropped
    back = store.get_finished(cfg.key())
    for field in ("run_id", "config", "state", "step", "steps", "lr", "error", "diverged_at"):
        assert getattr(back, field) == getattr(final, field)
    for name in ("losses", "evals", "telemetry", "boundary"):
        ha, hb = getattr(final, name), getattr(back, name)
        assert ha.keys() == hb.keys()
        for col in ha:
            np.testing.assert_array_equal(ha[col], hb[col])
            assert ha[col].dtype == hb[col].dtype
    store.close()


def test_a_checkpoint_of_another_engine_version_is_refused(monkeypatch):
    blob = Stepper("r", RunConfig(**SMALL)).checkpoint()
    monkeypatch.setattr("bnviz.stepper.ENGINE_VERSION", "next")
    with pytest.raises(ValueError):
        Stepper.restore(blob)


RESUMER = """
import sys
sys.path.insert(0, {root!r})
import torch
torch.set_num_threads(1)
from bnviz.stepper import Stepper
from bnviz.store_sqlite import SQLiteStore
store = SQLiteStore({path!r}, 1 << 26)
run = Stepper.restore(store.resume({key!r}))
while run.state == "running":
    run.advance(max_steps=50)
store.put_finished({key!r}, run.snapshot())
"""


def test_a_fresh_process_resumes_from_the_store_bit_identical(tmp_path):
    """The server restarts: a new interpreter continues a run another one checkpointed."""
    cfg = RunConfig(**SMALL, norm="batchnorm", optimizer="adam", activation="relu")
    path = str(tmp_path / "runs.sqlite")
    store = SQLiteStore(path, 1 << 26)
    part = Stepper(cfg.key(), cfg)
    part.advance(max_steps=71)
    store.checkpoint(cfg.key(), part.checkpoint())
    script = RESUMER.format(root=str(ROOT), path=path, key=cfg.key())
    subprocess.run([sys.executable, "-c", script], check=True, timeout=120)
    done = store.get_finished(cfg.key())
    whole = run_through(Stepper(cfg.key(), cfg)).snapshot()
    assert done.state == "finished" and done.step == STEPS
    for name in ("losses", "evals", "telemetry", "first_layer"):
        for col in getattr(whole, name):
            np.testing.assert_array_equal(getattr(whole, name)[col], getattr(done, name)[col])
    store.close()


def test_a_checkpoint_with_unknown_settings_is_refused():
    saved = unpack(Stepper("r", RunConfig(**SMALL)).checkpoint())
    saved["cfg"]["renamed_setting"] = 1
    with pytest.raises(ValueError):
        Stepper.restore(pack(saved))
