"""The scheduler: sharing, quotas, controls, divergence, errors, idling, shutdown, memory."""

import math
import multiprocessing
import os
import signal
import threading
import time
import tracemalloc

import numpy as np
import pytest
from fake_job import FakeSnap, FakeSpec

from bnviz.config import RunConfig
from bnviz.jobs import JobStatus
from bnviz.runner import Busy, Quotas, Scheduler, train_sync
from bnviz.stepper import Stepper
from bnviz.train import Trainer

SMALL = RunConfig(depth=2, width=16, n_samples=200, steps=300, eval_every=50)


def wait_for(predicate, timeout=30.0):
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


@pytest.fixture
def sched():
    s = Scheduler(workers=2, backend="thread", warm=False, snapshot_s=0.05)
    yield s
    s.shutdown()


def test_same_config_is_one_shared_run(sched):
    runs = [sched.start(SMALL, f"student{i}", "a") for i in range(30)]
    assert len({id(r) for r in runs}) == 1
    assert sched.start(SMALL.replace(seed=9), "student0", "b") is not runs[0]
    wait_for(lambda: sched.poll(runs[0].run_id).done)
    snap = sched.poll(runs[0].run_id)
    assert snap.state == "finished"
    ref = train_sync(SMALL)
    assert np.array_equal(snap.losses["loss"], ref.losses["loss"])  # deterministic in a worker
    assert sched.start(SMALL, "late", "a") is runs[0]  # a late-comer gets the finished run


def test_quotas_refuse_or_queue(sched):
    sched.quotas = Quotas(max_running=1, max_per_session=2, max_runs=3)
    slow = SMALL.replace(steps=100_000)
    a = sched.start(slow, "s1", "a")
    b = sched.start(slow.replace(seed=1), "s1", "b")
    assert sched.poll(b.run_id).state == "queued" and sched.poll(b.run_id).queue_position == 1
    with pytest.raises(Busy) as err:
        sched.start(slow.replace(seed=2), "s1", "c")
    assert err.value.reason == "errors.session_quota"
    sched.start(slow.replace(seed=3), "s2", "a")
    with pytest.raises(Busy) as err:
        sched.start(slow.replace(seed=4), "s3", "a")
    assert err.value.reason == "errors.server_busy"
    sched.control(a.run_id, "stop")
    wait_for(lambda: sched.poll(b.run_id).state == "running")


def test_pause_resume_step_stop(sched):
    run = sched.start(SMALL.replace(steps=100_000), "s", "a")
    wait_for(lambda: sched.poll(run.run_id).step > 20)
    sched.control(run.run_id, "pause")
    wait_for(lambda: sched.poll(run.run_id).state == "paused")
    time.sleep(0.2)
    frozen = sched.poll(run.run_id).step
    time.sleep(0.3)
    assert sched.poll(run.run_id).step == frozen
    sched.control(run.run_id, "step", 1)
    wait_for(lambda: sched.poll(run.run_id).step == frozen + 1)
    assert sched.poll(run.run_id).state == "paused"
    sched.control(run.run_id, "resume")
    wait_for(lambda: sched.poll(run.run_id).step > frozen + 10)
    sched.control(run.run_id, "stop")
    wait_for(lambda: sched.poll(run.run_id).state == "stopped")


def test_a_run_started_paused_waits_at_step_0_and_steps_and_resumes(sched):
    """CI: a run started beside paused ones and paused right after had trained 22 steps by the
    time its worker read the pause. Started paused, no worker has it until it is acted on."""
    run = sched.start(SMALL.replace(steps=100_000), "s", "a", paused=True)
    assert run.state == "paused" and run.worker is None
    time.sleep(0.5)  # a run that was started trains many steps in this time
    assert sched.poll(run.run_id).state == "paused" and sched.poll(run.run_id).step == 0
    sched.control(run.run_id, "lr", 0.05)  # on a worker now, still paused
    sched.control(run.run_id, "step", 1)
    wait_for(lambda: sched.poll(run.run_id).step == 1)
    time.sleep(0.3)
    assert sched.poll(run.run_id).state == "paused" and sched.poll(run.run_id).step == 1
    assert sched.poll(run.run_id).lr == 0.05
    sched.control(run.run_id, "resume")
    wait_for(lambda: sched.poll(run.run_id).step > 10)
    other = sched.start(SMALL.replace(steps=100_000, seed=1), "s", "b", paused=True)
    sched.control(other.run_id, "resume")  # never on a worker: resumed, it starts
    wait_for(lambda: sched.poll(other.run_id).step > 10)


def test_a_run_s_pace_reaches_its_worker_with_its_start_and_survives_a_reset(sched):
    """Audit 21: of four runs started together at classroom pace, one stood at step 77 while
    the others were at step 5: the pace was sent after the start, and a worker that read the
    start first trained a slice at full speed. The pace now goes with the start."""
    sent = []
    send = sched.pool.send
    sched.pool.send = lambda worker, msg: (sent.append(msg), send(worker, msg))[1]
    run = sched.start(SMALL.replace(steps=100_000), "s", "a", pace=20.0)
    mine = [m for m in sent if m[1] == run.run_id]
    assert [m[0] for m in mine[:2]] == ["start", "pace"] and mine[1][2] == 20.0, sent
    time.sleep(1.0)
    assert sched.poll(run.run_id).step <= 20 * 1.0 + 5  # paced from its first step
    new = sched.reset(run.run_id, "s", "a")
    assert [m[2] for m in sent if m[1] == new.run_id and m[0] == "pace"] == [20.0], sent
    sched.control(new.run_id, "stop")


def test_a_pause_at_a_step_trains_on_to_it_and_pauses_there(sched):
    run = sched.start(SMALL.replace(steps=100_000), "s", "a", pace=200.0)
    wait_for(lambda: sched.poll(run.run_id).step > 10)
    target = sched.poll(run.run_id).step + 60
    sched.control(run.run_id, "pause", target)
    wait_for(lambda: sched.poll(run.run_id).state == "paused")
    assert sched.poll(run.run_id).step == target
    sched.control(run.run_id, "resume")
    wait_for(lambda: sched.poll(run.run_id).step > target + 10)
    sched.control(run.run_id, "pause", 1)  # a step behind it: paused at once, where it is
    wait_for(lambda: sched.poll(run.run_id).state == "paused")
    at = sched.poll(run.run_id).step
    time.sleep(0.3)
    assert sched.poll(run.run_id).step == at > target + 10
    sched.control(run.run_id, "resume")
    sched.control(run.run_id, "pause", at + 20)  # replaced by the resume after it: trains on
    sched.control(run.run_id, "resume")
    wait_for(lambda: sched.poll(run.run_id).step > at + 60)
    assert sched.poll(run.run_id).state == "running"
    sched.control(run.run_id, "stop")


def test_a_pause_at_a_step_too_far_pauses_where_the_run_is_after_a_wait(sched):
    """A page guesses the step its runs reach together from their rates; a load that slows
    them after the guess must not leave Pause without effect: a worker pauses a job where it
    is after PAUSE_WAIT_S (a test of three workers once saw a shared run go on for 30 s)."""
    from bnviz.pool import PAUSE_WAIT_S

    run = sched.start(SMALL.replace(steps=100_000, seed=12), "s", "a", pace=200.0)
    wait_for(lambda: sched.poll(run.run_id).step > 10)
    target = sched.poll(run.run_id).step + 50_000  # 250 s away at 200 steps/s
    sent = time.monotonic()
    sched.control(run.run_id, "pause", target)
    wait_for(lambda: sched.poll(run.run_id).state == "paused")
    assert time.monotonic() - sent < PAUSE_WAIT_S + 1.5
    at = sched.poll(run.run_id).step
    time.sleep(0.3)
    assert sched.poll(run.run_id).step == at < target
    sched.control(run.run_id, "stop")


def test_the_page_pauses_its_runs_a_little_past_where_the_furthest_is_now():
    from bnviz.stepper import Snapshot
    from bnviz.ui.live import PAUSE_LEAD_S, pause_step

    def snap(state, step, rate, age):
        return Snapshot("r", SMALL, state, step=step, steps_per_s=rate, taken_at=100.0 - age)

    # the furthest now: 300 + 0.5 s x 500 steps/s = 550 (its snapshot is half a second old),
    # not the other's 420; then as far as the fastest trains in the lead
    runs = [snap("running", 300, 500.0, 0.5), snap("running", 420, 100.0, 0.0)]
    assert pause_step(runs, now=100.0) == 550 + math.ceil(500 * PAUSE_LEAD_S) + 1
    assert pause_step([snap("paused", 300, 0.0, 0.0), None], now=100.0) is None


def test_a_pause_pressed_near_the_end_pauses_before_the_last_step():
    """Aimed past a run's last step, the runs finished instead of pausing (CI: the lab's
    90-step pair, paused late on a loaded machine, said "finished")."""
    from bnviz.stepper import Snapshot
    from bnviz.ui.live import PAUSE_LEAD_S, pause_step

    def snap(step, steps):
        return Snapshot("r", SMALL, "running", step=step, steps=steps, steps_per_s=10.0)

    now = 0.0  # taken_at 0: the snapshots are fresh
    assert pause_step([snap(86, 90), snap(87, 90)], now=now) == 89
    lead = math.ceil(10.0 * PAUSE_LEAD_S) + 1  # at 10 steps/s
    assert pause_step([snap(50, 90), snap(40, 200)], now=now) == 50 + lead  # far from the end
    assert pause_step([snap(86, 90), snap(40, 200)], now=now) == 89  # the shorter run's end
    assert pause_step([snap(0, 0)], now=now) == lead  # a snapshot without its length: not capped


def test_learning_rate_change_unshares_the_run(sched):
    cfg = SMALL.replace(steps=100_000)
    run = sched.start(cfg, "s", "a")
    sched.control(run.run_id, "lr", 0.5)
    wait_for(lambda: sched.poll(run.run_id).lr == 0.5)
    assert sched.start(cfg, "other", "a") is not run


def test_divergence_is_reported_with_its_step(sched):
    cfg = RunConfig(activation="relu", init="large", lr=10.0, optimizer="sgd", depth=6, steps=500)
    run = sched.start(cfg, "s", "a")
    wait_for(lambda: sched.poll(run.run_id).done)
    snap = sched.poll(run.run_id)
    assert snap.state == "diverged" and snap.diverged_at >= 1


@pytest.mark.parametrize("where", ["next_batch", "_evaluate"])
def test_an_exception_stays_on_its_run_and_the_worker_lives(monkeypatch, where):
    """In a step (next_batch: inside every step, sampled or not), or in an evaluation, which
    runs when a snapshot reads the evaluations due (Trainer.record_eval defers them)."""
    original = getattr(Trainer, where)

    def flaky(self):
        if self.cfg.seed == 666 and self.step_count >= 5:
            raise RuntimeError("boom")
        return original(self)

    monkeypatch.setattr(Trainer, where, flaky)
    s = Scheduler(workers=1, backend="thread", warm=False, snapshot_s=0.05)
    try:
        bad = s.start(SMALL.replace(seed=666), "s", "a")
        good = s.start(SMALL, "s", "b")
        wait_for(lambda: s.poll(bad.run_id).done and s.poll(good.run_id).done)
        assert s.poll(bad.run_id).state == "error" and "boom" in s.poll(bad.run_id).error
        assert s.poll(good.run_id).state == "finished"
    finally:
        s.shutdown()


def test_closed_tab_and_idle_runs_are_paused_then_dropped():
    q = Quotas(idle_pause_s=0.3, idle_drop_s=2.0, orphan_drop_s=2.0)
    s = Scheduler(workers=1, backend="thread", warm=False, quotas=q, snapshot_s=0.05)
    try:
        cfg = SMALL.replace(steps=100_000)
        run = s.start(cfg, "tab", "a")
        wait_for(lambda: s.poll(run.run_id).state == "running")
        s.release("tab")  # the tab closed
        wait_for(lambda: s.runs[run.run_id].snapshot.state == "paused", 5)
        run2 = s.start(cfg.replace(seed=5), "tab2", "a")
        wait_for(lambda: s.runs[run2.run_id].snapshot.state == "running")
        wait_for(lambda: s.runs[run2.run_id].snapshot.state == "paused", 5)  # nobody polls
        assert s.poll(run2.run_id) is not None  # polling again resumes it
        wait_for(lambda: s.runs[run2.run_id].snapshot.state == "running", 5)
        wait_for(lambda: run.run_id not in s.runs, 6)  # left alone: dropped
    finally:
        s.shutdown()


def test_polling_an_idle_paused_run_says_running_at_once():
    """A view that shows no runs for a while lets them idle-pause; back on their view, the page
    draws from the poll's snapshot: "paused" there left it paused on screen (no redraw timer)."""
    q = Quotas(idle_pause_s=0.3)
    s = Scheduler(workers=1, backend="thread", warm=False, quotas=q, snapshot_s=0.05)
    try:
        run = s.start(SMALL.replace(steps=100_000), "tab", "a")
        wait_for(lambda: s.runs[run.run_id].snapshot.state == "running")
        wait_for(lambda: s.runs[run.run_id].snapshot.state == "paused", 5)  # nobody polls
        assert s.poll(run.run_id).state == "running"
        step = s.poll(run.run_id).step
        wait_for(lambda: s.poll(run.run_id).step > step, 5)  # and it does train on
    finally:
        s.shutdown()


@pytest.mark.parametrize(("action", "value"), [("pace", None), ("lr", 0.5)])
def test_a_new_pace_or_rate_does_not_keep_an_idle_paused_run_paused(sched, action, value):
    """A tab closed (its run paused), the next one opens it and changes the pace at once.

    The pace (or a new rate) arrived before the worker had paused: the run must still resume
    when polled, not sit at "paused · step 0" for ever (seen on the babysitting page).
    """
    run = sched.start(SMALL.replace(steps=100_000), "tab", "a")
    wait_for(lambda: sched.poll(run.run_id).state == "running")
    sched.release("tab")  # pause sent, nobody watches
    sched.watch(run.spec, "next", "a")
    sched.control(run.run_id, action, value)
    wait_for(lambda: sched.runs[run.run_id].snapshot.state == "paused", 5)
    sched.poll(run.run_id)  # the new tab polls: the run goes on
    wait_for(lambda: sched.runs[run.run_id].snapshot.state == "running", 5)


def test_shutdown_leaves_no_thread():
    before = set(threading.enumerate())
    s = Scheduler(workers=2, backend="thread", warm=False)
    s.start(SMALL.replace(steps=100_000), "s", "a")
    time.sleep(0.3)
    mine = set(threading.enumerate()) - before
    assert len([t for t in mine if t.name.startswith("bnviz")]) == 4  # 2 workers, collector, reaper
    t0 = time.monotonic()
    s.shutdown()
    assert time.monotonic() - t0 < 5
    assert [t.name for t in mine if t.is_alive()] == []


def test_worker_processes_train_and_shut_down():
    s = Scheduler(workers=2, backend="process", warm=False)
    try:
        runs = [s.start(SMALL.replace(seed=i), "s", str(i)) for i in range(2)]
        wait_for(lambda: all(s.poll(r.run_id).done for r in runs), 120)
        snap = s.poll(runs[1].run_id)
        assert snap.state == "finished"
        assert np.array_equal(snap.losses["loss"], train_sync(SMALL.replace(seed=1)).losses["loss"])
        assert len(multiprocessing.active_children()) == 2
    finally:
        s.shutdown()
    assert multiprocessing.active_children() == []


def test_memory_stays_flat_over_a_long_run():
    stepper = Stepper("long", RunConfig(depth=2, width=8, n_samples=100, steps=10_000, log_every=1))
    stepper.advance(max_steps=2_500)
    tracemalloc.start()
    stepper.snapshot()
    base = tracemalloc.take_snapshot()
    stepper.advance(max_steps=6_000)
    grown = tracemalloc.take_snapshot().compare_to(base, "filename")
    tracemalloc.stop()
    growth = sum(stat.size_diff for stat in grown)
    assert growth < 1_000_000, f"grew by {growth} bytes"
    tel = stepper.snapshot().telemetry
    assert tel["step"][-1] > 8_000 and len(tel["step"]) <= 512


# ---------------------------------------------------------------------------- jobs and the pool


@pytest.mark.parametrize("backend", ["thread", "process"])
def test_a_job_that_is_not_a_run_is_one_place_and_one_snapshot(backend):
    s = Scheduler(workers=1, backend=backend, warm=False, snapshot_s=0.05)
    try:
        spec = FakeSpec(steps=40, models=64, delay_s=0.005)
        run = s.start(spec, "s", "a")
        assert len(s.book.open_runs("s")) == 1  # 64 models, one quota slot
        assert isinstance(s.poll(run.run_id), JobStatus)  # before the worker's first snapshot
        assert s.start(spec, "t", "a") is run  # shared by key like a RunConfig
        wait_for(lambda: s.poll(run.run_id).done, 60)
        snap = s.poll(run.run_id)
        assert isinstance(snap, FakeSnap) and snap.state == "finished" and snap.step == 40
        np.testing.assert_array_equal(snap.table, 40 * np.arange(64))
        bad = s.start(FakeSpec(broken=True), "s", "b")
        wait_for(lambda: s.poll(bad.run_id).done, 60)
        assert s.poll(bad.run_id).state == "error" and "cannot build" in s.poll(bad.run_id).error
    finally:
        s.shutdown()


def test_a_failed_run_is_not_served_to_others_and_start_trains_it_afresh(sched, monkeypatch):
    original, built = FakeSpec.build, []

    def fails_once(self, job_id, steps):  # e.g. a sweep whose helper process could not start
        built.append(job_id)
        if len(built) == 1:
            raise OSError("cannot start a helper")
        return original(self, job_id, steps)

    monkeypatch.setattr(FakeSpec, "build", fails_once)
    spec = FakeSpec(steps=10)
    bad = sched.start(spec, "tab", "a")
    wait_for(lambda: sched.poll(bad.run_id).done)
    assert sched.poll(bad.run_id).state == "error" and "helper" in sched.poll(bad.run_id).error
    assert sched.watch(spec, "tab", "a") is bad  # the tab that saw it fail still shows it
    assert sched.lookup(spec, "late", "a") is None  # a newcomer is not served the failure
    again = sched.start(spec, "tab", "a")  # Start (or Try again) in the failed tab
    assert again is not bad and sched.watch(spec, "tab", "a") is again
    wait_for(lambda: sched.poll(again.run_id).state == "finished")
    assert built == [bad.run_id, again.run_id]  # trained afresh, not the failed job again
    assert sched.start(spec, "late", "a") is again  # and shared again once it worked


def test_queued_job_pauses_without_a_queue_position_field(sched):
    sched.quotas = Quotas(max_running=1)
    a = sched.start(FakeSpec(steps=10_000, delay_s=0.01), "s", "a")
    b = sched.start(FakeSpec(steps=5), "s", "b")
    assert sched.poll(b.run_id).state == "queued" and sched.poll(b.run_id).queue_position == 1
    sched.control(a.run_id, "stop")
    wait_for(lambda: sched.poll(b.run_id).state == "finished")


def test_lookup_does_not_attach_and_watch_does(sched):
    run = sched.start(SMALL.replace(steps=100_000), "s", "a")
    assert sched.lookup(SMALL.replace(steps=100_000), "other", "x") is run
    assert "other" not in run.sessions and ("other", "x") not in sched.slots
    assert sched.watch(SMALL.replace(steps=100_000), "other", "x") is run
    assert "other" in run.sessions and sched.slots[("other", "x")] == run.run_id
    assert sched.lookup(SMALL.replace(seed=3), "s", "a") is None


def test_a_killed_worker_is_replaced_and_its_job_shows_interrupted():
    s = Scheduler(workers=1, backend="process", warm=False, snapshot_s=0.05)
    seen = []
    s.on_interrupted = seen.append
    try:
        run = s.start(FakeSpec(steps=100_000, delay_s=0.002), "s", "a")
        wait_for(lambda: s.poll(run.run_id).step > 5, 60)
        victim = s.workers[0]
        os.kill(victim.pid, signal.SIGKILL)
        wait_for(lambda: s.poll(run.run_id).state == "interrupted", 10)  # the sentinel wakes it
        snap = s.poll(run.run_id)
        assert snap.step > 5 and snap.done and seen == [s.runs[run.run_id]]
        assert s.lookup(FakeSpec(steps=100_000, delay_s=0.002), "late", "a") is None  # not served
        assert s.workers[0] is not victim and s.workers[0].is_alive()
        again = s.start(FakeSpec(steps=30), "s", "b")  # the replacement takes new jobs
        wait_for(lambda: s.poll(again.run_id).state == "finished", 60)
    finally:
        s.shutdown()
    assert multiprocessing.active_children() == []


def test_leaving_a_slot_frees_the_tabs_quota_but_keeps_a_run_shown_elsewhere():
    q = Quotas(max_per_session=2)
    s = Scheduler(workers=1, backend="thread", warm=False, quotas=q, snapshot_s=0.05)
    try:
        long = SMALL.replace(steps=100_000)
        a, b = s.start(long, "tab", "a"), s.start(long.replace(seed=1), "tab", "b")
        with pytest.raises(Busy):
            s.start(long.replace(seed=2), "tab", "c")  # two open runs: the tab's quota
        assert s.watch(long, "tab", "a2") is a  # the same run shown in a second slot
        s.leave("tab", "a")
        assert "tab" in s.runs[a.run_id].sessions  # still shown in slot a2
        s.leave("tab", "b")
        assert "tab" not in s.runs[b.run_id].sessions
        c = s.start(long.replace(seed=2), "tab", "c")  # room again
        assert c.run_id not in (a.run_id, b.run_id)
        s.leave("tab", "nothing")  # an unknown slot is no error
    finally:
        s.shutdown()


SIGTERMED = """
import os, signal, sys
sys.path.insert(0, {root!r})
from bnviz.pool import WorkerPool
if __name__ == "__main__":
    pool = WorkerPool(2, warm=False)
    pool.send(0, ("pace", "none", None))  # the inbox's feeder thread starts
    pool.shutdown()
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    os.kill(os.getpid(), signal.SIGTERM)  # as uvicorn ends a server: no exit handler runs
"""


def test_a_pool_stopped_and_then_killed_by_sigterm_leaks_no_semaphore(tmp_path):
    """A server stopped by SIGTERM dies by the signal once its lifespan has shut the pool down:
    the worker inboxes' named semaphores, unlinked at a normal exit, were left to Python's
    resource tracker, which logged "There appear to be 6 leaked semaphore objects"."""
    import subprocess
    import sys
    from pathlib import Path

    script = tmp_path / "sigtermed.py"
    script.write_text(SIGTERMED.format(root=str(Path(__file__).resolve().parent.parent)))
    done = subprocess.run([sys.executable, script], capture_output=True, text=True, timeout=120)
    assert done.returncode == -signal.SIGTERM, done.stderr
    assert "leaked semaphore" not in done.stderr, done.stderr


FAULTS = """
import resource, sys
import numpy as np
sys.path.insert(0, {root!r})
from bnviz.pool import keep_freed_memory
if sys.argv[1] == "keep":
    assert keep_freed_memory()
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(100):  # a step's temporaries: several MB alive at once, then freed
    held = [np.ones(1 << 20, np.float32) for _ in range(4)]
    del held
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


def test_a_worker_keeps_freed_memory_instead_of_faulting_in_fresh_pages():
    """glibc maps every big temporary afresh and the kernel faults its pages in on first touch:
    a worker process (pool.worker_main calls keep_freed_memory) reuses freed heap instead."""
    import subprocess
    import sys
    from pathlib import Path

    script = FAULTS.format(root=str(Path(__file__).resolve().parent.parent))
    faults = {
        mode: int(subprocess.check_output([sys.executable, "-c", script, mode], text=True))
        for mode in ("default", "keep")
    }
    assert faults["default"] > 100 * 1000  # the freed heap top is given back: faulted again
    assert faults["keep"] < faults["default"] / 20, faults


def test_an_ended_run_draws_its_decision_boundary_once(monkeypatch):
    """Every snapshot of a finished run drew its decision boundary again (3600 grid points on
    the lab's net), though its weights no longer change."""
    calls, original = [], Trainer.boundary
    monkeypatch.setattr(
        Trainer, "boundary", lambda self, *a: calls.append(self.step_count) or original(self, *a)
    )
    stepper = Stepper("b", RunConfig(depth=1, width=8, steps=30))
    stepper.advance(max_steps=10)
    stepper.snapshot(), stepper.snapshot()  # running, within BOUNDARY_EVERY_S: drawn once
    while stepper.state == "running":
        stepper.advance()
    first, again = stepper.snapshot(), stepper.snapshot()
    assert calls == [10, 30] and again.boundary is first.boundary


def test_a_run_s_rate_is_averaged_over_seconds_not_one_snapshot(monkeypatch):
    """Audit 15: over one 0.2 s window a stall read "about 4 min left" on a run with 20 s to
    go, and the catch-up after it 300 steps/s on a run paced at 50."""
    from bnviz import stepper as stepper_module
    from bnviz.stepper import Stepper

    clock = [100.0]
    monkeypatch.setattr(stepper_module.time, "monotonic", lambda: clock[0])
    run = Stepper("r", RunConfig(steps=100_000))
    run.state = "running"
    run._rate_mark = (clock[0], run.step)

    def snapshot_after(seconds: float, steps: int) -> float:
        clock[0] += seconds
        run.trainer.step_count += steps
        return run.snapshot().steps_per_s

    rates = [snapshot_after(0.4, 20) for _ in range(10)]  # 50 steps/s for 4 s
    assert rates[-1] == pytest.approx(50)
    stalled = snapshot_after(0.4, 0)  # the server busy for a moment
    burst = snapshot_after(0.4, 120)  # then the catch-up: 300 steps/s
    assert 35 < stalled < 50 and 50 < burst < 100, (stalled, burst)
    run.state = "paused"
    assert snapshot_after(0.4, 0) == 0  # a paused run trains at no rate


def test_leaving_a_page_frees_its_shared_runs_from_the_tabs_quota():
    """Audit 15: after the lab's pair and running statistics' first view, its five-run view
    hit the tab's quota of 5 ("This tab already has 5 open runs") and started one run."""
    q = Quotas(max_per_session=2)
    s = Scheduler(workers=1, backend="thread", warm=False, quotas=q, snapshot_s=0.05)
    try:
        long = SMALL.replace(steps=100_000)
        a = s.start(long, "tab", "lab.plain")
        b = s.start(long.replace(seed=1), "tab", "lab.bn")
        s.control(b.run_id, "lr", 0.5)  # steered by hand: no settings find it again
        s.leave_page("tab", "lab")
        assert "tab" not in s.runs[a.run_id].sessions  # found again by its settings on return
        assert "tab" in s.runs[b.run_id].sessions  # kept: the tab's own
        c = s.start(long.replace(seed=2), "tab", "running_stats.live")  # room for one more
        with pytest.raises(Busy):
            s.start(long.replace(seed=3), "tab", "running_stats.modes")
        s.leave_page("tab", "running")  # a prefix of no page's name: nothing left
        assert "tab" in s.runs[c.run_id].sessions
        assert s.watch(long, "tab", "lab.plain") is a  # back on the lab: the same run
    finally:
        s.shutdown()
