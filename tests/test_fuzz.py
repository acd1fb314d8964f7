"""Arbitrary URLs at every page and arbitrary settings at the engine: nothing breaks.

Bounded budgets (max_examples) keep the whole file near a minute; the number of cases each test
tried is printed in the terminal summary (conftest.py) and kept as its `fuzz_cases` property.
"""

import math
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from streamlit.testing.v1 import AppTest

from bnviz.config import ConfigError, RunConfig, from_query, parse_value, specs, to_query, validate
from bnviz.lessons.activations import ActivationSettings
from bnviz.lessons.babysitting import BabysitSettings
from bnviz.lessons.batchnorm_lab import View as LabView
from bnviz.lessons.hyperparams_views import Search
from bnviz.lessons.initialization import InitSettings
from bnviz.lessons.normalization import NormSettings
from bnviz.lessons.preprocessing import CloudConfig
from bnviz.lessons.running_stats import View
from bnviz.lessons.standardization import StandardizationConfig
from bnviz.lessons.why_bn import DeepLinearSettings
from tests.helpers import names_setting

ROOT = Path(__file__).resolve().parent.parent
PAGE_SETTINGS = {
    "00_home.py": [],  # every page (test_fuzz_covers_every_page)
    "01_batchnorm_lab.py": [RunConfig, LabView],
    "02_standardization.py": [StandardizationConfig],
    "03_initialization.py": [InitSettings],
    "04_activations.py": [ActivationSettings],
    "05_running_stats.py": [RunConfig, View],
    "06_why_bn.py": [DeepLinearSettings],
    "07_preprocessing.py": [CloudConfig],
    "08_babysitting.py": [BabysitSettings],
    "09_hyperparams.py": [Search],
    "10_normalization.py": [NormSettings],
}
SETTINGS = sorted({c for classes in PAGE_SETTINGS.values() for c in classes}, key=str)
FIELD_NAMES = sorted({n for cls in SETTINGS for n in specs(cls)})
ODD_NUMBERS = [
    "1e309", "-1e309", "nan", "NaN", "-nan", "inf", "-inf", "Infinity", "-0", "-0.0", "0",
    "1e-400", "1e18", "9" * 400, "0x10", "1_0", "１２", "١٢", " 3 ", "3.", "+4", "1e3", "",
    "none", "None", "true", "on", "2**31", "-1", "0.5", "5e-324",
]  # fmt: skip
HOSTILE = ["<script>alert(1)</script>", "[x](http://evil.example)", "$x^2$", ":red[x]", "**b**"]
TEXT = st.one_of(
    st.sampled_from(ODD_NUMBERS + HOSTILE),
    st.text(max_size=40),
    # ~10 KB of one character a URL can carry: a lone surrogate ("\uda91", which st.characters
    # draws) has no UTF-8, so AppTest's own urlencode failed before the page ran (a browser
    # sends U+FFFD in its place)
    st.builds(lambda ch, n: ch * n, st.characters(codec="utf-8"), st.integers(1000, 10_000)),
)
KEY = st.one_of(st.sampled_from([*FIELD_NAMES, "lang", "hide", "view"]), st.text(max_size=12))
PARAMS = st.dictionaries(KEY, TEXT, max_size=12)
ENGINE = settings(max_examples=300, deadline=None, database=None)
PAGES = settings(
    max_examples=30, deadline=None, database=None, suppress_health_check=list(HealthCheck)
)


def test_fuzz_covers_every_page():
    assert sorted(PAGE_SETTINGS) == sorted(p.name for p in (ROOT / "pages").glob("[0-9]*.py"))


def settings_hold(cls, cfg) -> None:
    """A settings object that validates, survives its own URL and has a stable key where one."""
    validate(cfg)
    again, notes = from_query(cls, to_query(cfg))
    assert notes == [] and again == cfg
    if isinstance(cfg, RunConfig):
        assert cfg.key() == again.key()
        cfg.canonical(), cfg.problems()


def test_engine_takes_any_url(record_property):
    tried = []

    @ENGINE
    @given(cls=st.sampled_from(SETTINGS), params=PARAMS)
    def check(cls, params):
        tried.append(1)
        cfg, notes = from_query(cls, params)
        assert isinstance(cfg, cls)
        settings_hold(cls, cfg)
        noted = {n.name for n in notes}
        assert noted <= params.keys() and len(noted) == len(notes)
        for name, spec in specs(cls).items():
            if name in noted:  # fell back to the default, and the note says so
                assert getattr(cfg, name) == spec.default or (
                    isinstance(spec.default, float) and math.isnan(spec.default)
                )
            elif name in params:  # used as given
                assert getattr(cfg, name) == parse_value(spec, params[name])

    check()
    record_property("fuzz_cases", len(tried))
    assert len(tried) >= 100


VALUE = st.one_of(
    st.none(), st.booleans(), st.integers(-(2**70), 2**70), st.floats(), st.text(max_size=8),
    st.sampled_from(["sgd", "adam", "relu", "batchnorm", "digits"]), st.lists(st.integers()),
)  # fmt: skip


def test_engine_takes_any_constructor_arguments(record_property):
    tried = []

    @ENGINE
    @given(cls=st.sampled_from(SETTINGS), data=st.data())
    def check(cls, data):
        tried.append(1)
        names = st.sampled_from(sorted(specs(cls)))
        kwargs = data.draw(st.dictionaries(names, VALUE, max_size=6))
        try:
            cfg = cls(**kwargs)
        except ConfigError as err:  # the one way to refuse, naming the field
            assert err.name in kwargs
            return
        settings_hold(cls, cfg)

    check()
    record_property("fuzz_cases", len(tried))
    assert len(tried) >= 100


def test_a_thousand_keys():
    params = {f"k{i}": "x" * 10 for i in range(1000)} | {"depth": "1e309", "lr": "0.1"}
    cfg, notes = from_query(RunConfig, params)
    assert cfg.lr == 0.1 and [n.name for n in notes] == ["depth"]


def open_page(name: str, params: dict[str, str]) -> AppTest:
    """A fresh tab opened on a link to a page with these URL parameters (lang is read at once)."""
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    for key, value in params.items():
        at.query_params[key] = value
    at.run()
    at.switch_page(f"pages/{name}")
    for key, value in params.items():
        at.query_params[key] = value
    return at.run()


def test_every_page_takes_any_url(record_property):
    tried = []

    @PAGES
    @given(name=st.sampled_from(sorted(PAGE_SETTINGS)), params=PARAMS)
    def check(name, params):
        tried.append(1)
        at = open_page(name, params)
        assert not at.exception, (name, params, at.exception)
        notes = " ".join(i.value for i in at.warning)
        for cls in PAGE_SETTINGS[name]:
            for note in from_query(cls, params)[1]:
                assert names_setting(notes, note.name), (name, note)  # every bad value said
        shown = [*at.info, *at.warning]
        assert all(len(i.value) < 1000 for i in shown)  # a 10 KB value is not echoed whole

    for name in sorted(PAGE_SETTINGS):  # each page at least once with a hostile mix
        check.hypothesis.inner_test(name, {"depth": "1e309", "lang": "xx", "hide": "<b>,,"})
    check()
    record_property("fuzz_cases", len(tried))
