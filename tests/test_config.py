"""Settings: validation names the field and range; URL round-trip; fuzzed query strings."""

import dataclasses
import urllib.parse

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bnviz.config import ConfigError, RunConfig, from_query, specs, to_query


def test_defaults_are_valid_and_round_trip_to_an_empty_query():
    cfg = RunConfig()
    assert to_query(cfg) == {}
    assert from_query(RunConfig, {}) == (cfg, [])


@pytest.mark.parametrize(
    "changes, field, words",
    [
        ({"depth": 11}, "depth", "between 1 and 10"),
        ({"width": 0}, "width", "between 2 and 512"),
        ({"lr": -1.0}, "lr", "between"),
        ({"activation": "swish"}, "activation", "one of sigmoid"),
        ({"steps": 2.5}, "steps", "int"),
        ({"lr": float("nan")}, "lr", "between"),
        ({"standardize": "yes"}, "standardize", "true or false"),
    ],
)
def test_invalid_values_name_field_and_allowed_range(changes, field, words):
    with pytest.raises(ConfigError) as err:
        RunConfig(**changes)
    assert err.value.name == field
    assert field in str(err.value) and words in str(err.value)


def test_round_trip_of_non_default_values():
    cfg = RunConfig(depth=7, lr=0.0123, activation="elu", standardize=False, bn_momentum=None)
    query = to_query(cfg)
    assert query == {
        "depth": "7", "lr": "0.0123", "activation": "elu", "standardize": "false",
        "bn_momentum": "none",
    }  # fmt: skip
    back, notes = from_query(RunConfig, urllib.parse.parse_qs(urllib.parse.urlencode(query)))
    assert back == cfg and notes == []


def test_bad_url_values_fall_back_to_defaults_with_a_note():
    cfg, notes = from_query(RunConfig, {"depth": "99", "lr": "abc", "width": "32", "zzz": "1"})
    assert cfg == RunConfig(width=32)
    assert {n.name for n in notes} == {"depth", "lr"}
    assert all(n.default == getattr(RunConfig(), n.name) for n in notes)


def test_canonical_key_ignores_settings_that_cannot_matter():
    a = RunConfig(norm="none", bn_momentum=0.5)
    b = RunConfig(norm="none", bn_momentum=0.2)
    assert a.key() == b.key()
    assert RunConfig(norm="batchnorm", bn_momentum=0.5).key() != RunConfig(norm="batchnorm").key()
    assert RunConfig(seed=1).key() != RunConfig(seed=2).key()


def test_equal_configs_have_one_key_negative_zero_included():
    """A link's "dropout=-0" gave a config equal to the default (-0.0 == 0.0) with another key:
    a second run of the same training (found by the URL fuzz test)."""
    zeros = [f.name for f in dataclasses.fields(RunConfig) if getattr(RunConfig(), f.name) == 0.0
             and isinstance(getattr(RunConfig(), f.name), float)]  # fmt: skip
    assert zeros  # dropout, weight_decay, input_offset …
    for name in zeros:
        cfg = RunConfig(**{name: -0.0})
        assert cfg == RunConfig() and cfg.key() == RunConfig().key(), name
    parsed, notes = from_query(RunConfig, {"dropout": "-0"})
    assert notes == [] and parsed.key() == RunConfig().key()


def test_bn_with_batch_size_one_is_a_named_problem():
    assert RunConfig(norm="batchnorm", batch_size=1).problems() == [("errors.bn_batch1", {})]
    assert RunConfig(norm="none", batch_size=1).problems() == []


names = st.sampled_from([f.name for f in dataclasses.fields(RunConfig)] + ["lang", "hide", "x"])
texts = st.one_of(
    st.text(max_size=12), st.integers(-10**9, 10**9).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr), st.sampled_from(["none", "true", ""]),
)  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(names, texts, max_size=8))
def test_any_query_string_gives_a_valid_config(params):
    cfg, notes = from_query(RunConfig, params)
    RunConfig(**dataclasses.asdict(cfg))  # still valid
    for note in notes:
        assert note.name in params
    for name, spec in specs(RunConfig).items():
        if name not in params or name in {n.name for n in notes}:
            continue
        assert (
            getattr(cfg, name) is None
            or not isinstance(getattr(cfg, name), str)
            or (getattr(cfg, name) in spec.choices)
        )


run_settings = st.fixed_dictionaries(
    {
        "dataset": st.sampled_from(["spirals", "moons", "circles", "xor", "gaussians", "digits"]),
        "n_samples": st.integers(50, 200),
        "noise": st.floats(0, 1),
        "depth": st.integers(1, 4),
        "width": st.integers(2, 24),
        "activation": st.sampled_from(specs(RunConfig)["activation"].choices),
        "norm": st.sampled_from(["none", "batchnorm"]),
        "bn_placement": st.sampled_from(["before", "after"]),
        "bn_momentum": st.one_of(st.none(), st.floats(0.001, 1.0)),
        "init": st.sampled_from(specs(RunConfig)["init"].choices),
        "optimizer": st.sampled_from(["sgd", "momentum", "adam"]),
        "lr": st.floats(1e-5, 10.0),
        "batch_size": st.integers(1, 1024),
        "log_every": st.integers(1, 5),
        "eval_every": st.integers(1, 5),
        "seed": st.integers(0, 2**31 - 1),
        "input_offset": st.sampled_from([0.0, -3.0, 50.0]),
        "input_spread": st.sampled_from([1.0, 30.0, 1000.0]),
        "preprocess": st.one_of(st.none(), st.sampled_from(specs(RunConfig)["preprocess"].choices)),
    }
)


@settings(max_examples=25, deadline=None)
@given(run_settings)
def test_any_valid_settings_train_or_say_why(values):
    from bnviz.runner import train_sync

    cfg = RunConfig(**values, steps=4)
    snap = train_sync(cfg)
    if cfg.problems():
        assert snap.state == "error" and cfg.problems()[0][0] in snap.error
    else:
        assert snap.state in ("finished", "diverged"), snap.error
        assert snap.state == "diverged" or snap.step == 4


# ---------------------------------------------------------------------------- distorted inputs


def test_new_input_settings_validate_and_round_trip():
    cfg = RunConfig(dataset="digits", input_offset=5.0, input_spread=30.0, preprocess="whiten")
    query = to_query(cfg)
    assert query == {
        "dataset": "digits", "input_offset": "5.0", "input_spread": "30.0", "preprocess": "whiten"
    }  # fmt: skip
    back, notes = from_query(RunConfig, urllib.parse.parse_qs(urllib.parse.urlencode(query)))
    assert back == cfg and notes == [] and back.key() == cfg.key()
    for changes, field in [
        ({"input_spread": 0.5}, "input_spread"),  # a spread is a ratio >= 1
        ({"input_offset": 1e3}, "input_offset"),
        ({"preprocess": "sphere"}, "preprocess"),
    ]:
        with pytest.raises(ConfigError) as err:
            RunConfig(**changes)
        assert err.value.name == field
    _, notes = from_query(RunConfig, {"preprocess": "sphere", "input_spread": "0"})
    assert {n.name for n in notes} == {"preprocess", "input_spread"}
    assert from_query(RunConfig, {"preprocess": "none"})[0].preprocess is None  # the default


def test_runs_that_do_not_use_the_new_settings_keep_their_keys():
    import hashlib
    import json

    new = {"input_offset", "input_spread", "preprocess", "metrics"}
    for cfg in (RunConfig(), RunConfig(dataset="digits", standardize=False, lr=0.3, seed=4)):
        old = {k: v for k, v in dataclasses.asdict(cfg.canonical()).items() if k not in new}
        blob = json.dumps(old, sort_keys=True)  # the key as it was computed before they existed
        assert cfg.key() == hashlib.sha1(blob.encode()).hexdigest()[:16]
    assert RunConfig(input_offset=5.0).key() != RunConfig().key()
    assert RunConfig(input_spread=30.0).key() != RunConfig().key()


def test_a_preprocessing_that_standardize_already_says_is_the_same_run():
    digits = RunConfig(dataset="digits")
    assert digits.replace(preprocess="raw").key() == digits.replace(standardize=False).key()
    assert digits.replace(preprocess="normalize").key() == digits.key()
    center = digits.replace(preprocess="center")
    assert center.key() == center.replace(standardize=False).key()  # standardize is ignored
    keys = {digits.replace(preprocess=k).key() for k in ("raw", "center", "normalize", "whiten")}
    assert len(keys) == 4
