"""Live chart answers: increments add up to the whole figure, stay small, and are shared."""

import dataclasses
import gzip
import json

import numpy as np
import pytest

from bnviz import live_api
from bnviz.config import RunConfig
from bnviz.figures.live import DIVERGED
from bnviz.figures.theme import log_axis
from bnviz.i18n import t
from bnviz.stepper import Snapshot, Stepper


def fake(step: int, steps: int = 5000, state: str = "running", t: float = 1.0) -> Snapshot:
    """A snapshot at step count `step`: batch losses of steps 0..step-1, evals every 100 before."""
    s = np.arange(0, step)
    e = np.arange(0, step, 100)
    evals = {"step": e, **{c: np.float32(1.0 / (1 + e)) for c in ("train_loss", "test_loss")}}
    evals.update({c: np.full(len(e), 0.5, np.float32) for c in ("train_acc", "test_acc")})
    losses = {"step": s, "loss": (1.0 / (1 + s)).astype(np.float32)}
    cfg = RunConfig(steps=steps, eval_every=100)
    return Snapshot("r1", cfg, state, step, steps, losses=losses, evals=evals, taken_at=t)


def merged(parts: list[list[dict]]) -> list[tuple[list, list]]:
    """Concatenate per-trace x and y over a first paint and its increments."""
    out = [([], []) for _ in parts[0]]
    for part in parts:
        for i, tr in enumerate(part):
            out[i][0].extend(tr["x"])
            out[i][1].extend(tr["y"])
    return out


def test_increments_add_up_to_the_full_traces_of_a_real_run():
    cfg = RunConfig(steps=400, eval_every=50, n_samples=256, depth=2, width=16)
    stepper = Stepper("real", cfg)
    snaps, parts, since = [], [], {}
    while stepper.state == "running":
        stepper.advance(max_steps=37)
        snap = {"plain": stepper.snapshot()}
        parts.append(live_api.traces(snap, "loss", since))
        since = {"plain": snap["plain"].step}
        snaps.append(snap)
    whole = live_api.traces(snaps[-1], "loss", {})
    assert merged(parts) == [(tr["x"], tr["y"]) for tr in whole]
    losses = snaps[-1]["plain"].losses  # the oracle: the run's own history, float32-rounded
    np.testing.assert_allclose(whole[0]["y"], losses["loss"], rtol=1e-5)
    assert whole[0]["x"] == losses["step"].tolist()


def test_long_runs_stay_under_the_point_budget_and_increments_line_up():
    first = live_api.traces({"a": fake(3000)}, "loss", {})
    later = live_api.traces({"a": fake(5000)}, "loss", {"a": 3000})
    whole = live_api.traces({"a": fake(5000)}, "loss", {})
    assert all(len(tr["x"]) <= live_api.MAX_POINTS for tr in whole)
    assert len(whole[0]["x"]) > live_api.MAX_POINTS // 2  # thinned, not starved
    assert merged([first, later]) == [(tr["x"], tr["y"]) for tr in whole]


def test_the_loss_answers_carry_the_log_axis_ticks_of_all_the_run_holds():
    """The browser labels the streamed loss axis with these (plotly's own small "2" and "5"
    between powers of ten read as values): over the whole run, not only the new points."""
    snaps = {"plain": fake(3000)}
    expected = log_axis(snaps["plain"].losses["loss"], snaps["plain"].evals["train_loss"])
    later = live_api.increment(snaps, "loss", {"plain": 2990})
    first = live_api.first_paint(snaps, "loss", "en")
    for ticks in (later["yticks"], first["yticks"], first["figure"]["layout"]["yaxis"]):
        assert list(ticks["tickvals"]) == expected["tickvals"]
        assert list(ticks["ticktext"]) == expected["ticktext"]
    assert "3·10<sup>−4</sup>" in expected["ticktext"]  # the losses reach 1/3000
    assert live_api.increment(snaps, "accuracy", {"plain": 2990})["yticks"] == {}  # linear
    empty = live_api.increment({"plain": fake(0)}, "loss", {"plain": 0})
    assert empty["yticks"] == {}  # no data yet


def test_loss_and_accuracy_answers_span_the_same_steps():
    """The accuracy chart ended at its last evaluation (step 300) beside a loss chart at step
    390: every answer now says how far the step axis spans, the same for both views."""
    snaps = {"plain": fake(391), "bn": fake(388)}
    for view in ("loss", "accuracy"):
        first = live_api.first_paint(snaps, view, "en")
        later = live_api.increment(snaps, view, {"plain": 300, "bn": 300})
        assert first["xspan"] == later["xspan"] == 390  # the last step with a loss
        include = first["figure"]["layout"]["xaxis"]["autorangeoptions"]["include"]
        assert list(include) == [0, 390], view
    assert live_api.x_span({"plain": fake(0)}) == 100  # before any loss: the first evaluation
    assert live_api.x_span({}) == 0


def test_a_run_of_a_few_steps_ticks_whole_steps():
    """An audit: a run of Steps = 1 had its step axis ticked 0, 0.2, ... 1 ("step 0.6")."""
    short = {"plain": fake(1, steps=1, state="finished")}
    for view in ("loss", "accuracy"):
        axis = live_api.first_paint(short, view, "en")["figure"]["layout"]["xaxis"]
        assert axis["dtick"] == 1, view
    long = live_api.first_paint({"plain": fake(391)}, "loss", "en")["figure"]["layout"]
    assert "dtick" not in long["xaxis"]  # plotly's own ticks


def test_a_diverged_run_is_marked_where_its_curve_ends_in_a_whole_figure():
    """An audit: a run that diverged within 5 steps drew its loss as a line hidden against the
    y axis (x = 0-5 on an axis to 1500), and on the accuracy chart one point, which a line
    does not show. A whole figure now marks where each view's curve ends: an x labelled
    "diverged" at the last finite value. Increments carry no mark (appended, it would repeat
    with every answer): the divergence's rerun mounts the charts afresh, and a fresh chart
    asks for the whole figure (tests/test_browser_stream.py)."""
    snap = fake(300, state="diverged")
    loss = snap.losses["loss"].copy()
    loss[-1] = np.inf  # a last row that is not finite: the mark stands on the one before
    snap = dataclasses.replace(snap, losses={**snap.losses, "loss": loss})
    for view, x, y in (("loss", 298, float(loss[-2])), ("accuracy", 200, 0.5)):
        whole = live_api.traces({"plain": snap, "bn": fake(300)}, view, {})
        marks = [tr for tr in whole if tr["table"] == DIVERGED]
        assert [m["run"] for m in marks] == ["plain", "bn"]  # one per run, from the start
        assert marks[0]["x"] == [x] and marks[0]["y"] == pytest.approx([y], rel=1e-5), view
        assert marks[1]["x"] == []  # a run still training has none
        later = live_api.traces({"plain": snap}, view, {"plain": 0})
        assert [tr["x"] for tr in later if tr["table"] == DIVERGED] == [[]]
        for lang, word in (("en", "diverged"), ("zh", "发散")):
            fig = live_api.first_paint({"plain": snap}, view, lang)["figure"]
            (mark,) = [tr for tr in fig["data"] if tr.get("mode") == "markers+text"]
            assert list(mark["x"]) == [x] and list(mark["text"]) == [word]
            assert mark["showlegend"] is False  # the legend still names each run once
            shown = [tr["name"] for tr in fig["data"] if tr.get("showlegend")]
            assert shown == [t("lab.run.plain", lang)], shown


def test_values_are_float32_rounded_and_nan_is_null():
    assert live_api.rounded(np.array([1 / 3, np.nan, np.inf], np.float32)) == [0.333333, None, None]
    body = json.loads(
        live_api.encode(live_api.increment({"a": fake(300, 300)}, "loss", {"a": 251}))
    )
    assert body["index"] == [0] and body["x"][0] == list(range(251, 300))
    assert body["step"] == {"a": 300} and not body["done"]


def test_answers_are_built_once_and_shared():
    cache = live_api.AnswerCache(size=2)
    calls = []

    def make():
        calls.append(1)
        return b'{"ok":1}'

    a = cache.get(("k",), make)
    b = cache.get(("k",), make)
    assert a is b and len(calls) == 1 and gzip.decompress(a[1]) == a[0]
    cache.get(("k2",), make), cache.get(("k3",), make)
    cache.get(("k",), make)  # evicted by the bound: made again
    assert len(calls) == 4 and len(cache._items) == 2
    snap = {"a": fake(300)}
    key = live_api.answer_key(snap, "loss", {"a": 10}, "en")
    assert key == live_api.answer_key(snap, "loss", {"a": 10}, "zh")  # points need no language
    assert key != live_api.answer_key({"a": fake(300, t=2.0)}, "loss", {"a": 10}, "en")


def test_since_parsing_falls_back_to_a_first_paint():
    names = ["plain", "bn"]
    assert live_api.parse_since("120,118", names) == {"plain": 120, "bn": 118}
    assert live_api.parse_since("120", names) is None
    assert live_api.parse_since("x,1", names) is None


class FakeScheduler:
    _closed = type("E", (), {"is_set": staticmethod(lambda: False)})()

    def __init__(self, snaps):
        self.snaps, self.polled = snaps, []

    def poll(self, run_id):
        self.polled.append(run_id)
        return self.snaps.get(run_id)


def get(query: str, gzip_ok: bool = True):
    """Call the live route as the ASGI server would (no HTTP client package needed)."""
    import asyncio
    from concurrent.futures import ThreadPoolExecutor

    from starlette.requests import Request

    from bnviz.ui import live_routes

    headers = [(b"accept-encoding", b"gzip, br")] if gzip_ok else []
    scope = {"type": "http", "method": "GET", "path": live_routes.LIVE_URL, "headers": headers}
    request = Request({**scope, "query_string": query.encode()})
    with ThreadPoolExecutor(1) as pool:  # a fresh loop: the browser tests' Playwright owns this one
        res = pool.submit(asyncio.run, live_routes.live(request)).result()
    raw = gzip.decompress(res.body) if res.headers.get("content-encoding") == "gzip" else res.body
    return res, json.loads(raw)


def test_route_answers_first_paint_then_points_from_the_one_scheduler(monkeypatch):
    from bnviz.ui import live_routes

    sched = FakeScheduler({"p1": fake(300, state="finished"), "b1": fake(200)})
    monkeypatch.setitem(live_routes._STATE, "scheduler", sched)
    query = "runs=plain:p1,bn:b1&view=loss&lang=zh"
    res, first = get(query)
    assert res.status_code == 200 and res.headers["content-encoding"] == "gzip"
    drawn = [tr for tr in first["figure"]["data"] if tr.get("hoverinfo") != "skip"]
    # per run its series and its divergence mark; the rest: grey line-style keys
    assert len(drawn) == 2 * (len(live_api.SERIES["loss"]) + 1)
    assert first["figure"]["layout"]["uirevision"] == "live"
    res, more = get(query + "&since=300,150", gzip_ok=False)
    assert "content-encoding" not in res.headers
    bn_losses = len(live_api.SERIES["loss"]) + 1  # the trace after plain's and its mark
    assert more["index"] == [bn_losses] and more["x"][0][0] == 150  # bn's new losses only
    assert more["state"] == {"plain": "finished", "bn": "running"} and not more["done"]
    assert sched.polled == ["p1", "b1", "p1", "b1"]  # polling marks the runs as watched
    assert get("runs=plain:gone&view=loss")[0].status_code == 404
    assert get("runs=plain:p1&view=nope")[0].status_code == 400


def test_the_lab_mounts_streaming_charts_when_the_routes_are_served(monkeypatch):
    from bnviz.ui import live_routes
    from tests.helpers import figures, rerun_until
    from tests.test_pages import page

    monkeypatch.setitem(live_routes.SERVED, "routes", True)
    at = page("01_batchnorm_lab.py", steps="300", seed="31")  # the pair starts on its own
    rerun_until(at, lambda a: len(a.get("bidi_component")) == 2)
    data = [json.loads(el.proto.json) for el in at.get("bidi_component")]
    assert [d["src"].split("view=")[1].split("&")[0] for d in data] == ["loss", "accuracy"]
    assert all("runs=plain:" in d["src"] and ",bn:" in d["src"] for d in data)
    assert not figures(at)  # no server-side plotly chart on the streamed view


def test_after_reset_the_streamed_charts_follow_the_new_pair(monkeypatch):
    from bnviz.ui import live_routes
    from tests.helpers import click, shown_runs
    from tests.test_pages import page

    monkeypatch.setitem(live_routes.SERVED, "routes", True)
    at = page("01_batchnorm_lab.py", steps="20000", seed="33")
    click(at, "Reset")
    at.run()
    ids = {name: run.run_id for name, run in shown_runs("lab").items()}
    for el in at.get("bidi_component"):  # not the dropped pair, greyed: the new one, streaming
        src = json.loads(el.proto.json)["src"]
        assert f"plain:{ids['plain']}," in src and f"bn:{ids['bn']}&" in src
    click(at, "Pause")


def test_a_run_with_a_minute_or_more_to_go_says_how_long():
    """An audit (5): depth 10 x width 512 trained at 2-7 steps/s, about 5 minutes, under a toggle
    that says "a run takes ~30 s", and no line said how long it would take."""
    from types import SimpleNamespace

    from bnviz.ui.live import status_text

    ctx = SimpleNamespace(lang="en", tr=lambda key, **fmt: t(key, "en", **fmt))
    slow = dataclasses.replace(fake(1000, steps=100_000), steps_per_s=200.0)
    said = status_text(ctx, "no BN", slow)
    assert said.endswith(t("run.time_left", minutes=9)), said  # 495 s
    assert "steps/s" not in said  # the time left instead of the rate: one line in a third of a row
    quick = dataclasses.replace(slow, steps_per_s=5000.0)  # 20 s to go: nothing said
    assert "min left" not in (said := status_text(ctx, "no BN", quick)) and "steps/s" in said
    paused = dataclasses.replace(slow, state="paused")
    assert "min left" not in status_text(ctx, "no BN", paused)
    # three in a row leave out their rates (why BN's trio: two lines each at 1280 px)
    assert status_text(ctx, "no BN", quick, rate=False) == t(
        "run.status_idle", label="no BN", state=t("run.state.running"), step=1000, steps=100_000
    )


def test_many_runs_on_one_line_say_their_state_and_length_once():
    """Audit 34: running statistics' five runs on one line took two lines at 1280 ("no BN:
    training · step 32 / 600 | no BN, dropout 0.5: training · step 40 / 600 | …")."""
    from types import SimpleNamespace

    from bnviz.ui.live import group_status

    ctx = SimpleNamespace(lang="en", tr=lambda key, **fmt: t(key, "en", **fmt))
    labels = {f"r{i}": f"run {i}" for i in range(5)}
    snaps = {n: fake(30 + i, steps=600) for i, n in enumerate(labels)}
    said = group_status(ctx, labels, snaps)
    runs = " | ".join(f"run {i}: {30 + i}" for i in range(5))
    assert said == t("run.status_group", state=t("run.state.running"), steps=600, runs=runs)
    assert len(said) < len(" | ".join(f"run {i}: training · step 30 / 600" for i in range(5)))
    # audit 36: while they finished one by one, the whole lines came back and took two; a run
    # in another state says its state in its step's place
    paused = snaps | {"r2": dataclasses.replace(snaps["r2"], state="paused")}
    runs = " | ".join(f"run {i}: {'paused' if i == 2 else 30 + i}" for i in range(5))
    assert group_status(ctx, labels, paused) == t("run.status_group_mixed", steps=600, runs=runs)
    # all at one step: it is said once ("finished · step 600 / 600 — run 0 | …")
    done = {n: dataclasses.replace(fake(600, steps=600), state="finished") for n in labels}
    assert group_status(ctx, labels, done) == t(
        "run.status_group_same", state=t("run.state.finished"), step=600, steps=600,
        labels=" | ".join(labels.values()),
    )  # fmt: skip
    # two runs: each run's own line says it
    assert group_status(ctx, labels, {n: snaps[n] for n in ("r0", "r1")}) == ""
    # slow (CI, loaded): the time left once, the slowest's, on the same line
    slow = {
        n: dataclasses.replace(s, steps_per_s=float(i + 1))
        for i, (n, s) in enumerate(snaps.items())
    }
    assert group_status(ctx, labels, slow) == said + t("run.time_left", minutes=10)  # 570 s
    diverged = dataclasses.replace(snaps["r4"], state="diverged", diverged_at=31)
    assert group_status(ctx, labels, snaps | {"r4": diverged}) == ""


def test_a_learning_rate_changed_by_hand_is_in_the_status_line():
    """An audit (5): moving "Learning rate now" left no trace; the sentence above still spoke of
    the preset's rate (3) while the runs trained at 0.5."""
    from types import SimpleNamespace

    from bnviz.ui.live import status_text

    ctx = SimpleNamespace(lang="zh", tr=lambda key, **fmt: t(key, "zh", **fmt))
    snap = fake(300)
    assert live_api.steered_lr(snap) is None and live_api.status({"a": snap})["steered"] == {}
    by_hand = dataclasses.replace(snap, lr=snap.config.lr / 6)
    lr = float(f"{snap.config.lr / 6:.3g}")
    assert live_api.status({"a": by_hand})["steered"] == {"a": lr}  # the streamed status line's
    assert t("run.steered", "zh", lr=lr) in status_text(ctx, "无 BN", by_hand)


def test_a_diverged_run_s_status_line_says_where_as_its_warning_does():
    """ "Far too high: diverged · step 8 / 400" took two lines in a quarter of a row at 1280
    (babysitting) and said the step differently from the warning and the legend. A rate
    changed by hand is still said after it."""
    from types import SimpleNamespace

    from bnviz.ui.live import status_text

    for lang in ("en", "zh"):
        ctx = SimpleNamespace(lang=lang, tr=lambda key, _l=lang, **fmt: t(key, _l, **fmt))
        snap = dataclasses.replace(fake(7, state="diverged"), diverged_at=8)
        said = t("run.status_diverged", lang, label="no BN", step=8)
        assert status_text(ctx, "no BN", snap) == said
        by_hand = dataclasses.replace(snap, lr=snap.config.lr / 6)
        lr = float(f"{snap.config.lr / 6:.3g}")
        assert status_text(ctx, "no BN", by_hand) == said + t("run.steered", lang, lr=lr)


def test_a_diverging_climb_leaves_the_loss_axis_at_its_ceiling():
    """An audit: lr 10, ReLU, large init, 6 layers: the no-BN loss went 6,660 -> 4·10^29 ->
    NaN and the log axis spanned 10^30, the BN run's whole curve a line along its bottom. The
    axis now stops HEADROOM times above the runs' highest first value; the mark of the run
    that left stands on that edge and its hover says the value reached."""
    plain = fake(300, state="diverged")
    loss = plain.losses["loss"].copy()
    loss[-2:] = [4e29, np.nan]  # the climb, then NaN
    plain = dataclasses.replace(plain, losses={**plain.losses, "loss": loss})
    snaps = {"plain": plain, "bn": fake(300)}
    top = live_api.HEADROOM * 1.0  # every series of fake() starts at 1
    assert live_api.ceiling(snaps, "loss") == top and live_api.ceiling(snaps, "accuracy") is None
    for ticks in (
        live_api.increment(snaps, "loss", {"plain": 290, "bn": 290})["yticks"],
        live_api.first_paint(snaps, "loss", "en")["figure"]["layout"]["yaxis"],
    ):
        assert ticks["autorangeoptions"]["clipmax"] == top
        assert max(ticks["tickvals"]) <= 2 * top  # labels end at the ceiling, not at 10^29
    mark = next(tr for tr in live_api.traces(snaps, "loss", {}) if tr["table"] == DIVERGED)
    assert mark["y"] == [top] and mark["reached"] == [pytest.approx(4e29, rel=1e-5)]
    figure = live_api.first_paint(snaps, "loss", "en")["figure"]
    drawn = next(tr for tr in figure["data"] if tr.get("hovertext") is not None)
    assert list(drawn["hovertext"]) == [t("lab.fig.reached", "en", step=298, value="4×10²⁹")]
    calm = {"plain": fake(300), "bn": fake(300)}  # no value past the ceiling: autorange alone
    assert "autorangeoptions" not in live_api.y_ticks(calm, "loss")
    # audit 20: a run that trains is drawn whole however high it goes (lr 10, tanh: BN's test
    # loss 0.76 -> 196 was cut at 76); only the diverged run's climb leaves the chart
    spike = fake(300)
    high = spike.losses["loss"].copy()
    high[50] = 500.0
    spike = dataclasses.replace(spike, losses={**spike.losses, "loss": high})
    assert live_api.ceiling({"plain": plain, "bn": spike}, "loss") == 500.0
    assert "autorangeoptions" not in live_api.y_ticks({"plain": fake(300), "bn": spike}, "loss")
    ticks = live_api.y_ticks({"plain": plain, "bn": spike}, "loss")
    assert ticks["autorangeoptions"]["clipmax"] == 500.0
