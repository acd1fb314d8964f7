"""Sweeps: model i of a sweep is the run train_sync(configs[i]); divergence, caps, snapshots."""

import os
import pickle
import time

import numpy as np
import pytest

from bnviz.config import RunConfig
from bnviz.runner import train_sync
from bnviz.sweep import MAX_MODELS, SweepJob, SweepSpec, train_sweep

# Short, non-chaotic runs: a 1e-7 change of one weight stays below 1e-5 of the loss here, so
# any larger gap is a real difference between the batched and the single-model code.
BASE = RunConfig(dataset="moons", n_samples=300, depth=2, width=16, steps=60, eval_every=20)
LR = {"sgd": 0.1, "momentum": 0.05, "adam": 0.01}


def _oracle(configs) -> tuple[np.ndarray, np.ndarray, list[str]]:
    snaps = [train_sync(c) for c in configs]
    loss = np.array([s.evals["train_loss"][-1] if s.state == "finished" else np.nan for s in snaps])
    acc = np.array([s.evals["test_acc"][-1] if s.state == "finished" else np.nan for s in snaps])
    return loss, acc, snaps


@pytest.mark.parametrize("optimizer", ["sgd", "momentum", "adam"])
@pytest.mark.parametrize("norm", ["none", "batchnorm"])
def test_each_model_is_the_single_run(optimizer, norm):
    base = BASE.replace(optimizer=optimizer, norm=norm, lr=LR[optimizer])
    changes = [
        {},
        {"lr": LR[optimizer] / 2, "seed": 1},
        {"init": "scaled", "init_scale": 1.5, "momentum": 0.5},
        {"norm": "none" if norm == "batchnorm" else "batchnorm", "seed": 2},
        {"batch_size": 32, "init": "he"},
    ]
    result = train_sweep(base, changes)
    loss, acc, _ = _oracle(result.configs)
    np.testing.assert_allclose(result.final_loss, loss, rtol=1e-4)
    np.testing.assert_allclose(result.final_acc, acc, atol=1e-6)
    assert list(result.step) == [0, 20, 40, 60]
    assert result.train_loss.shape == result.test_acc.shape == (5, 4)
    assert list(result.state) == ["finished"] * 5


ACTIVATIONS = ("sigmoid", "tanh", "relu", "leaky_relu", "prelu", "elu", "gelu", "silu", "maxout")


@pytest.mark.parametrize(
    "extra",
    [
        {},
        {"norm": "batchnorm", "bn_momentum": None},
        {"norm": "batchnorm", "bn_placement": "after"},
    ],
)
def test_every_activation_and_bn_placement_is_the_single_run(extra):
    """The hand-written backward of each activation and BN placement, with padded batches."""
    for activation in ACTIVATIONS:
        base = BASE.replace(
            activation=activation, optimizer="momentum", lr=0.05, steps=20, leaky_slope=0.2, **extra
        )
        changes = [{}, {"seed": 3, "batch_size": 24}, {"norm": "none", "lr": 0.1}]
        result = train_sweep(base, changes)
        np.testing.assert_allclose(
            result.final_loss, _oracle(result.configs)[0], rtol=1e-4, err_msg=activation
        )


def test_a_diverged_model_is_masked_and_marked_at_the_same_step():
    base = BASE.replace(optimizer="sgd", lr=0.1, steps=40, depth=3, activation="relu")
    result = train_sweep(base, [{}, {"lr": 10.0}, {"seed": 1}])
    loss, _, snaps = _oracle(result.configs)
    assert list(result.state) == ["finished", "diverged", "finished"]
    assert snaps[1].state == "diverged" and result.diverged_at[1] == snaps[1].diverged_at
    assert np.isnan(result.final_loss[1]) and np.isfinite(result.train_loss[[0, 2]]).all()
    np.testing.assert_allclose(result.final_loss[[0, 2]], loss[[0, 2]], rtol=1e-4)


def test_architecture_and_dataset_are_shared():
    with pytest.raises(ValueError, match="depth differs"):
        SweepSpec(BASE, ({}, {"depth": 3}), None)
    with pytest.raises(ValueError, match="dataset differs"):
        SweepSpec(BASE, ({}, {"dataset": "spirals"}), None)
    with pytest.raises(ValueError, match="MAX_MODELS"):
        SweepSpec(BASE, tuple({"seed": i} for i in range(MAX_MODELS + 1)), None)
    with pytest.raises(ValueError, match="MAX_MODEL_STEPS"):
        SweepSpec(BASE, tuple({"seed": i} for i in range(200)), 10_000)
    for change in ({"dropout": 0.5}, {"weight_decay": 1e-3}, {"norm": "batchnorm", "bn_noise": 1}):
        with pytest.raises(ValueError, match="do not implement"):
            SweepSpec(BASE.replace(**change), ({}, {"lr": 0.2}), None)
    SweepSpec(BASE.replace(bn_noise=1.0), ({}, {"lr": 0.2}), None)  # no BN: no noise to add


def test_spec_key_is_stable_and_counts_what_matters():
    a = SweepSpec(BASE, ({"lr": 0.1, "seed": 1}, {"lr": 0.2}), 50)
    same = SweepSpec(BASE, ({"seed": 1, "lr": 0.1}, {"lr": 0.2}), 50)
    assert a.key() == same.key() and hash(a) == hash(same)
    assert a.key() != SweepSpec(BASE, ({"lr": 0.1, "seed": 1}, {"lr": 0.3}), 50).key()
    assert a.key() != SweepSpec(BASE, ({"lr": 0.1, "seed": 1}, {"lr": 0.2}), 60).key()
    assert pickle.loads(pickle.dumps(a)) == a


def test_job_advances_in_slices_and_snapshots_are_frozen_arrays():
    job = SweepSpec(BASE, ({}, {"lr": 0.2}), 50).build("j1")
    assert isinstance(job, SweepJob) and job.state == "running" and job.steps == 50
    assert job.advance(max_steps=7) == 7 and job.step == 7
    snap = job.snapshot()
    assert snap.run_id == "j1" and snap.progress == pytest.approx(7 / 50) and not snap.done
    assert list(snap.model_state) == ["running"] * 2 and list(snap.model_step) == [7, 7]
    while job.state == "running":
        job.advance(budget_s=0.05)
    snap = pickle.loads(pickle.dumps(job.snapshot()))
    assert snap.done and snap.state == "finished" and snap.step == 50
    assert np.isfinite(snap.final_loss).all() and job.advance() == 0


def test_snapshot_of_a_big_sweep_stays_small():
    job = SweepSpec(
        BASE.replace(eval_every=1, width=4), tuple({"seed": i} for i in range(256)), 2000
    )
    job = job.build("big")
    job.advance(max_steps=300)  # past EVAL_CAPACITY evaluations: the history was thinned
    snap = job.snapshot()
    assert snap.train_loss.shape[0] == 256 and snap.train_loss.shape[1] <= 128
    assert len(pickle.dumps(snap)) < 1_000_000


def test_a_spec_resolves_its_steps_and_keys_by_them():
    spec = SweepSpec(BASE, ({"lr": 0.1}, {"lr": 0.2}))
    assert spec.steps == BASE.steps and isinstance(spec.steps, int)
    assert SweepSpec(BASE, ({"lr": 0.1}, {"lr": 0.2}), BASE.steps).key() == spec.key()
    assert SweepSpec(BASE, ({"lr": 0.1}, {"lr": 0.2}), 30).key() != spec.key()
    assert all(c.steps == 30 for c in SweepSpec(BASE, ({},), 30).configs())


@pytest.mark.parametrize("backend", ["thread", "process"])
def test_a_sweep_runs_through_the_scheduler_as_one_shared_job(backend):
    from bnviz.runner import Scheduler
    from bnviz.sweep import SweepSnapshot

    s = Scheduler(workers=1, backend=backend, warm=False, snapshot_s=0.05)
    try:
        spec = SweepSpec(BASE.replace(steps=40), tuple({"lr": lr} for lr in (0.01, 0.1, 0.3)))
        run = s.start(spec, "s", "sweep")
        assert run.steps == 40 and len(s.book.open_runs("s")) == 1  # 3 models, one slot
        assert s.start(spec, "t", "sweep") is run  # shared by key
        deadline = time.monotonic() + 120
        while not s.poll(run.run_id).done and time.monotonic() < deadline:
            time.sleep(0.05)
        snap = s.poll(run.run_id)
        assert isinstance(snap, SweepSnapshot) and snap.state == "finished"
        assert snap.step == 40 and snap.progress == 1.0 and 0 < snap.busy_s <= snap.wall_s + 0.01
        assert len(s.runs) == 1  # one job, not one per model
        direct = train_sweep(spec.base, [dict(c) for c in spec.changes])
        np.testing.assert_allclose(snap.final_loss, direct.final_loss, rtol=1e-4)
    finally:
        s.shutdown()


def test_a_worker_process_trains_a_big_sweep_on_two_cores():
    """The app's case: a worker process (daemonic) starts the helper process itself."""
    from bnviz.pool import SWEEP_CORES
    from bnviz.runner import Scheduler

    s = Scheduler(workers=1, backend="process", warm=False, snapshot_s=0.05)
    try:
        base = BASE.replace(steps=30, depth=1, width=8)
        spec = SweepSpec(base, tuple({"lr": float(lr)} for lr in np.geomspace(0.01, 1, 64)))
        run = s.start(spec, "s", "sweep")
        deadline = time.monotonic() + 120
        while not s.poll(run.run_id).done and time.monotonic() < deadline:
            time.sleep(0.05)
        snap = s.poll(run.run_id)
        assert snap.state == "finished", snap.error
        assert snap.cores == SWEEP_CORES == min(2, os.cpu_count())  # the pool's default
        direct = train_sweep(spec.base, [dict(c) for c in spec.changes])
        np.testing.assert_allclose(snap.final_loss, direct.final_loss, rtol=1e-4)
    finally:
        s.shutdown()


def test_cores_and_parts_split_the_models_not_the_results(monkeypatch):
    import bnviz.sweep as sweep

    monkeypatch.setattr(sweep, "BLOCK", 2)  # 5 models: 4 parts of 1-2 models, 2 per core
    monkeypatch.setattr(sweep, "PER_CORE", 1)
    base = BASE.replace(optimizer="sgd", lr=0.1, steps=40, depth=3, activation="relu")
    changes = [{}, {"lr": 10.0}, {"seed": 1}, {"batch_size": 32}, {"norm": "batchnorm"}]
    job = SweepSpec(base, tuple(changes), None).build("t", cores=2)
    assert [len(p.alive) for p in job.parts] == [1, 1]  # this process: models 0 and 1
    remote = job.remote  # models 2-4 in a helper process (it builds its own 2 parts)
    assert (remote.lo, remote.hi) == (2, 5) and remote.helper.proc.poll() is None
    while job.state == "running":
        job.advance(budget_s=0.01)
    assert remote.helper in sweep._Helper._idle  # finished: kept for the next sweep
    again = SweepSpec(base, tuple(changes), None).build("t2", cores=2)
    assert again.remote.helper is remote.helper
    again.close()
    split = job.snapshot()
    whole = train_sweep(base, changes)
    loss, _, snaps = _oracle(whole.configs)
    assert list(split.model_state) == ["finished", "diverged", "finished", "finished", "finished"]
    assert split.diverged_at[1] == snaps[1].diverged_at == whole.diverged_at[1]  # part 2 ended
    np.testing.assert_allclose(split.final_loss, whole.final_loss, rtol=1e-5)
    np.testing.assert_allclose(split.final_loss, loss, rtol=1e-4)
    np.testing.assert_array_equal(split.eval_step, whole.step)
    assert list(split.model_step) == [40, snaps[1].diverged_at - 1, 40, 40, 40]


def test_a_dead_helper_is_the_jobs_error_and_a_stopped_sweep_frees_its_helper(monkeypatch):
    import bnviz.sweep as sweep

    monkeypatch.setattr(sweep, "PER_CORE", 1)
    base = BASE.replace(steps=400)
    job = SweepSpec(base, ({}, {"lr": 0.2}), None).build("t", cores=2)
    helper = job.remote.helper
    job.advance(max_steps=3)
    assert job.step == 3 and helper.proc.poll() is None
    helper.proc.kill()
    helper.proc.wait(5)
    job.advance(max_steps=3)  # a worker must not die with it: the job shows the error
    assert job.state == "error" and job.error == f"RuntimeError: {sweep.GONE}"
    assert helper not in sweep._Helper._idle
    job = SweepSpec(base, ({}, {"lr": 0.2}), None).build("u", cores=2)
    remote = job.remote
    remote.ask("train", 0, 5)  # as if stopped between a request and its answer
    job.close()  # what the worker calls when it forgets a stopped job
    assert remote.pending == 0 and remote.helper in sweep._Helper._idle
    again = SweepSpec(base, ({}, {"lr": 0.2}), 10).build("v", cores=2)
    assert again.remote.helper is remote.helper  # in step with its new job
    while again.state == "running":
        again.advance()
    np.testing.assert_allclose(
        again.snapshot().final_loss, train_sweep(base, [{}, {"lr": 0.2}], 10).final_loss, rtol=1e-6
    )


def test_parts_move_home_when_the_other_core_is_busy_and_out_when_it_is_free(monkeypatch):
    """A helper that lags, or other processes busy on the machine, bring its parts home; a
    free core sends them out again. The moves keep every model's weights, optimizer, batches
    and progress: the results are those of a sweep that never moved."""
    import bnviz.sweep as sweep
    from bnviz.procs import Usage

    monkeypatch.setattr(sweep, "BLOCK", 2)
    monkeypatch.setattr(sweep, "PER_CORE", 1)
    load = {"now": Usage(1.0, busy=0.0, idle=2.0, own=0.0)}  # nothing else runs
    monkeypatch.setattr(sweep.CpuMeter, "read", lambda self: load["now"])
    base = BASE.replace(optimizer="momentum", lr=0.05, steps=80, norm="batchnorm")
    changes = [{}, {"lr": 0.1}, {"seed": 1}, {"batch_size": 32}, {"lr": 9.0, "norm": "none"}]
    job = SweepSpec(base, tuple(changes), None).build("m", cores=2)
    job.advance(max_steps=25)  # an evaluation at 20 with the parts split
    assert job.remote is not None and job.moves == 0
    ticks = iter([0.0, 1.0, 3.5] * sweep.SLOW_SLICES)  # ours: 1 s, then 2.5 s waiting
    monkeypatch.setattr(sweep, "_clock", lambda: next(ticks))
    job._slow = 0  # slices that really lagged above (a busy machine) must not count here
    for _ in range(sweep.SLOW_SLICES):
        assert job.remote is not None
        job._train_all(job.step, 1)
        job.step += 1
    monkeypatch.setattr(sweep, "_clock", time.perf_counter)
    assert job.remote is None and job.moves == 1 and len(job.parts) == 4  # the helper lagged
    job.advance(max_steps=7)  # at home: an evaluation at 40
    assert job.remote is None  # not OUT_CHECK_S yet
    job._looked_at -= sweep.OUT_CHECK_S
    job.advance(max_steps=1)
    assert job.remote is not None and job.moves == 2 and len(job.parts) == 2  # a core was idle
    job.advance(max_steps=15)  # out: an evaluation at 60
    load["now"] = Usage(1.0, busy=2.0, idle=0.0, own=0.5)  # another process takes a core
    job._looked_at -= sweep.LOAD_CHECK_S
    job.advance(max_steps=1)
    assert job.remote is None and job.moves == 3  # home again
    while job.state == "running":
        job.advance()
    moved, still = job.snapshot(), train_sweep(base, changes)
    np.testing.assert_array_equal(moved.eval_step, still.step)
    np.testing.assert_allclose(moved.train_loss, still.train_loss, rtol=1e-6)
    np.testing.assert_array_equal(moved.diverged_at, still.diverged_at)
    assert list(moved.model_state) == list(still.state)


def test_the_cpu_meter_sees_this_process_work():
    from bnviz.procs import CpuMeter

    cpu, wall = time.process_time(), time.monotonic()
    meter = CpuMeter()
    end = time.process_time() + 0.3
    while time.process_time() < end:
        pass
    usage = meter.read()
    cpu, wall = time.process_time() - cpu, time.monotonic() - wall
    # this process's share of a core as measured around the meter (not a fixed share: on a
    # loaded machine a busy loop gets under half a core: 0.49 here beside a browser audit)
    assert usage.own == pytest.approx(cpu / wall, abs=0.05) and usage.own >= 0.3 / wall - 0.05
    assert usage.busy >= usage.own - 0.1 and 0 <= usage.idle <= 2.1


def test_a_paced_sweep_takes_only_the_steps_its_pace_allows(monkeypatch):
    import bnviz.sweep as sweep

    clock = [100.0]
    monkeypatch.setattr(sweep.time, "monotonic", lambda: clock[0])
    job = SweepSpec(BASE, ({}, {"lr": 0.2}), 50).build("p")
    job.set_pace(10.0)  # steps per second
    assert job.advance() == 0  # no time has passed
    clock[0] += 0.5
    assert job.advance() == 5 and job.step == 5
    clock[0] += 10.0  # 100 more allowed, 45 left
    job.set_pace(None)  # full speed again
    assert job.advance(max_steps=3) == 3
    job.set_pace(2.0)
    clock[0] += 1.0
    assert job.advance() == 2 and job.step == 10
    job.state = "paused"
    clock[0] += 100.0  # paused: the pool resyncs on resume, nothing is banked
    job.state = "running"
    job.resync()
    assert job.advance() == 0
    snap = job.snapshot()  # the page's "s of training": this server's work, not the pace's wait
    # and "spread over … s at classroom pace": the 11.5 s it ran, not the 100 s it was paused
    # (audit 33: 53 s for a 20 s run paused in between)
    assert 0 < snap.busy_s < 5 and snap.wall_s == pytest.approx(11.5), (snap.busy_s, snap.wall_s)
    job.state = "paused"
    clock[0] += 30.0
    assert job.snapshot().wall_s == pytest.approx(11.5)  # paused now: the clock stands still


def test_a_sweep_built_paused_counts_its_wall_time_from_its_first_step(monkeypatch):
    """The pool builds a job paused until a resume: that wait came off the wall time of the run
    that followed, to 0 s ("spread over 0 s at classroom pace")."""
    import bnviz.sweep as sweep

    clock = [100.0]
    monkeypatch.setattr(sweep.time, "monotonic", lambda: clock[0])
    job = SweepSpec(BASE, ({}, {"lr": 0.2}), 50).build("p")
    job.state = "paused"  # as Pool.build(paused=True)
    clock[0] += 100.0
    job.state = "running"
    job.set_pace(10.0)
    assert job.advance() == 0  # the clock starts at the first advance
    clock[0] += 2.0
    assert job.advance() == 20
    assert job.snapshot().wall_s == pytest.approx(2.0)


def test_onednn_matmuls_only_where_the_process_allows_them(monkeypatch):
    """The matmul setting is process-wide: in this process (tests, notebooks, the thread
    backend) a sweep must leave it alone, or a run stepping meanwhile stops being bit-identical
    to train_sync (seen in CI: a killed-worker test's train_sync after a page test's sweep)."""
    import torch

    from bnviz import stacked

    before = torch.backends.mkldnn.matmul.fp32_precision
    monkeypatch.delenv(stacked.FAST_MATMUL_ENV, raising=False)
    with stacked.fast_matmul():
        assert torch.backends.mkldnn.matmul.fp32_precision == before
    monkeypatch.setenv(stacked.FAST_MATMUL_ENV, "1")  # as bnviz.pool does in a worker process
    with stacked.fast_matmul():
        inside = torch.backends.mkldnn.matmul.fp32_precision
    assert inside == ("bf16" if stacked.onednn_keeps_fp32() else before)
    assert torch.backends.mkldnn.matmul.fp32_precision == before


def test_only_narrow_layers_leave_onednn():
    """2 inputs and 2 classes go through MKL (oneDNN's per-call cost dominates there); the
    digits' 64 inputs and 10 classes, like every hidden layer, keep the faster oneDNN."""
    from bnviz import stacked

    moons = stacked.StackedMLP([BASE], 2, 2)
    digits = stacked.StackedMLP([BASE], 64, 10)
    assert moons.mm == [stacked._narrow, stacked._call, stacked._narrow]
    assert digits.mm == [stacked._call] * 3
