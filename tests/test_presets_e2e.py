"""Every preset, end to end through its page: click it, let the run the page starts finish,
then check that run's settings, that it is still shared, and the claim of its sentence.

"Test what the class sees": a preset test that only checked session state once let every lab
preset run at the wrong learning rate in the browser while all tests passed.
"""

import dataclasses

import numpy as np
import pytest

from bnviz.config import RunConfig, from_query
from bnviz.figures import running_stats as rs_figs
from bnviz.figures.lab import shrink_label
from bnviz.figures.theme import readable
from bnviz.i18n import t
from bnviz.lessons import activations as act
from bnviz.lessons import batchnorm_lab as lab
from bnviz.lessons import regularization as reg
from bnviz.lessons import running_stats as rs
from bnviz.ui.common import scheduler
from tests.helpers import (
    choose_preset,
    drop_every_run,
    figures,
    full_speed,
    named_runs,
    run_to_end,
    shown_runs,
)
from tests.test_pages import page

LAB = "01_batchnorm_lab.py"


@pytest.fixture(autouse=True)
def _fresh_server():
    """Each preset starts the runs its click starts: test_page_lessons' dead-ReLU test leaves the
    shared dead pair paused at step 0, and a page that finds a paused run keeps it paused (under
    pytest-xdist it could still be there: it is dropped 120 s after its last poll)."""
    drop_every_run()


@pytest.mark.parametrize("preset", sorted(lab.PRESETS))
def test_lab_preset_runs_its_settings_shared_and_shows_its_claim(preset):
    at = page(LAB)
    full_speed(at, "lab")  # one click in the sidebar (the class default is classroom pace)
    choose_preset(at, "lab", preset)  # one click: the pair starts
    assert not at.exception
    runs = run_to_end(at, "lab", ("plain", "bn"), timeout=240)  # then the page and link settle
    expected = lab.preset(preset)
    link = from_query(RunConfig, dict(at.query_params), lab.DEFAULT)[0]  # the share link's run
    for name, run in runs.items():
        cfg = run.spec
        assert cfg == expected.replace(norm=cfg.norm), (name, dataclasses.asdict(cfg))  # lr too
        assert link.replace(norm=cfg.norm) == cfg
        assert run.snapshot.lr == pytest.approx(expected.lr)  # never steered away
        assert scheduler().lookup(cfg, "nobody", "none") is run  # still the class's shared run
    assert {n: r.spec.norm for n, r in runs.items()} == {"plain": "none", "bn": "batchnorm"}
    plain, bn = runs["plain"].snapshot, runs["bn"].snapshot
    assert lab.CLAIMS[preset](plain, bn), preset
    assert t(f"lab.preset.{preset}_what") in [i.value for i in at.info]  # its sentence shows
    if preset == "ioffe":  # "on Distributions ... a third to a half as much": by how much
        at.button_group(key="lab.view").set_value("percentiles").run()
        last = expected.depth  # the layer picker's default, the layer the sentence means
        ratio = lab.percentile_drift(bn, last - 1) / lab.percentile_drift(plain, last - 1)
        said = [c.value for c in at.caption if c.value.startswith(f"Layer {last},")]
        assert said and said[0].endswith(f"{readable(ratio)}).") and 0.3 < ratio < 0.6, said
        title = t("lab.fig.percentiles_pre", layer=last)  # and on the first screen, under BN's
        (pct,) = [f for f in figures(at) if f["layout"]["title"]["text"] == title]
        shown = pct["layout"]["xaxis2"]["title"]["text"]
        assert shown.endswith(t("lab.fig.drift_ratio", ratio=readable(ratio))), shown
    if preset == "deep_sigmoid":  # "the gradient shrinks about 4× per layer (Gradients)"
        at.button_group(key="lab.view").set_value("gradients").run()
        (grad,) = [f for f in figures(at) if f["layout"]["title"]["text"] == t("lab.fig.grad_norm")]
        titles = [grad["layout"][a]["title"]["text"] for a in ("xaxis", "xaxis2")]
        for snap, title in zip((plain, bn), titles, strict=True):
            assert title.endswith(" · " + shrink_label(lab.gradient_shrink(snap), "en")), title
        assert 3 < float(titles[0].split("÷")[1].split()[0]) < 6  # "about 4×", as shown
    if preset == "large_init":  # "on Saturation over 80 % ... without BN and about 1 % with BN"
        at.button_group(key="lab.view").set_value("health").run()
        (sat,) = [f for f in figures(at) if f["layout"]["title"]["text"] == t("lab.fig.saturated")]
        titles = [sat["layout"][a]["title"]["text"] for a in ("xaxis", "xaxis2")]
        shares = [float(title.split(" · ")[1].split("%")[0]) / 100 for title in titles]
        assert all(title.endswith("saturated (mean of the layers)") for title in titles), titles
        means = [lab.mean_saturation(snap).mean() for snap in (plain, bn)]
        np.testing.assert_allclose(shares, means, atol=0.006)
        assert shares[0] > 0.8 and shares[1] < 0.03, titles


def test_running_stats_regularization_preset_runs_five_nets_and_shows_its_claim():
    at = page("05_running_stats.py")
    full_speed(at, "running_stats")
    choose_preset(at, "running_stats", "regularization")  # one click: the view and its runs
    assert not at.exception
    slots = set(reg.SLOTS.values())
    runs = run_to_end(at, "running_stats", slots)
    expected = reg.run_configs(seed=0)
    names = {slot: n for n, slot in reg.SLOTS.items()}
    assert {names[s]: runs[s].spec for s in slots} == expected  # the settings the page used
    gaps = {names[s]: reg.gap_of_evals(runs[s].snapshot.evals) for s in slots}
    assert all(runs[s].snapshot.evals["step"][-1] == reg.BASE.steps for s in slots)
    assert reg.claim_one_seed(gaps)  # the check the seed sweep runs (running_stats.CLAIMS)
    assert t("running_stats.preset.regularization_what") in [i.value for i in at.info]
    assert at.query_params["view"] == "regularization"  # the link reopens this view


@pytest.mark.parametrize("preset", sorted(rs.PRESETS))
def test_running_stats_preset_runs_its_settings_shared_and_shows_its_claim(preset):
    at = page("05_running_stats.py")
    full_speed(at, "running_stats")
    choose_preset(at, "running_stats", preset)  # one click: the page's runs start
    assert not at.exception
    values = dict(rs.PRESETS[preset])
    view = rs.View(compare=values.pop("compare"))
    expected = rs.run_configs(rs.DEFAULT.replace(**values), view)
    assert set(expected) == {"main", "compare"}

    runs = run_to_end(at, "running_stats", expected)
    assert {n: runs[n].spec for n in expected} == expected  # every setting, the lr too
    link = from_query(RunConfig, dict(at.query_params), rs.DEFAULT)[0]  # the share link's run
    assert rs.run_configs(link, view)["main"] == expected["main"]
    for name in expected:
        assert scheduler().lookup(expected[name], "nobody", "none") is runs[name]  # shared
        assert runs[name].snapshot.step == rs.DEFAULT.steps
    assert rs.page_holds(preset, {n: runs[n].snapshot for n in expected}), preset
    assert t(f"running_stats.preset.{preset}_what") in [i.value for i in at.info]
    # the measures the presets' sentences state, over the shown layer's 8 units (an audit:
    # "running_var settles 1.4 to 2.5 times above", "4-11x further off": no number showed them)
    subtitles = [f["layout"]["title"]["subtitle"]["text"] for f in figures(at)[:2]]
    for name in expected:
        measure = rs.layer_measure(runs[name].snapshot, 1)  # layer 2, the one shown
        assert measure.units == 8 and np.isfinite(measure).all()
        assert f"{measure.var_ratio:.2f}×</span>" in subtitles[1], (name, subtitles)
        assert f">{readable(measure.mean_error, 2)}</span>" in subtitles[0], (name, subtitles)
    # both charts show both runs: one status line names both (not one over each chart)
    bars = [p.proto.text for p in at.get("progress")]
    labels = [rs_figs.momentum_label(c.bn_momentum, "en") for c in expected.values()]
    assert len(bars) == 1 and named_runs(bars[0]) == labels, bars


@pytest.mark.parametrize(("preset", "activation"), [("dead_relu", "relu"), ("dead_remedy", "elu")])
def test_activations_dead_unit_preset_runs_its_pair_shared_and_shows_its_claim(preset, activation):
    at = page("04_activations.py")
    choose_preset(at, "activations", preset)  # one click: the dead-units view and its pair
    assert not at.exception
    full_speed(at, "activations")
    expected = act.dead_relu_pair(activation, seed=0)

    runs = run_to_end(at, "activations", expected)
    assert {n: runs[n].spec for n in expected} == expected  # both rates, every setting
    link = from_query(act.ActivationSettings, dict(at.query_params), act.ActivationSettings())[0]
    assert at.query_params["view"] == "dead" and link.dead_activation == activation
    for name in expected:
        assert scheduler().lookup(expected[name], "nobody", "none") is runs[name]  # shared
        assert runs[name].snapshot.state == "finished"
    assert act.page_holds(preset, {n: runs[n].snapshot for n in expected}), preset
    assert t(f"activations.preset.{preset}_what") in [i.value for i in at.info]


def test_a_digits_preset_clicked_first_on_a_link_to_the_boundary_view_opens_loss():
    """Audit 11: opened from a link on Decision boundary, the Ioffe preset kept the boundary
    view (no chart, only the note why): the pills were built before the link's view was read."""
    at = page(LAB, view="boundary")
    choose_preset(at, "lab", "ioffe")
    assert not at.exception
    assert at.button_group(key="lab.view").value == "loss"
    assert at.button_group(key="lab.preset").value == "ioffe"
    assert t("lab.no_boundary", n=64) not in [i.value for i in at.info]


def test_a_digits_preset_clicked_on_the_boundary_view_opens_a_view_that_draws_it():
    """The decision boundary is drawn for 2-D data only: the Ioffe preset (digits) clicked there
    left the class a note and no chart. It opens Loss & accuracy; a 2-D preset stays put."""
    at = page(LAB, view="boundary")
    full_speed(at, "lab")
    choose_preset(at, "lab", "large_init")  # circles: the boundary view draws it
    assert at.button_group(key="lab.view").value == "boundary"
    assert t("lab.no_boundary", n=64) not in [i.value for i in at.info]
    choose_preset(at, "lab", "ioffe")
    assert not at.exception
    assert at.button_group(key="lab.view").value == "loss"
    assert t("lab.no_boundary", n=64) not in [i.value for i in at.info]
    assert {r.spec.dataset for r in shown_runs("lab").values()} == {"digits"}  # the run it starts
    assert at.button_group(key="lab.preset").value == "ioffe"  # its pill stays selected
    at.button_group(key="lab.view").set_value("boundary").run()  # a teacher goes on through
    assert not at.exception  # the views (audit 9: deselected there, "on your settings")
    assert at.button_group(key="lab.preset").value == "ioffe"
    assert t("lab.preset.ioffe_what") in [i.value for i in at.info]
    assert t("lab.no_boundary", n=64) in [i.value for i in at.info]  # why no chart
