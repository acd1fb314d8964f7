"""Every page runs without an exception (AppTest); the lab trains live and obeys its buttons."""

import ast
import re
import time
from pathlib import Path

import pytest
import streamlit
from streamlit.runtime.scriptrunner import magic
from streamlit.testing.v1 import AppTest

from bnviz import pool
from bnviz.config import specs
from bnviz.i18n import listed, strings, t
from bnviz.train import Trainer
from bnviz.ui import live
from bnviz.ui.common import PageContext, plain, setting_name
from tests.helpers import (
    click,
    figures,
    full_speed,
    leave_idle,
    link_note,
    rerun_until,
    shown_runs,
    trace_lengths,
    wait_for_runs,
)
from tests.test_fuzz import PAGE_SETTINGS, open_page

ROOT = Path(__file__).resolve().parent.parent
PAGES = sorted(p.name for p in (ROOT / "pages").glob("[0-9][0-9]_*.py"))
TIMEOUT = 60


def page(name: str, **params) -> AppTest:
    """Open a page through the router, as a browser would, with URL parameters."""
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=TIMEOUT)
    if "lang" in params:  # the language is fixed on a session's first run
        at.session_state["lang"] = params["lang"]
    at.run()
    at.switch_page(f"pages/{name}")
    for key, value in params.items():
        at.query_params[key] = value
    return at.run()


def test_app_router_shows_home_in_both_languages():
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=TIMEOUT).run()
    assert not at.exception
    assert "bnviz" in at.title[0].value
    switch = at.get("button_group")[0]
    assert switch.options == ["English", "中文"]
    switch.set_value("zh").run()  # through the router (app.py), as a click is
    assert not at.exception and "看神经网络" in at.title[0].value
    assert at.get("button_group")[0].label == "语言"


def _magic_changes(source: str) -> bool:
    """Whether Streamlit's "magic" would write something of this script to the page (by its
    own transform)."""
    return any(
        isinstance(node, ast.Name) and node.id == magic.MAGIC_MODULE_NAME
        for node in ast.walk(magic.add_magic(source, "page.py"))
    )  # a write through the module magic imports (the import itself is an alias, not a Name)


def test_magic_is_off_and_no_page_needs_it():
    """.streamlit/config.toml turns magic off (Streamlit then compiles a page from its source
    instead of parsing it into AST objects on every run, a parse that once raised CPython 3.11's
    "AST constructor recursion depth mismatch" in a test run); a bare expression would now
    show nothing, so none is left in a page."""
    assert streamlit.config.get_option("runner.magicEnabled") is False  # read as AppTest reads it
    for path in [ROOT / "app.py", *(ROOT / "pages").glob("*.py")]:
        assert not _magic_changes(path.read_text()), path.name
    assert _magic_changes('"""doc"""\nx = 1\nx\n')  # the check sees a bare expression
    assert not _magic_changes('"""doc"""\nx = 1\nprint(x)\n')


@pytest.mark.parametrize("name", PAGES)
@pytest.mark.parametrize("lang", ["en", "zh"])
def test_every_page_runs(name, lang):
    at = page(name, lang=lang)
    assert not at.exception, at.exception
    assert at.title
    cjk = any("\u4e00" <= ch <= "\u9fff" for ch in at.title[0].value)
    assert cjk == (lang == "zh")  # the page really is in the asked language


def test_bad_url_values_fall_back_with_a_note():
    at = page("01_batchnorm_lab.py", depth="99", lr="fast", width="32")
    assert not at.exception
    notes = " ".join(i.value for i in at.warning)
    assert "depth" in notes and "lr" in notes
    assert at.session_state["lab.width"] == 32  # a good value is kept


def test_several_bad_url_values_share_one_note():
    """An audit: three bad values stacked three full-width notes, and the standardization
    contours started at 540 px, mostly below the first screen. One box, a line each."""
    at = page("02_standardization.py", scale="abc", lr="-1", steps="0")
    assert not at.exception
    boxes = [w.value for w in at.warning if "not allowed here" in w.value]
    assert len(boxes) == 1 and boxes[0].count("not allowed here") == 3, boxes
    assert all(name in boxes[0] for name in ("(scale)”", "; lr)”", "“Steps”")), boxes


@pytest.mark.parametrize(
    "lang, said",
    [
        ("en", "The link's value “99” for “Hidden layers (depth)” is not allowed here; using “10”"
               " instead. It takes 1 to 15."),
        ("zh", "链接里“隐藏层数（depth）”的值“99”不可用，已改用“10”。可用范围：1 到 15。"),
    ],
)  # fmt: skip
def test_a_note_on_a_link_value_names_its_control_and_what_it_takes(lang, said):
    """Audit 30: notes named a setting by its key in the link ("depth", an English code word on
    a Chinese page, naming no control a teacher sees), and said a number was "not allowed"
    without saying what is. A view's label was quoted twice in Chinese (““1 · ln C””)."""
    at = page("03_initialization.py", depth="99", lang=lang)
    assert not at.exception
    assert [w.value for w in at.warning] == [said]
    at = page("08_babysitting.py", view="nope", lang=lang)
    (note,) = [w.value for w in at.warning if "nope" in w.value]
    assert "““" not in note and "””" not in note, note
    at = page("02_standardization.py", seed="-1", lang=lang)  # a seed's range too (audit 31)
    (note,) = [w.value for w in at.warning]
    assert note.endswith("0 到 2,147,483,647。" if lang == "zh" else " 0 to 2,147,483,647."), note
    at = page("09_hyperparams.py", trials="7", lang=lang)  # a number from a few: which
    (note,) = [w.value for w in at.warning]
    assert note.endswith("可用的值：9 或 25。" if lang == "zh" else " It takes 9 or 25."), note
    at = open_page("00_home.py", {"lang": "xx"})  # home says it too, naming the control
    assert [w.value for w in at.warning] == [link_note("home", "lang", "xx", "English")]
    assert "Language (lang)" in at.warning[0].value


@pytest.mark.parametrize(
    "lang, said",
    [
        ("en", "“Weight decay (check 4; weight_decay)”"),
        ("zh", "“权重衰减（检查 4；weight_decay）”"),
    ],
)
def test_a_note_names_a_bracketed_label_s_key_inside_its_brackets(lang, said):
    """Audit 38: "“Weight decay (check 4) (weight_decay)”", two brackets in a row; and
    "“Shift of both inputs (offset) (offset)”"; a formula's brackets are not a label's."""
    at = page("08_babysitting.py", weight_decay="abc", view="gap", lang=lang)
    (note,) = [w.value for w in at.warning]
    assert said in note and ") (" not in note and "）（" not in note, note
    at = page("02_standardization.py", offset="abc", lang=lang)
    assert all("(offset) (offset)" not in w.value for w in at.warning)
    ctx = PageContext(name="activations", lang="en", params={}, hidden=set())
    assert setting_name(ctx, "leaky_slope") == "Leaky ReLU slope a in max(a·x, x) (leaky_slope)"


@pytest.mark.parametrize(
    "lang, takes",
    [
        ("en", " It takes BatchNorm, LayerNorm, InstanceNorm or GroupNorm."),
        ("zh", "可用的值：BatchNorm、LayerNorm、InstanceNorm 或 GroupNorm。"),
    ],
)
def test_a_note_on_a_word_from_a_few_says_which_it_takes(lang, takes):
    """An audit: kind=foo said "using BatchNorm instead" and not what else there is, as a
    number's note says its range. The same for a view, and a dataset this server offers."""
    at = page("10_normalization.py", kind="foo", lang=lang)
    assert not at.exception
    (note,) = [w.value for w in at.warning]
    assert note.endswith(takes), note
    at = page("08_babysitting.py", view="nope", lang=lang)
    (note,) = [w.value for w in at.warning]
    said = takes.split("BatchNorm")[0]  # " It takes " / "可用的值："
    first, last = (t(f"babysitting.view.{v}", lang) for v in ("init_loss", "weights"))
    assert f"{said}{first}" in note and note.endswith(f"{last}{takes[-1]}"), note
    at = page("01_batchnorm_lab.py", dataset="foo", lang=lang)
    (note,) = [w.value for w in at.warning]
    assert f"{said}{t('options.spirals', lang)}" in note and "MNIST" not in note, note
    # between two Chinese words "或" has no spaces (an audit read "梯度 或 决策边界")
    at = page("01_batchnorm_lab.py", view="nope", lang=lang)
    (note,) = [w.value for w in at.warning]
    gradients, boundary = (t(f"lab.views.{v}", lang) for v in ("gradients", "boundary"))
    joined = "或" if lang == "zh" else " or "
    assert note.endswith(f"{gradients}{joined}{boundary}{takes[-1]}"), note


@pytest.mark.parametrize(
    "lang, lab_said, stats_said",
    [
        ("en", "The link's value “99999” for “First step shown (shown_from)” is not allowed here;"
               " using “0” instead. It takes 0 to 1,499.",
               "The link's value “abc” for “BN layer (layer)” is not allowed here; using “2”"
               " instead. It takes 1 to 3."),
        ("zh", "链接里“显示的第一步（shown_from）”的值“99999”不可用，"
               "已改用“0”。"
               "可用范围：0 到 1,499。",
               "链接里“BN 层（layer）”的值“abc”不可用，已改用“2”。可用范围：1 到 3。"),
    ],
)  # fmt: skip
def test_a_note_on_a_picker_says_the_range_of_the_net_shown(lang, lab_said, stats_said):
    """Audit 31: the running-statistics page named its layer and unit by their keys, and its
    "abc" for the layer said "It takes 1 to 10" on a net of 3 layers; the lab's step pickers
    were named by key too, and a count of 1,499 was written "1500" (three digits)."""
    at = page("01_batchnorm_lab.py", shown_from="99999", lang=lang)
    assert not at.exception
    assert [w.value for w in at.warning] == [lab_said]
    at = page("05_running_stats.py", layer="abc", lang=lang)
    assert not at.exception
    assert [w.value for w in at.warning] == [stats_said]
    at = page("05_running_stats.py", layer="9", lang=lang)  # past the net's 3
    (note,) = [w.value for w in at.warning]
    assert note.endswith("1 到 3。" if lang == "zh" else "It takes 1 to 3."), note


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_every_setting_a_page_reads_from_its_link_names_a_control(lang):
    """A note on a link's value names the setting by its control's label (audit 30); the
    running-statistics and lab pickers had none, and said "layer", "unit", "shown_from"."""
    table = strings(lang)
    unnamed = {}
    for name, classes in PAGE_SETTINGS.items():
        found = re.search(r'page\.begin\("(\w+)"', (ROOT / "pages" / name).read_text())
        prefix = found.group(1) if found else None
        keys = [k for cls in classes for k in specs(cls)]
        missing = [
            k for k in keys if f"{prefix}.field.{k}" not in table and f"fields.{k}" not in table
        ]
        if missing:
            unnamed[name] = missing
    assert unnamed == {}


def test_hide_removes_controls():
    at = page("01_batchnorm_lab.py", hide="lr,depth,presets")
    labels = {w.label for w in at.select_slider} | {w.label for w in at.number_input}
    assert "Learning rate" not in labels and "Hidden layers" not in labels
    assert not [g for g in at.get("button_group") if g.proto.id.endswith("lab.preset")]
    assert not [s for s in at.select_slider if s.label.startswith("Learning rate now")]


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_lab_sentence_states_the_default_claim_only_on_the_defaults(lang):
    """An audit: at ?lr=10 the lab still said "with BN the test accuracy passes 95 % sooner;
    without it the training loss usually ends lower" over a run where neither held. Settings of
    one's own get a sentence of what to compare; "pick a preset" only where presets are shown."""
    default, custom = t("lab.look_for.default", lang), t("lab.look_for.custom", lang)
    hint = t("lab.look_for.presets", lang)
    said = page("01_batchnorm_lab.py", lang=lang, seed="3").info  # another seed: the defaults
    assert [i.value for i in said if i.value.startswith(default)] == [
        default + ("" if lang == "zh" else " ") + hint
    ]  # fmt: skip
    said = [i.value for i in page("01_batchnorm_lab.py", lang=lang, depth="3").info]
    assert custom + ("" if lang == "zh" else " ") + hint in said, said
    assert not [s for s in said if default in s], said
    said = [i.value for i in page("01_batchnorm_lab.py", lang=lang, hide="presets").info]
    assert default in said, said  # no hint of presets that are not there
    assert not [s for s in said if hint in s], said


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_bn_with_batch_one_explains_and_the_net_without_bn_trains(lang):
    """Batch size 1: the BN net cannot train and the page says why; its partner without BN can,
    and trains (the lab showed no chart at all when one of its pair could not train)."""
    at = page("01_batchnorm_lab.py", batch_size="1", steps="60", seed="13", lang=lang)
    assert not at.exception
    said = [w.value for w in at.warning]
    assert said == [t("errors.bn_batch1_others", lang)], said  # the short one: the pair's half
    sentences = [i.value for i in at.info]
    assert any(v.startswith(t("lab.look_for.batch1", lang)) for v in sentences), sentences
    runs = shown_runs("lab")
    assert set(runs) == {"plain"}, runs  # no BN run was started
    assert runs["plain"].spec.batch_size == 1 and not runs["plain"].spec.batchnorm
    full_speed(at, "lab")
    done = t("run.state.finished", lang)
    rerun_until(at, lambda a: all(done in p.proto.text for p in a.get("progress")))
    assert len(at.get("progress")) == 1  # one run's status line
    assert at.get("progress")[0].proto.text.startswith(t("lab.run.plain", lang))
    start, reset = (
        next(b for b in at.button if b.label == t(f"run.{n}", lang)) for n in ("start", "reset")
    )
    assert start.disabled and not reset.disabled  # what can train has
    for view in ("loss", "percentiles", "histograms", "health", "gradients", "boundary"):
        at.button_group(key="lab.view").set_value(view).run()
        assert not at.exception, view
        figs = figures(at)
        assert figs and all(fig["data"] for fig in figs), view


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_batch_one_on_the_lab_defaults_states_the_checked_claim(lang):
    """lab.look_for.batch1_default (checked over seeds 0-4 in test_lab_claims) on the defaults
    at batch size 1, any seed; not the pair's sentence, which speaks of two networks."""
    from bnviz.lessons.batchnorm_lab import DEFAULT, pair

    at = page("01_batchnorm_lab.py", batch_size="1", seed="3", lang=lang)
    said = [i.value for i in at.info]
    assert any(v.startswith(t("lab.look_for.batch1_default", lang)) for v in said), said
    assert not [v for v in said if t("lab.look_for.custom", lang) in v]
    run = shown_runs("lab")["plain"]  # the run the sentence is about: the defaults, batch 1
    assert run.spec == pair(DEFAULT.replace(batch_size=1, seed=3))["plain"]
    leave_idle(at)


def test_a_tab_opening_an_idle_paused_run_can_pause_it():
    """A shared run nobody watched for 20 s is idle-paused; the next tab to open it resumes it
    and its buttons say so (Pause enabled, Resume disabled), on the lab's streamed loss view."""
    from bnviz.ui.common import scheduler

    at = page("01_batchnorm_lab.py", steps="100000", seed="12")
    sched, run = scheduler(), shown_runs("lab")["plain"]
    rerun_until(at, lambda _: sched.poll(run.run_id).state == "running")
    sched.control(run.run_id, "pause")
    run.auto_paused = True  # as the reaper pauses a run nobody polls
    deadline = time.monotonic() + TIMEOUT
    while run.snapshot.state != "paused":  # no page rerun meanwhile: its poll would resume it
        assert time.monotonic() < deadline, run.snapshot.state
        time.sleep(0.05)
    at.run()  # the tab comes back (or a new one opens the shared run)
    buttons = {b.label: b.disabled for b in at.button}
    assert buttons["Pause"] is False and buttons["Resume"] is True, buttons
    assert sched.poll(run.run_id).state == "running"
    sched.control(run.run_id, "stop")


def test_lab_trains_live_pauses_and_every_view_draws():
    at = page("01_batchnorm_lab.py", steps="3000", seed="11")  # starts on its own, classroom pace
    assert next(b for b in at.button if b.label == "Start").disabled  # already training
    rerun_until(
        at, lambda a: len(figures(a)) == 2 and max(trace_lengths(figures(a)[0]), default=0) >= 3
    )
    first = max(trace_lengths(figures(at)[0]), default=0)
    rerun_until(
        at, lambda a: max(trace_lengths(figures(a)[0]), default=0) > first
    )  # the loss chart grows
    for view in ("percentiles", "histograms", "health", "gradients", "boundary"):
        at.button_group(key="lab.view").set_value(view).run()
        assert not at.exception
        figs = figures(at)
        assert figs and all(fig["data"] for fig in figs), view
    full_speed(at, "lab")
    rerun_until(at, lambda a: all("finished" in p.proto.text for p in a.get("progress")))
    assert at.query_params["view"] == "boundary" and at.query_params["steps"] == "3000"
    assert "view=boundary" in at.code[-1].value  # the share link


def _buttons(at) -> dict[str, bool]:
    """The run buttons: label -> enabled."""
    names = ("Start", "Pause", "Resume", "Step", "Reset")
    return {b.label: not b.disabled for b in at.button if b.label in names}


def _steps(at) -> list[int]:
    return [int(re.search(r"step (\d+) /", p.proto.text).group(1)) for p in at.get("progress")]


def test_pause_step_and_resume_draw_the_state_they_made():
    """An audit (5): the rerun after a click drew the buttons before the worker had acted. After
    Pause: "training", Pause enabled, Resume off; after Resume: "paused" and no redraw timer,
    a frozen page while the run trained on; a Step showed nothing until the next one."""
    at = page("01_batchnorm_lab.py", steps="100000", seed="14", view="percentiles")
    rerun_until(at, lambda a: len(_steps(a)) == 2 and min(_steps(a)) > 0)
    click(at, "Pause")  # what is drawn right after the click, with no rerun in between
    assert all("paused" in p.proto.text for p in at.get("progress")), _steps(at)
    assert _buttons(at) == {"Start": False, "Pause": False, "Resume": True, "Step": True,
                            "Reset": True}  # fmt: skip
    for _ in range(3):
        before = _steps(at)
        click(at, "Step")
        assert _steps(at) == [s + 1 for s in before]  # every run, by exactly one
    click(at, "Resume")
    assert all("training" in p.proto.text for p in at.get("progress"))
    assert _buttons(at) == {"Start": False, "Pause": True, "Resume": False, "Step": False,
                            "Reset": True}  # fmt: skip
    click(at, "Pause")


def test_a_resume_between_the_buttons_and_the_chart_redraws_the_buttons(monkeypatch):
    """CI: another tab's Resume reached a run after the page had drawn its buttons (paused) and
    before its live panel polled (training); the panel saw nothing to redraw, and the teacher's
    tab showed Pause and Resume both enabled while both runs trained."""
    from bnviz.ui.common import scheduler

    at = page("01_batchnorm_lab.py", steps="100000", seed="15", view="percentiles")
    rerun_until(at, lambda a: len(_steps(a)) == 2 and min(_steps(a)) > 0)
    click(at, "Pause")
    assert _buttons(at)["Resume"] and not _buttons(at)["Pause"]
    sched, panel, armed = scheduler(), live.live_panel, [True]

    def resumed_in_between(ctx, runs, *args, **kwargs):
        if armed and armed.pop():  # the other tab's Resume, once, after the buttons are drawn
            ids = [r.run_id for r in runs.values() if r is not None]
            for run_id in ids:
                sched.control(run_id, "resume")
            deadline = time.monotonic() + TIMEOUT
            while any(sched.poll(i).state != "running" for i in ids):
                assert time.monotonic() < deadline
                time.sleep(0.02)
        return panel(ctx, runs, *args, **kwargs)

    monkeypatch.setattr(live, "live_panel", resumed_in_between)
    at.run()
    assert not armed and not at.exception
    assert all("training" in p.proto.text for p in at.get("progress"))
    assert _buttons(at) == {"Start": False, "Pause": True, "Resume": False, "Step": False,
                            "Reset": True}  # fmt: skip
    click(at, "Pause")


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_a_greyed_out_start_says_why_and_what_replays_a_run(lang):
    """Audit 34: Start was greyed out on every screen (pages start their runs themselves) and
    a teacher looked for it to replay a run; its tooltip says when it is for, and Reset."""
    at = page("01_batchnorm_lab.py", lang=lang)
    start = at.button(key="lab.run.start")
    assert start.disabled and start.help == t("run.start_help", lang)
    assert t("run.reset", lang) in start.help  # names the button that trains again


def test_pause_stops_the_pair_at_one_step(monkeypatch):
    """Audit 21: a pause reached each run's worker at its own moment, so the lab's pair stood
    at steps 68 and 76 (and Step kept them 8 apart). The page now pauses its runs at one step a
    little ahead of the furthest (here at about 3300 steps/s: a slice apart is ~150 steps)."""
    at = page("01_batchnorm_lab.py", steps="100000", seed="13", view="percentiles")
    rerun_until(at, lambda a: len(_steps(a)) == 2 and min(_steps(a)) > 100)
    # the wait after which a worker pauses a run where it is (test_runner) held off: in CI, a
    # loaded machine, the run behind needed over 3 s for ~150 steps and paused at 297 of 316
    monkeypatch.setattr(pool, "PAUSE_WAIT_S", 60.0)
    monkeypatch.setattr(live, "PAUSE_WAIT_S", 60.0)
    before = _steps(at)
    click(at, "Pause")
    assert all("paused" in p.proto.text for p in at.get("progress")), _steps(at)
    plain, bn = _steps(at)
    assert plain == bn > max(before), (before, plain, bn)
    click(at, "Step")
    assert _steps(at) == [bn + 1, bn + 1]


def test_a_rate_changed_by_hand_is_named_under_the_share_link():
    """An audit (6): after "Learning rate now" moved to 0.1 the share link, captioned "same
    settings and seed", still opened the run at lr 1, and nothing said so."""
    at = page("01_batchnorm_lab.py", steps="100000", seed="15", view="percentiles")
    rerun_until(at, lambda a: len(_steps(a)) == 2 and min(_steps(a)) > 0)
    note = t("run.steered_link", lr="1")
    assert note not in [c.value for c in at.sidebar.caption]
    (rate,) = [s for s in at.select_slider if s.label.startswith("Learning rate now")]
    rate.set_value(0.1).run()
    assert note in [c.value for c in at.sidebar.caption]
    assert "lr" not in at.query_params  # the link itself is the settings'
    leave_idle(at)


def test_the_live_rate_reads_the_rate_of_the_runs_shown_after_they_end():
    """Audit 9: after a preset's runs at lr 3 had ended, "Learning rate now" read 1.0: the
    slider of every pair with no live run shared one key, which kept the value it was first
    drawn with whenever the page never drew the new pair live (a streamed chart does not
    rerun the page while it trains; a pair already trained ends at once)."""

    def rate(at) -> float:
        (slider,) = [s for s in at.select_slider if s.label.startswith("Learning rate now")]
        return slider.value

    def ended_at(lr):
        def ended(at) -> bool:
            runs = shown_runs("lab").values()
            return len(runs) == 2 and all(r.snapshot.done and r.snapshot.lr == lr for r in runs)

        return ended

    at = page("01_batchnorm_lab.py", steps="40", seed="43", lr="0.5")
    full_speed(at, "lab")
    wait_for_runs(at, ended_at(0.5))
    at.select_slider(key="lab.lr").set_value(1.0).run()  # another pair: trains and ends
    wait_for_runs(at, ended_at(1.0))
    assert rate(at) == 1.0
    at.select_slider(key="lab.lr").set_value(0.5).run()  # the first pair: ended already
    assert ended_at(0.5)(at)
    assert rate(at) == 0.5  # the runs shown trained at 0.5 (the old key read 1.0)
    # its values written as the settings' slider writes them: "1", not "1.0" (audit 16)
    (slider,) = [s for s in at.select_slider if s.label.startswith("Learning rate now")]
    assert "1" in slider.options and "0.5" in slider.options and "1.0" not in slider.options


def _extremes():
    from bnviz.config import RunConfig, specs

    cases = []
    for name, spec in specs(RunConfig).items():
        if spec.choices:
            cases += [{name: str(c)} for c in spec.choices]
        elif spec.kind is not bool:
            cases += [{name: str(spec.lo)}, {name: str(spec.hi)}]
    return cases


def test_every_control_at_its_extremes_renders():
    at = page("01_batchnorm_lab.py")
    for params in _extremes():
        at.query_params.clear()
        for key, value in params.items():
            at.query_params[key] = value
        at.session_state["lab.__seeded"] = False  # re-read the URL like a fresh visit
        at.run()
        assert not at.exception, params


def test_a_diverging_run_says_so_on_the_page():
    at = page("01_batchnorm_lab.py", activation="relu", init="large", lr="10.0", depth="6")
    rerun_until(at, lambda a: any("diverged at step" in w.value for w in a.warning))
    assert not at.exception


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_a_run_that_fails_says_so_in_the_pages_language(monkeypatch, lang):
    """A run whose training raised: the page says so in its language and what to press; the
    exception's text (English, whatever the language) only in small print under it. It was
    "{label} 出错停止：RuntimeError: …", the English inside the Chinese sentence."""
    original = Trainer.next_batch

    def fails(self):
        if self.cfg.seed == 661 and self.step_count >= 3:
            raise RuntimeError("a *failed* step")
        return original(self)

    monkeypatch.setattr(Trainer, "next_batch", fails)
    at = page("01_batchnorm_lab.py", seed="661", lang=lang)
    said = t("run.error", lang, label="").strip()
    rerun_until(at, lambda a: any(said in e.value for e in a.error))
    detail = t("run.error_detail", lang, error=plain("RuntimeError: a *failed* step"))
    assert detail in [c.value for c in at.caption]
    assert not any("RuntimeError" in e.value for e in at.error)
    assert not at.exception


def test_every_page_opens_again_after_the_others_and_keeps_its_settings():
    """A class moves between lessons in one tab: a second visit neither raises (the
    preprocessing page once read a widget key Streamlit had forgotten) nor resets settings."""
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=TIMEOUT).run()
    at.switch_page("pages/02_standardization.py").run()
    at.session_state["standardization.scale"] = 10.0
    at.run()
    for name in [*PAGES, *PAGES]:  # every page twice, each time after all the others
        at.switch_page(f"pages/{name}").run()
        assert not at.exception, (name, at.exception)
    at.switch_page("pages/02_standardization.py").run()
    assert at.session_state["standardization.scale"] == 10.0
    assert at.query_params.get("scale") in (["10.0"], "10.0", ["10"], "10")  # and used


def test_an_unknown_url_key_is_named_and_left_out_of_the_link():
    """An audit: ?learning_rate=0.1 (the lab's key is lr), or lr= on a page without it, loaded
    the defaults and said nothing."""
    at = page("01_batchnorm_lab.py", learning_rate="0.1", depth="3")
    warned = [w.value for w in at.sidebar.warning]
    assert warned == [t("app.url_unknown", keys=plain("learning_rate"))], warned
    assert dict(at.query_params) == {"depth": "3"}  # the link keeps the good value only
    at = page("09_hyperparams.py", lr="abc")
    assert [w.value for w in at.sidebar.warning] == [t("app.url_unknown", keys="lr")]
    at = page("01_batchnorm_lab.py", foo="1", bar="2")  # two: "leaves them out" (an audit)
    warned = [w.value for w in at.sidebar.warning]
    assert warned == [t("app.url_unknown_many", keys=listed(["bar", "foo"], "en"))], warned


@pytest.mark.parametrize("name", [p for p in PAGES if p != "00_home.py"])
def test_every_link_a_page_writes_opens_without_an_unknown_key(name):
    """Each key a page writes into its link (a preset's settings, its view) is one it reads
    back: a share link never says "not a setting of this page"."""
    at = page(name)
    rows = ("preset", "view")
    groups = {g.key: g.options for g in at.get("button_group") if g.key.endswith(rows)}
    assert groups, name
    links = []
    for key, options in groups.items():
        at = page(name)  # each row on the page as opened (why BN's presets leave other views)
        for option in options[1:3] or options:  # two besides the first (a lone preset: it)
            at.button_group(key=key).set_value(option).run()
            links.append(dict(at.query_params))  # str values: [0] kept their first letter
    assert any(links), links  # the choices changed the link
    for link in links:
        shared = page(name, **link)
        assert not shared.exception
        assert not [w.value for w in shared.sidebar.warning if "not used" in w.value], link


def test_lab_greys_out_the_layer_and_step_window_where_a_view_does_not_use_them():
    """An audit: "Steps shown" and "Layer" changed nothing on Loss & accuracy, yet looked
    usable (every other unused setting in the app is greyed out)."""
    at = page("01_batchnorm_lab.py")
    enabled = {}
    for view in ("loss", "percentiles", "histograms", "boundary"):
        at.button_group(key="lab.view").set_value(view).run()
        layer = next(s for s in at.sidebar.selectbox if s.label == t("lab.field.layer"))
        window = next(s for s in at.sidebar.slider if s.label == t("run.window"))
        enabled[view] = (not layer.disabled, not window.disabled)
    assert enabled == {
        "loss": (False, False), "percentiles": (True, True),
        "histograms": (False, True), "boundary": (False, False),
    }  # fmt: skip
    leave_idle(at)


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_a_key_given_twice_is_said_with_the_value_read(lang):
    """Audit 23: seed=1&seed=2 used seed 2 (Streamlit reads the last) and said nothing."""
    at = page("05_running_stats.py", seed=["1", "2"], lr="inf", lang=lang)
    assert not at.exception
    twice = t("app.url_twice", lang, name="seed", n=2, values=listed(["1", "2"], lang), last="2")
    assert twice in at.warning[0].value.split("  \n"), at.warning[0].value
    assert at.session_state["running_stats.seed"] == 2 and at.query_params["seed"] == "2"
    leave_idle(at)


def _lab_pickers(at):
    layer = next(s for s in at.sidebar.selectbox if s.label == t("lab.field.layer"))
    return layer, next(s for s in at.sidebar.slider if s.label == t("run.window"))


def test_lab_layer_and_steps_shown_are_in_the_share_link():
    """Audit 23: the teacher showed layer 2 over steps 0-750; the share link carried neither,
    and a student's tab showed layer 3 over every step, with other numbers in the caption."""
    at = page("01_batchnorm_lab.py", view="percentiles", seed="62")
    layer, window = _lab_pickers(at)
    layer.set_value(1).run()  # layer 2 of 4
    _lab_pickers(at)[1].set_value((0, 750)).run()
    link = {k: at.query_params[k] for k in at.query_params}
    assert (link["layer"], link["shown_to"]) == ("2", "750"), link
    for tab in (at, page("01_batchnorm_lab.py", **link)):  # the teacher's and a student's
        layer, window = _lab_pickers(tab)
        assert (layer.value, window.value) == (1, (0, 750))
        title = t("lab.fig.percentiles_pre", layer=2)
        rerun_until(tab, lambda a, want=title: figures(a)[0]["layout"]["title"]["text"] == want)
        leave_idle(tab)
    _lab_pickers(at)[0].set_value(3).run()  # the deepest again, the whole run: a short link
    _lab_pickers(at)[1].set_value((0, 1500)).run()
    assert not {"layer", "shown_to", "shown_from"} & set(at.query_params), dict(at.query_params)
    # past the pair: the deepest layer and the whole run, said
    at = page("01_batchnorm_lab.py", view="percentiles", layer="7", shown_to="5000", seed="62")
    said = [w.value for w in at.warning]
    for name, text, allowed in (("layer", "7", (1, 4)), ("shown_to", "5000", (0, "1,500"))):
        note = link_note("lab", name, text, t(f"options.{name}.none"), allowed=allowed)
        assert note in said[0].split("  \n"), said
    assert (_lab_pickers(at)[0].value, _lab_pickers(at)[1].value) == (3, (0, 1500))
    leave_idle(at)


@pytest.mark.parametrize("name", [n for n in PAGES if n != "00_home.py"])
def test_a_view_control_sent_without_a_value_keeps_the_links_view(name):
    """An audit: a click on the classroom-pace toggle during a tab's first script run sent the
    views' control with no value (None), and babysitting raised KeyError: None. The page now
    shows the link's view. (A lesson without views reads no view= either: its link says so.)"""
    at = page(name)
    keys = [g.key for g in at.get("button_group") if g.key.endswith(".view")]
    if not keys:  # views are optional (README, "Adding a lesson")
        warned = [w.value for w in page(name, view="x").sidebar.warning]
        assert warned == [t("app.url_unknown", keys="view")], warned
        return
    (key,) = keys
    at.button_group(key=key).set_value(at.button_group(key=key).options[1]).run()
    view, link = at.button_group(key=key).value, at.query_params["view"]
    assert view and link
    at.session_state[key] = None  # what the browser sent
    at.run()
    assert not at.exception, at.exception
    assert at.button_group(key=key).value == view and at.query_params["view"] == link


SEEDED = {  # pages whose presets set settings; babysitting's pick a view only
    "01_batchnorm_lab.py": "lab",
    "02_standardization.py": "standardization",
    "03_initialization.py": "initialization",
    "04_activations.py": "activations",
    "05_running_stats.py": "running_stats",
    "06_why_bn.py": "why_bn",
    "07_preprocessing.py": "preprocessing",
    "09_hyperparams.py": "hyperparams",
}


@pytest.mark.parametrize("name", sorted(SEEDED))
def test_every_preset_keeps_the_classs_seed_and_its_sentence(name):
    """A preset keeps the seed shown (its claim holds for seeds 0-4). An audit: on
    /initialization?seed=3 every preset set the seed back to 0, and the share link lost it."""
    key = SEEDED[name]
    at = page(name, seed="3")
    presets = at.button_group(key=f"{key}.preset").options
    assert presets
    for preset in at.button_group(key=f"{key}.preset").proto.options:
        at.button_group(key=f"{key}.preset").set_value(preset.content).run()
        assert not at.exception, (preset.content, at.exception)
        assert at.session_state[f"{key}.seed"] == 3, preset.content
        assert at.query_params.get("seed") in ("3", ["3"]), preset.content  # in the link
        assert at.button_group(key=f"{key}.preset").value is not None, preset.content  # matched


def _warned(at) -> list[str]:
    return [w.value for w in at.warning]


def test_a_link_value_the_control_cannot_show_is_said():
    """Audit 10: the lab's momentum control has no "cumulative" (the running-statistics page's
    toggle), so ?bn_momentum=none became 0.1 with no word."""
    at = page("01_batchnorm_lab.py", bn_momentum="none", depth="3")
    assert not at.exception
    said = link_note("lab", "bn_momentum", "none", "0.1")
    assert said in _warned(at), _warned(at)
    assert dict(at.query_params) == {"depth": "3"}  # the link says what trains: 0.1
    at = page("05_running_stats.py", bn_momentum="none")  # a value this page can show
    assert not at.exception and not _warned(at)


def test_a_layer_or_unit_past_the_net_is_said():
    """Audit 10: ?layer=10 on a 3-layer net showed layer 3 and rewrote the link, silently."""
    at = page("05_running_stats.py", layer="10")
    assert not at.exception
    said = link_note("running_stats", "layer", "10", 3, allowed=(1, 3))  # the net's range
    assert said in _warned(at), _warned(at)
    assert dict(at.query_params)["layer"] == "3"
    at = page("05_running_stats.py", unit="8", width="4")
    said = link_note("running_stats", "unit", "8", 4, allowed=(1, 4))
    assert said in _warned(at), _warned(at)
    at = page("05_running_stats.py", layer="3", unit="3")  # on the net: nothing to say
    assert not _warned(at) and dict(at.query_params)["layer"] == "3"


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_a_note_names_the_value_used_as_the_controls_do(lang):
    """Audit 10: the notes said "using xavier", "using None", "using False" (in Chinese too)."""
    at = page("01_batchnorm_lab.py", init="bogus", standardize="maybe", train_limit="x", lang=lang)
    assert not at.exception
    for name, text, default in (
        ("init", "bogus", t("options.xavier", lang)),
        ("standardize", "maybe", t("options.on", lang)),
        ("train_limit", "x", t("options.train_limit.none", lang)),
    ):
        said = link_note("lab", name, text, default, lang)
        assert any(said in w for w in _warned(at)), (said, _warned(at))


def test_a_hide_name_that_hides_nothing_is_said_and_left_out_of_the_link():
    """Audit 10: ?hide=learning_rate (a typo for lr) left the control shown and said nothing."""
    at = page("01_batchnorm_lab.py", hide="learning_rate,lr")
    assert not at.exception
    warned = [w.value for w in at.sidebar.warning]
    assert warned == [t("app.hide_unknown", names=plain("learning_rate"))], warned
    assert dict(at.query_params)["hide"] == "lr"  # what hides something stays in the link
    at = page("05_running_stats.py", hide="compare,bn_momentum,presets")  # the page's own
    assert not at.sidebar.warning and dict(at.query_params)["hide"] == "bn_momentum,compare,presets"
    at = page("05_running_stats.py", hide="layer,unit", layer="3")  # the link's, no control
    assert not at.sidebar.warning and not at.exception
    assert not [s for s in at.selectbox if s.label == t("running_stats.field.layer")]
    assert dict(at.query_params)["layer"] == "3"
    at = page("03_initialization.py", hide="compare", compare="he,xavier")
    assert not at.sidebar.warning and not at.exception and not at.multiselect
    assert at.session_state["initialization.compare"] == ["he", "xavier"]
    assert dict(at.query_params)["compare"] == "he,xavier"  # and the share link keeps them
    at = page("01_batchnorm_lab.py", norm="batchnorm")  # the lab trains both: not its setting
    assert [w.value for w in at.sidebar.warning] == [t("app.url_unknown", keys="norm")]
    assert "norm" not in at.query_params


def test_a_link_s_notes_stay_for_the_visit_while_their_settings_keep_those_values():
    """Audit 13: "… is not allowed here; using 1 instead" went at the next click (the pace
    toggle), or when a run ended: the link's values are read on the visit's first run, which
    takes them out of the URL. A note stays until its setting changes or the tab leaves."""
    at = page("01_batchnorm_lab.py", lr="50", view="nope", learning_rate="3", seed="1")
    lr_note = link_note("lab", "lr", "50", "1")
    view_note = link_note("lab", "view", "nope", "Loss & accuracy")

    def said() -> str:
        return "\n".join(_warned(at))

    first = said()
    assert lr_note in first and view_note in first and plain("learning_rate") in first, first
    main_boxes = [w.value for w in at.main.warning]
    assert len(main_boxes) == 1, main_boxes  # one box: two pushed the lab's legends off screen
    assert "lr" not in at.query_params
    at.toggle(key="lab.pace").set_value(False).run()  # a click on anything else
    assert lr_note in said() and view_note in said() and plain("learning_rate") in said(), said()
    lr = at.select_slider(key="lab.lr")
    lr.set_value(0.2).run()  # the setting changed by hand: its note has done its work
    assert lr_note not in said() and view_note in said(), said()
    at.session_state["lang"] = "zh"  # the language switched: the notes are said in Chinese
    at.run()
    view_zh = link_note("lab", "view", "nope", "损失与准确率", "zh")
    assert not at.exception and view_note not in said() and view_zh in said(), said()
    assert "““" not in said(), said()  # the view's label quoted once (audit 30 saw ““1 · ln C””)
    assert t("app.url_unknown", "zh", keys=plain("learning_rate")) in said(), said()
    at.switch_page("pages/02_standardization.py").run()
    at.switch_page("pages/01_batchnorm_lab.py").run()  # back: a new visit, no old notes
    assert not at.exception and not _warned(at), _warned(at)
    assert at.select_slider(key="lab.lr").value == 0.2


def test_a_view_on_a_page_without_views_and_a_language_the_app_lacks_are_said():
    """Audit 10: ?view=bogus on standardization and ?lang=fr were dropped without a word."""
    at = page("02_standardization.py", view="bogus")
    assert [w.value for w in at.sidebar.warning] == [t("app.url_unknown", keys="view")]
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=TIMEOUT)
    at.query_params["lang"] = "fr"  # in the link the session opens with
    at.run()
    at.switch_page("pages/01_batchnorm_lab.py")
    at.query_params["lang"] = "fr"
    at.run()
    assert not at.exception
    said = link_note("lab", "lang", "fr", "English")
    assert said in _warned(at), _warned(at)
    at.toggle(key="lab.pace").set_value(False).run()  # kept for the visit
    assert said in _warned(at), _warned(at)
    at.session_state["lang"] = "zh"  # a language picked: the note has done its work
    at.run()
    assert not at.exception and not _warned(at), _warned(at)
    at = page("01_batchnorm_lab.py", lang="zh")  # one it has: nothing said
    assert not _warned(at)


VIEW_PAGES = {  # page: (its name, a view besides the first, the first)
    "01_batchnorm_lab.py": ("lab", "health", "loss"),
    "03_initialization.py": ("initialization", "gradients", "activations"),
    "04_activations.py": ("activations", "zigzag", "function"),
    "05_running_stats.py": ("running_stats", "noise", "live"),
    "06_why_bn.py": ("why_bn", "smooth", "linear"),
    "07_preprocessing.py": ("preprocessing", "contours", "picture"),
    "08_babysitting.py": ("babysitting", "gap", "init_loss"),
    "09_hyperparams.py": ("hyperparams", "importance", "grid"),
}


@pytest.mark.parametrize("name", VIEW_PAGES)
def test_a_lesson_keeps_its_view_after_a_visit_to_another(name):
    """The README's "a lesson keeps its settings and view": preprocessing (and running
    statistics) read the link's view before putting back what the last visit left, so a tab
    back from another lesson showed the first view again (audit 10's helper)."""
    key, view, _ = VIEW_PAGES[name]
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=TIMEOUT).run()
    at.switch_page(f"pages/{name}").run()
    at.session_state[f"{key}.view"] = view
    at.run()
    assert not at.exception and at.session_state[f"{key}.view"] == view
    at.switch_page("pages/02_standardization.py").run()
    at.switch_page(f"pages/{name}").run()
    assert not at.exception
    assert at.session_state[f"{key}.view"] == view


@pytest.mark.parametrize("name", VIEW_PAGES)
def test_going_back_to_the_first_view_says_nothing_about_the_link(name):
    """Audit 11: back on the first view, the link still held the last view's `view=` (the
    first view is not written), the page had read it on its first run only, and said "Not a
    setting of this page, so not used: view", on every page with views, at the most common
    click in class. A key the page read once stays its own: `compare` and `hide=compare` too."""
    key, view, first = VIEW_PAGES[name]
    at = page(name, view=view)
    assert at.session_state[f"{key}.view"] == view and not _warned(at)
    at.session_state[f"{key}.view"] = first
    at.run()
    assert not at.exception and at.session_state[f"{key}.view"] == first
    assert not _warned(at), _warned(at)
    assert "view" not in at.query_params  # the first view is the link without one


def test_a_choice_read_from_the_link_once_stays_the_pages_own():
    """Initialization's `compare` is read on the page's first run only: set back to all inits
    (no `compare=` in the link), the next run called it "not a setting of this page"; and
    `hide=compare`, kept while the link's inits are unread, was called "hides nothing"."""
    at = page("03_initialization.py", view="compare", compare="he,xavier")
    from bnviz.lessons.initialization import INITS

    at.multiselect[0].set_value(list(INITS)).run()
    assert not at.exception and not _warned(at), _warned(at)
    assert "compare" not in at.query_params
    at = page("03_initialization.py", view="compare", hide="compare", compare="he,xavier")
    at.session_state["initialization.view"] = "activations"
    at.run()
    assert not at.exception and not _warned(at), _warned(at)
    assert dict(at.query_params).get("hide") == "compare"


def test_every_run_passes_each_setting_s_value_as_its_default():
    """Audit 11: a control under "More settings" that the browser mounted from a run that had
    not changed it took its default, the minimum, and sent it back with the next click: on about
    1 in 8 first visits to babysitting a click on the selected preset gave seed 0 and weight decay
    0.0 (read in the browser's rerun message). Each run now passes every setting's value as its
    widget's default, which a fresh mount draws (controls.shown); it does not send the value,
    which drew the old value back over a click made while a run was under way."""
    at = page("08_babysitting.py", seed="7")
    at.run()  # a run that changes nothing
    assert not at.exception
    sent = {w.key: w.proto for w in at.number_input}
    for key, value in (("babysitting.seed", 7), ("babysitting.weight_decay", 0.03)):
        assert sent[key].default == pytest.approx(value), (key, sent[key])
    assert not sent["babysitting.seed"].set_value  # weight decay: greyed out, Streamlit sends it


def test_a_lesson_left_stops_counting_against_the_tab_s_quota():
    """Audit 15: the lab's pair still counted as the tab's on running statistics, whose
    five-run view then hit the tab's quota of 5 and started one run."""
    from bnviz.ui.common import scheduler

    at = page("01_batchnorm_lab.py", steps="100000", seed="28")
    assert not at.exception

    def lab_slots() -> list:
        return [key for key in scheduler().slots if key[1].startswith("lab.")]

    assert len(lab_slots()) == 2, lab_slots()
    session = lab_slots()[0][0]
    at.switch_page("pages/05_running_stats.py").run()
    assert not at.exception
    assert [key for key in lab_slots() if key[0] == session] == []
    at.switch_page("pages/01_batchnorm_lab.py").run()  # back: the same pair, watched again
    assert not at.exception and len([k for k in lab_slots() if k[0] == session]) == 2
    for (sid, _), run_id in list(scheduler().slots.items()):
        if sid == session:
            scheduler().control(run_id, "pause")  # leave the workers idle


def test_home_lists_the_lessons_in_the_top_navigation_s_order():
    """Audit 15: the home page listed the lessons in file order (running statistics 5th, why
    BN 6th) while the top navigation groups them (BatchNorm: lab, running statistics, why BN)."""
    from bnviz.i18n import lesson_group, lesson_title

    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=TIMEOUT).run()
    assert not at.exception
    listed_here = [link.proto.label for link in at.get("page_link")]
    lessons = {lesson_title(p[3:-3], "en"): p[3:-3] for p in PAGES if p != "00_home.py"}
    assert sorted(listed_here) == sorted(lessons), listed_here  # each lesson once
    groups = [lesson_group(lessons[title]) for title in listed_here]
    assert groups == sorted(groups, key=groups.index), groups  # a group's lessons together
    nav = ["batchnorm_lab", "running_stats", "why_bn", "standardization", "initialization",
           "activations", "preprocessing", "babysitting", "hyperparams"]  # fmt: skip
    known = [lesson_title(name, "en") for name in nav]  # a new lesson may come in between
    assert [title for title in listed_here if title in known] == known, listed_here
    sections = [t(f"nav.section.{g}") for g in ("batchnorm", "inputs", "training")]
    assert [m.value for m in at.markdown if m.value.strip("*") in sections] == [
        f"**{section}**" for section in sections
    ]
    # the tests' store is off (conftest): the server's line says finished runs end with it
    assert t("home.store_off") in " ".join(c.value for c in at.caption)


def test_initialization_says_the_batchnorm_note_where_one_setting_is_drawn():
    """Audit 33: on Compare (both without and with BN, whatever the toggle) the BN note took two
    lines and pushed the legend's last row below a 1280x720 screen."""
    note = t("initialization.bn_note")
    for view, shown in (("activations", True), ("compare", False)):
        at = page("03_initialization.py", view=view, batchnorm="true")
        assert not at.exception
        assert (note in [c.value for c in at.caption]) is shown, view


@pytest.mark.parametrize(
    "script, view",
    [("01_batchnorm_lab.py", "loss"), ("04_activations.py", "dead"),
     ("08_babysitting.py", "lr"), ("09_hyperparams.py", "caviar")],
)  # fmt: skip
def test_pace_freeze_and_view_are_their_controls_defaults_on_every_run(script, view):
    """Audit 38: a fresh zh tab of babysitting drew Classroom pace off and no view lit (5 of 6
    here; test_browser.py::test_a_first_visit_keeps_classroom_pace_and_its_view_lit), and the
    next click sent them back so: the next runs trained at full speed. A control the browser
    mounts afresh draws its default: each run passes the value shown as the default. It does
    not send the value (set_value): stop 59 did, and a run under way at a click drew the old
    view back over the click, which the next live update sent back (CI lit "1 ·" after a click
    on "3 ·")."""
    at = page(script, view=view)
    at.run()  # a run that changes nothing

    def drawn() -> dict:
        assert not at.exception
        found = {
            w.key.rsplit(".", 1)[-1]: w
            for w in [*at.toggle, *at.button_group]
            if w.key and w.key.rsplit(".", 1)[-1] in ("pace", "freeze", "view")
        }
        assert set(found) == {"pace", "freeze", "view"}, (script, set(found))
        assert not any(w.proto.set_value for w in found.values()), (script, found)
        assert found["pace"].proto.default == found["pace"].value, script
        assert found["freeze"].proto.default == found["freeze"].value, script
        assert list(found["view"].proto.default) == list(found["view"].indices), script
        return found

    found = drawn()
    assert found["pace"].value is True and found["freeze"].value is False, script
    assert found["view"].value == view, script
    found["pace"].set_value(False)
    found["freeze"].set_value(True).run()
    at.run()  # a run after the change: the changed values are the defaults
    found = drawn()
    assert found["pace"].value is False and found["freeze"].value is True, script


def default_is_value(w) -> bool:
    """Whether a widget's default, as its message carries it, is the value it shows: what a
    browser that mounts it afresh draws (controls.shown)."""
    default = w.proto.default
    if w.type in ("toggle", "checkbox", "number_input"):
        return default == w.value
    if w.type == "slider":  # one value, or a range (the lab's step window)
        return list(default) == list(w.value if isinstance(w.value, tuple) else [w.value])
    if w.type == "select_slider":
        return list(default) == [w.options.index(str(w.format_func(w.value)))]
    if w.type in ("selectbox", "radio"):
        return default == w.index
    return list(default) == list(w.indices)  # button_group, multiselect


KINDS = ("toggle", "slider", "select_slider", "selectbox", "number_input", "button_group",
         "multiselect", "radio")  # fmt: skip


@pytest.mark.parametrize("script", sorted(p.name for p in (ROOT / "pages").glob("[0-9]*.py")))
def test_every_keyed_control_s_default_is_its_value_on_every_run(script):
    """The rule of the test above for every page's controls on its first view: on a run that
    changes nothing, each keyed widget's default is the value it shows, and the run does not
    send the value. A fresh mount drew a multiselect (initialization's comparison) empty and the
    standardization path's step slider at 0; stop 59 sent every value with every run, and a run
    under way at a click drew the old value back over the click (controls.shown)."""
    at = page(script)
    at.run()  # a run that changes nothing
    assert not at.exception
    # a disabled widget's run sends its value (Streamlit discards the browser's): no click
    keyed = [(k, w) for k in KINDS for w in getattr(at, k) if w.key]
    sent = [(k, w.key) for k, w in keyed if w.proto.set_value and not w.proto.disabled]
    other = [(k, w.key) for k, w in keyed if not default_is_value(w)]
    wrong = {"sent": sent, "default not the value": other}
    assert not sent and not other, wrong
