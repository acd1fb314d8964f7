"""The hyperparameter page: both languages, every preset end to end through the page (its
sweep trains through the scheduler), the claim checked on the sweep the page ran, the caps."""

import numpy as np
import pytest

from bnviz.figures.theme import readable
from bnviz.i18n import t
from bnviz.lessons import hyperparams_views as V
from bnviz.ui.live import pace_for
from tests.helpers import (
    choose_preset,
    click,
    figures,
    full_speed,
    rerun_until,
    shown_runs,
    wait_for_runs,
)
from tests.test_pages import page

PAGE = "09_hyperparams.py"


def _done(names):
    def check(at) -> bool:
        runs = shown_runs("hyperparams")
        return set(names) <= set(runs) and all(runs[n].snapshot.done for n in names)

    return check


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_page_runs_in_both_languages_and_draws(lang):
    at = page(PAGE, lang=lang, steps="40")
    assert not at.exception
    assert at.title[0].value == t("hyperparams.nav", lang)
    full_speed(at, "hyperparams")
    wait_for_runs(at, _done(["sweep", "repeats1", "repeats2"]), timeout=180)
    at.run()
    assert not at.exception and figures(at)
    runs = shown_runs("hyperparams")
    assert len(runs) == 3  # view 1 (18 models) and its repeats on 20 seeds (2 x 180 models)
    wins, top, total = V.repeat_tally([runs[k].snapshot for k in ("repeats1", "repeats2")])
    said = t("hyperparams.repeats", lang, n=total, first=0, last=19, wins=wins)
    said += " " + t(f"hyperparams.repeats_{V.repeat_verdict(wins, total)}", lang, top=top, n=20)
    assert said in [c.value for c in at.caption]


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_every_view_without_a_preset_says_what_to_look_for_in_that_view(lang):
    for view in V.VIEWS:  # opened from a shared link or the view pills: no preset is active
        at = page(PAGE, lang=lang, view=view, steps="40")
        assert not at.exception
        key = "default" if view == V.VIEWS[0] else view  # the page opens on the grid view
        assert t(f"hyperparams.look_for.{key}", lang) in [i.value for i in at.info], view


def test_a_bad_url_value_falls_back_with_a_note():
    at = page(PAGE, steps="-3", models="12", trials="7")
    assert not at.exception
    notes = " ".join(i.value for i in at.warning)
    assert "steps" in notes and "trials" in notes
    assert at.session_state["hyperparams.models"] == 12  # a good value is kept
    assert at.session_state["hyperparams.steps"] == V.DEFAULT.steps


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_a_sweep_past_the_caps_shows_a_message_not_a_traceback(lang):
    """In the page's language: audit 16 saw the Chinese page say the engine's English, "a sweep
    trains at most 1,000,000 model-steps (MAX_MODEL_STEPS), got …"."""
    at = page(PAGE, view="caviar", models="1000", lang=lang)
    assert not at.exception
    why = t("errors.sweep_models", lang, limit=256, n=1000)
    assert [e.value for e in at.error] == [t("hyperparams.too_big", lang, error=why)]
    assert not shown_runs("hyperparams")
    at = page(PAGE, view="grid", steps="6000", lang=lang)  # the grid trains; its 20 seeds cannot
    full_speed(at, "hyperparams")
    wait_for_runs(at, lambda a: shown_runs("hyperparams")["sweep"].snapshot.done, timeout=120)
    at.run()
    why = t("errors.sweep_model_steps", lang, limit="1,000,000", n=180, steps=6000,
            total="1,080,000")  # fmt: skip
    captions = [c.value for c in at.caption]
    assert t("hyperparams.repeats_too_big", lang, n=20, error=why) in captions, captions


@pytest.mark.parametrize("preset", sorted(V.CLAIMS))
def test_preset_end_to_end_trains_its_sweep_and_its_claim_holds(preset):
    at = page(PAGE)
    full_speed(at, "hyperparams")  # the class default is classroom pace
    choose_preset(at, "hyperparams", preset)
    assert not at.exception
    wait_for_runs(at, _done(["sweep"]), timeout=240)
    at.run()
    run = shown_runs("hyperparams")["sweep"]
    view = V.PRESETS[preset]["view"]
    cfg = V.DEFAULT.replace(**{k: v for k, v in V.PRESETS[preset].items() if k != "view"})
    assert run.spec == V.specs(view, cfg)["sweep"]  # the settings the page used
    assert V.CLAIMS[preset](run.snapshot), preset
    assert t(f"hyperparams.preset.{preset}_what") in [i.value for i in at.info]
    assert figures(at) and not at.exception
    assert V.diverged([run.snapshot])[0] == 0  # measured: no preset diverges on seed 0 ...
    assert not _diverged_said(at)  # ... and then nothing is said or drawn about it
    if preset == "grid_vs_random":  # "the learning rate moves the loss by more than 10×, ..."
        n = len(run.snapshot.configs) // 2
        lr, scale = V.grid_spread(run.snapshot.final_loss[:n])
        sub = figures(at)[0]["layout"]["title"]["subtitle"]["text"]
        assert sub == t("hyperparams.grid_spread", lr=readable(lr, 2), scale=readable(scale, 2))
        assert lr > 10 and scale < lr, sub
    if preset == "log_scale":  # the momentum window, a note under the charts (audit 32)
        said = [c.value for c in at.caption if "1 − β = 10" in c.value]
        assert len(said) == 1 and "10.0 to 10.05" in said[0] and "1000 to 2000" in said[0], said
    if preset == "caviar":  # "a loss at least 10× below the median model's", as the page shows it
        best, median, ratio = _below_median_shown(at, "en")
        assert median / best >= 10 and float(ratio) >= 10, (best, median, ratio)


def _below_median_shown(at, lang: str) -> tuple[float, float, str]:
    """The caviar caption's best and median loss (numbers as written) and its ratio text."""
    import re

    template = t("hyperparams.below_median", lang, best="(B)", median="(M)", ratio="(R)")
    number = r"([\d.]+(?:×10[⁰¹²³⁴⁵⁶⁷⁸⁹⁻]+)?)"
    pattern = re.escape(template)
    for mark in (r"\(B\)", r"\(M\)", r"\(R\)"):
        pattern = pattern.replace(mark, number)
    found = [m.groups() for c in at.caption if (m := re.fullmatch(pattern, c.value))]
    assert len(found) == 1, [c.value for c in at.caption]
    best, median, ratio = found[0]
    return _number(best), _number(median), ratio


def _number(text: str) -> float:
    """A number as theme.readable writes it ("0.0123", "4.2×10⁻⁵") back to a float."""
    if "×10" not in text:
        return float(text)
    mantissa, power = text.split("×10")
    return float(mantissa) * 10 ** int(power.translate(str.maketrans("⁰¹²³⁴⁵⁶⁷⁸⁹⁻", "0123456789-")))


def _diverged_said(at) -> bool:
    """A caption on diverged models (each ends with how they are drawn), or an × trace."""
    tails = [t(f"hyperparams.diverged.{h}") for h in ("top", "zoom", "curves", "cells", "left_out")]
    said = any(c.value.endswith(tuple(tails)) for c in at.caption)
    return said or any(tr.get("meta") == "diverged" for f in figures(at) for tr in f["data"])


def test_diverged_models_are_counted_and_marked_under_the_bn_heatmaps(monkeypatch):
    # No preset's sweep diverges with the real engine (seeds 0-4), so the job's snapshots are
    # made to: the models without BN at the top learning rate (3.0) diverge at step 50 from
    # init scale 0.98 up (3 cells), at lr 0.6 at step 125 with the largest init scale (10).
    from bnviz.sweep import SweepJob
    from bnviz.ui.hyperparams import diverged_note
    from tests.fake_job import diverge

    def when(c):
        if c.norm != "none":
            return None
        if c.lr > 2.0 and c.init_scale > 0.5:
            return 50
        return 125 if 0.5 < c.lr < 1.0 and c.init_scale > 5.0 else None

    snapshot = SweepJob.snapshot
    monkeypatch.setattr(SweepJob, "snapshot", lambda self: diverge(snapshot(self), when))
    at = page(PAGE, view="bn", seed="90721")  # no other test trains it: nothing to share
    full_speed(at, "hyperparams")
    wait_for_runs(at, _done(["sweep"]), timeout=240)
    at.run()
    snap = shown_runs("hyperparams")["sweep"].snapshot
    assert snap.state == "finished" and not at.exception
    assert sum(when(c) is not None for c in snap.configs) == 4  # the grid's values
    assert V.diverged([snap]) == (4, 72, 50, 125)
    note = diverged_note("en", [snap], "cells")
    assert note == t("hyperparams.diverged.many", k=4, n=72, a=50, b=125,
                     how=t("hyperparams.diverged.cells"))  # fmt: skip
    assert note in [c.value for c in at.caption]
    (marks,) = [tr for tr in figures(at)[0]["data"] if tr.get("meta") == "diverged"]
    assert marks["name"] == t("hyperparams.fig.diverged", k=4)


def test_zoom_preset_runs_both_rounds_and_draws_the_box():
    at = page(PAGE)
    full_speed(at, "hyperparams")
    choose_preset(at, "hyperparams", "zoom")
    wait_for_runs(at, _done(["round1", "round2"]), timeout=240)
    at.run()
    runs = shown_runs("hyperparams")
    assert V.claim_coarse(runs["round1"].snapshot, runs["round2"].snapshot)
    fig = figures(at)[0]
    assert fig["layout"]["shapes"] and len(fig["data"]) == 2  # the box, both rounds drawn
    # "it spans fewer decades and its typical (median) loss is lower", in the legend
    for trace, name in zip(fig["data"], ("round1", "round2"), strict=True):
        snap = runs[name].snapshot
        decades, median = V.round_measure(np.array([c.lr for c in snap.configs]), V.latest(snap))
        said = t(
            "hyperparams.fig.round_measure", decades=f"{decades:.1f}", median=readable(median, 2)
        )
        assert trace["name"] == t(f"hyperparams.fig.{name}") + " · " + said, trace["name"]


def test_sweeps_follow_the_classroom_pace_toggle():
    at = page(PAGE, steps="900")  # 900 steps at classroom pace: 30 steps/s
    run = shown_runs("hyperparams")["sweep"]
    assert at.toggle(key="hyperparams.pace").value  # the class default
    paced = pace_for(run.steps, True)
    assert run.pace == paced == 30.0
    unset = object()  # until the worker's first snapshot the run shows a JobStatus (no pace)
    rerun_until(at, lambda _: getattr(run.snapshot, "pace", unset) == paced)  # the job's cap
    full_speed(at, "hyperparams")
    assert run.pace is None
    rerun_until(at, lambda _: getattr(run.snapshot, "pace", unset) is None)  # and lifted it
    at.toggle(key="hyperparams.pace").set_value(True).run()
    rerun_until(at, lambda _: getattr(run.snapshot, "pace", unset) == paced or run.snapshot.done)


def test_the_run_buttons_pause_resume_step_and_reset_the_sweeps():
    at = page(PAGE, steps="900", seed="90731")  # 30 s at classroom pace: time to press Pause
    runs = shown_runs("hyperparams")
    assert set(runs) == {"sweep", "repeats1", "repeats2"}
    buttons = {b.label: b for b in at.button}
    assert buttons["Start"].disabled and not buttons["Pause"].disabled  # they started on their own
    click(at, "Pause")
    # paused, and drawn so: the predicate reads the runs as they are now, the buttons are as the
    # last rerun drew them (Step still greyed out when a sweep paused just after it; CI saw it)
    step_shown = lambda a: not a.button(key="hyperparams.run.step").disabled  # noqa: E731
    rerun_until(at, lambda a: all(r.snapshot.state == "paused" for r in runs.values()))
    rerun_until(at, step_shown)
    paused_at = {n: r.snapshot.step for n, r in runs.items()}
    assert all(s < 900 for s in paused_at.values()), paused_at
    click(at, "Step")  # one more step of every sweep
    rerun_until(at, lambda _: all(r.snapshot.step == paused_at[n] + 1 for n, r in runs.items()))
    click(at, "Resume")
    rerun_until(at, lambda _: all(r.snapshot.step > paused_at[n] + 1 for n, r in runs.items()))
    click(at, "Reset")
    again = shown_runs("hyperparams")
    assert {n: r.spec for n, r in again.items()} == {n: r.spec for n, r in runs.items()}
    assert all(again[n].run_id != runs[n].run_id for n in runs)  # trained anew, from step 0
    click(at, "Pause")
    assert not at.exception


def test_a_full_quota_is_said_on_the_page(monkeypatch):
    from bnviz.runner import Busy, Scheduler

    def refuse(self, *args, **kwargs):
        raise Busy("errors.session_quota", limit=4)

    monkeypatch.setattr(Scheduler, "start", refuse)
    at = page(PAGE, steps="20")
    assert not at.exception
    assert t("errors.session_quota", limit=4) in [e.value for e in at.error]


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_a_failed_sweep_says_so_where_its_charts_were_and_try_again_trains_a_new_one(
    monkeypatch, lang
):
    from bnviz.sweep import SweepJob
    from bnviz.ui.common import plain

    def no_helper(self):  # as when the helper process that trains half the models cannot start
        raise OSError("[Errno 12] Cannot allocate memory")

    monkeypatch.setattr(SweepJob, "_build", no_helper)
    seed = str(90717 + ["en", "zh"].index(lang))  # no other test trains it: nothing to share
    at = page(PAGE, lang=lang, view="caviar", models="8", steps="20", seed=seed)
    full_speed(at, "hyperparams")
    wait_for_runs(at, _done(["sweep"]))
    bad = shown_runs("hyperparams")["sweep"]
    assert bad.snapshot.state == "error" and not at.exception
    label = t("hyperparams.sweep.sweep", lang)
    assert [e.value for e in at.error] == [t("hyperparams.failed.error", lang, labels=label)]
    error = plain("OSError: [Errno 12] Cannot allocate memory", 300)
    detail = t("hyperparams.failed.detail", lang, label=label, step=0, steps=20, error=error)
    assert detail in [c.value for c in at.caption]
    assert not figures(at) and not at.get("progress")  # the message, not a stale chart

    monkeypatch.undo()  # the server can train again
    at.button(key="hyperparams.retry").click().run()
    again = shown_runs("hyperparams")["sweep"]
    assert again.run_id != bad.run_id and again.spec == bad.spec  # a new job, same sweep
    wait_for_runs(at, _done(["sweep"]))
    assert again.snapshot.state == "finished"
    assert figures(at) and not at.error and not at.exception


def test_when_only_the_repeats_fail_view_1_still_draws_beside_the_message(monkeypatch):
    from bnviz.sweep import SweepJob

    build = SweepJob._build

    def big_ones_fail(self):  # the repeats (180 models each), not view 1's sweep (18)
        if len(self.configs) > 100:
            raise OSError("no helper")
        build(self)

    monkeypatch.setattr(SweepJob, "_build", big_ones_fail)
    at = page(PAGE, view="grid", steps="20", seed="90719")
    full_speed(at, "hyperparams")
    wait_for_runs(at, _done(["sweep", "repeats1", "repeats2"]))
    labels = ", ".join(t(f"hyperparams.sweep.repeats{k}") for k in (1, 2))
    said = t("hyperparams.failed.error_many", labels=labels)  # two: "these searches failed"
    assert [e.value for e in at.error] == [said]
    assert figures(at) and not at.exception  # view 1's chart
    captions = [c.value for c in at.caption]
    assert t("hyperparams.repeats_wait", n=20) not in captions  # they will not finish


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_caviar_names_the_servers_training_time_not_the_classrooms_wait(lang):
    """An audit: at classroom pace (the default) the caption said 48 models trained "on this
    server in 20.0 s of wall time", 14× the 1.4 s they took at full speed: the pace's wait.
    It now gives the training time, and the wall time as what the pace spread it over."""
    import re

    seed = str(90723 + ["en", "zh"].index(lang))  # no other test trains it
    at = page(PAGE, lang=lang, view="caviar", models="8", steps="40", seed=seed)  # paced

    def shown(template: str) -> list[re.Match]:
        pattern = re.escape(template).replace(r"\(S\)", r"([\d.]+)").replace(r"\(W\)", r"(\d+)")
        pattern = pattern.replace(r"\(N\)", r"(\d+)").replace(r"\(T\)", "(.*)")
        pattern = pattern.replace(r"\(E\)", r"(\d+)")
        return [m for c in at.caption if (m := re.fullmatch(pattern, c.value))]

    # mid-run (audit 22) its numbers are said to be so far, the steps being the same, and the
    # table's evaluation is named (audit 33: "step 139" above step 120's numbers)
    so_far = t("hyperparams.so_far", lang, step="(N)", steps=40, shown="(E)", text="(T)")
    rerun_until(at, lambda a: [m for m in shown(so_far) if 0 < int(m.group(1)) < 40])
    step, evaluated = next(
        (int(m.group(1)), int(m.group(2))) for m in shown(so_far) if 0 < int(m.group(1)) < 40
    )
    assert 0 <= evaluated <= step, (evaluated, step)
    inner = t("hyperparams.wall_paced", lang, n=8, steps=step, seconds="(S)", wall="(W)")
    assert shown(t("hyperparams.so_far", lang, step=step, steps=40, shown=evaluated, text=inner))
    wait_for_runs(at, _done(["sweep"]), timeout=120)
    snap = shown_runs("hyperparams")["sweep"].snapshot
    assert snap.pace and 0 < snap.busy_s < snap.wall_s / 2, (snap.busy_s, snap.wall_s)
    found = shown(t("hyperparams.wall_paced", lang, n=8, steps=40, seconds="(S)", wall="(W)"))
    assert found, [c.value for c in at.caption]
    busy, wall = (float(v) for v in found[0].groups())
    assert busy == pytest.approx(snap.busy_s, abs=0.051) and busy < wall
    # the leaderboard's learning rates, each to 3 significant digits ("0.43" stood by "0.276")
    lrs = list(at.dataframe[0].value.iloc[:, 0])
    assert all(len(re.sub(r"^[0.]+", "", lr).replace(".", "")) == 3 for lr in lrs), lrs
    # how far below the median model the best ends, in numbers (the preset's sentence)
    best, median, ratio = _below_median_shown(at, lang)
    low, mid, times = V.below_median(snap.final_loss)
    assert best == pytest.approx(low, rel=5e-3) and median == pytest.approx(mid, rel=5e-3)
    assert _number(ratio) == pytest.approx(times, rel=0.03)
    assert not at.exception


def test_each_view_greys_out_the_settings_its_sweeps_do_not_read():
    """An audit: on BN the caption says only the seed applies, yet Trials per design, Models
    in a random sweep and Steps per model stayed active; other pages grey such settings."""
    for view, uses in V.USES.items():
        at = page(PAGE, view=view)
        assert not at.exception, view
        disabled = {w.key.split(".")[-1]: w.disabled for w in [*at.number_input, *at.selectbox,
                    *at.select_slider, *at.segmented_control] if (w.key or "").startswith(
                    "hyperparams.") and w.key.split(".")[-1] in ("trials", "models", "steps",
                    "seed")}  # fmt: skip
        assert disabled == {f: f not in uses for f in disabled} and len(disabled) == 4, view
        assert t("app.unused_settings") in [c.value for c in at.sidebar.caption], view
