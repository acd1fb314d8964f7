"""Settings: frozen dataclasses with defaults, bounds and choices; validation; URL round-trip."""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import math
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

# ---------------------------------------------------------------------------- field metadata


def setting(default: Any, *, lo: float | None = None, hi: float | None = None, log: bool = False):
    """A dataclass field with bounds (inclusive) and whether a log scale suits it."""
    return field(default=default, metadata={"lo": lo, "hi": hi, "log": log})


def fixed(default: Any):
    """A field set by code (a lesson), never by the URL or a control: specs() leaves it out."""
    return field(default=default, metadata={"fixed": True})


class ConfigError(ValueError):
    """A setting outside its allowed values; the message names the field and the range."""

    def __init__(self, name: str, value: Any, allowed: str):
        super().__init__(f"{name} must be {allowed}, got {value!r}")
        self.name, self.value, self.allowed = name, value, allowed


@dataclass(frozen=True)
class FieldSpec:
    """What one setting accepts: its type, choices, bounds and default."""

    name: str
    kind: type  # int, float, str or bool
    default: Any
    choices: tuple | None
    lo: float | None
    hi: float | None
    log: bool
    optional: bool  # None allowed (e.g. BN momentum None = cumulative average)

    def allowed(self) -> str:
        """Human-readable allowed values, for error messages."""
        if self.choices:
            return "one of " + ", ".join(map(str, self.choices))
        if self.kind is bool:
            return "true or false"
        text = f"a {self.kind.__name__} between {self.lo} and {self.hi}"
        return text + (" or none" if self.optional else "")


def _unwrap(hint: Any) -> tuple[Any, bool]:
    """`X | None` -> (X, True); anything else -> (hint, False)."""
    if isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union:
        args = [a for a in typing.get_args(hint) if a is not type(None)]
        return args[0], len(args) < len(typing.get_args(hint))
    return hint, False


def specs(cls: type) -> dict[str, FieldSpec]:
    """FieldSpec of every field of a settings dataclass, in declaration order."""
    return dict(_specs(cls))  # a copy: callers may change theirs


@functools.cache
def _specs(cls: type) -> dict[str, FieldSpec]:
    """specs(), worked out once per class: every config built and every key asked for reads
    them (type hints are slow to resolve: ~1 ms, dozens of times per page run)."""
    hints = typing.get_type_hints(cls)
    out = {}
    for f in dataclasses.fields(cls):
        if f.metadata.get("fixed"):
            continue
        hint, optional = _unwrap(hints[f.name])
        choices = typing.get_args(hint) if typing.get_origin(hint) is Literal else None
        kind = type(choices[0]) if choices else hint
        m = f.metadata
        lo, hi, log = m.get("lo"), m.get("hi"), m.get("log", False)
        out[f.name] = FieldSpec(f.name, kind, f.default, choices, lo, hi, log, optional)
    return out


def check_value(spec: FieldSpec, value: Any) -> Any:
    """`value` coerced to the field's type, or ConfigError."""
    if value is None:
        if spec.optional:
            return None
        raise ConfigError(spec.name, value, spec.allowed())
    if spec.kind is bool:
        if isinstance(value, bool):
            return value
        raise ConfigError(spec.name, value, spec.allowed())
    if spec.choices is not None:
        if value in spec.choices:
            return value
        raise ConfigError(spec.name, value, spec.allowed())
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ConfigError(spec.name, value, spec.allowed())
    if spec.kind is int and float(value) != int(value):
        raise ConfigError(spec.name, value, spec.allowed())
    value = spec.kind(value)
    if not math.isfinite(value) or not spec.lo <= value <= spec.hi:
        raise ConfigError(spec.name, value, spec.allowed())
    return value


def validate(cfg: Any) -> None:
    """Raise ConfigError for the first field of `cfg` outside its allowed values."""
    for name, spec in specs(type(cfg)).items():
        coerced = check_value(spec, getattr(cfg, name))
        if coerced != getattr(cfg, name) or type(coerced) is not type(getattr(cfg, name)):
            object.__setattr__(cfg, name, coerced)  # 3 -> 3.0 for float fields


class Validated:
    """Mixin: a settings dataclass that validates itself when built."""

    def __post_init__(self) -> None:
        validate(self)

    def replace(self, **changes: Any):
        """A copy with `changes` (validated)."""
        return dataclasses.replace(self, **changes)


# ---------------------------------------------------------------------------- the training run

# Each random stream of a run is seeded with cfg.seed and its own offset, so changing how one
# is used (say the data order) never moves another (the initial weights).
SEED_INIT = 0  # weight initialization (nets.build_mlp)
SEED_DATA_ORDER = 1  # mini-batch order (train.Trainer)
SEED_BATCH_NOISE = 2  # random mini-batches of the running-statistics lesson
SEED_DATASET = 7  # the dataset's points and split (numpy: [seed, SEED_DATASET])
SEED_INPUT_SCALES = 11  # the per-feature scales of distorted inputs ([seed, SEED_INPUT_SCALES])

Dataset = Literal["spirals", "moons", "circles", "xor", "gaussians", "digits", "mnist"]
Activation = Literal[
    "sigmoid", "tanh", "relu", "leaky_relu", "prelu", "elu", "gelu", "silu", "maxout"
]
Init = Literal["xavier", "he", "small", "large", "zeros", "orthogonal"]
RunInit = Literal[Init, "scaled"]  # "scaled": init_scale·randn/√fan_in, for sweeps
Optimizer = Literal["sgd", "momentum", "adam"]
Preprocess = Literal["raw", "center", "normalize", "pca", "whiten"]  # "raw": nothing

# Settings added after runs were stored by key: at their defaults they stay out of the key, so
# every run that does not use them keeps the key it always had.
KEYLESS_AT_DEFAULT = ("metrics", "input_offset", "input_spread", "preprocess")


@dataclass(frozen=True)
class RunConfig(Validated):
    """Everything that determines a training run; the same config gives the same run."""

    dataset: Dataset = "spirals"  # 2-D so the decision boundary can be drawn
    # 2-D sets and MNIST (a sample of its files: bnviz.datasets.mnist_sample); digits has 1797
    n_samples: int = setting(1000, lo=50, hi=5000)
    noise: float = setting(0.1, lo=0.0, hi=1.0)
    test_fraction: float = setting(0.25, lo=0.1, hi=0.5)
    standardize: bool = True  # inputs; the standardization lesson shows why
    depth: int = setting(3, lo=1, hi=10)  # hidden layers; quota: 10
    width: int = setting(64, lo=2, hi=512)  # units per hidden layer; quota: 512
    activation: Activation = "tanh"  # saturates, so BN's effect is visible
    leaky_slope: float = setting(0.01, lo=0.0, hi=1.0)
    elu_alpha: float = setting(1.0, lo=0.01, hi=10.0)
    maxout_k: int = setting(2, lo=2, hi=5)
    norm: Literal["none", "batchnorm"] = "none"
    bn_placement: Literal["before", "after"] = "before"  # before the nonlinearity, as in the paper
    bn_momentum: float | None = setting(0.1, lo=0.001, hi=1.0)  # PyTorch's; None = cumulative
    bn_noise: float = setting(0.0, lo=0.0, hi=2.0)  # Santurkar 2018: random shift/scale after BN
    init: RunInit = "xavier"
    init_scale: float = setting(1.0, lo=1e-3, hi=100.0, log=True)  # "scaled": s·randn/√fan_in
    optimizer: Optimizer = "momentum"
    lr: float = setting(0.05, lo=1e-5, hi=10.0, log=True)
    momentum: float = setting(0.9, lo=0.0, hi=0.999)
    batch_size: int = setting(64, lo=1, hi=1024)
    steps: int = setting(2000, lo=1, hi=100_000)  # quota: 100k
    seed: int = setting(0, lo=0, hi=2**31 - 1)
    # Sampling (bench/telemetry_overhead.py, whole lab runs): a telemetry sample costs ~0.5 ms
    # with its reduction and an evaluation ~0.7 ms against a ~0.4 ms step. 25/100 cost +8-9 %
    # at full speed but draw the curves and per-layer distributions 4x finer than 100/100
    # (~5 %; the lab's default), and every preset's claim was measured at these points (at
    # 50/200 four lab claims fail: default seed 1, small_init 0, large_init 1 and 2); at
    # classroom pace the cost is not felt.
    log_every: int = setting(25, lo=1, hi=1000)  # telemetry every k steps
    eval_every: int = setting(100, lo=1, hi=5000)  # full train/test evaluation every k steps
    weight_decay: float = setting(0.0, lo=0.0, hi=1.0)  # L2 on every parameter; 0: none
    train_limit: int | None = setting(None, lo=1, hi=5000)  # first n training examples; None: all
    dropout: float = setting(0.0, lo=0.0, hi=0.9)  # after each hidden activation, in training
    metrics: tuple[str, ...] = fixed(())  # extra evaluation metrics by name (bnviz.metrics)
    # A badly calibrated sensor per feature: x_j -> scale_j·x_j + input_offset, scales
    # log-uniform over an input_spread-fold range (seeded), before the split.
    input_offset: float = setting(0.0, lo=-100.0, hi=100.0)
    input_spread: float = setting(1.0, lo=1.0, hi=1000.0, log=True)  # 1: no scaling
    # Fitted on the training split, applied to both (bnviz.datasets.fit); None: `standardize`
    # decides ("normalize" when true, "raw" when false), otherwise `standardize` is ignored.
    preprocess: Preprocess | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        names = self.metrics
        if isinstance(names, str) or not all(isinstance(n, str) for n in names):
            raise ConfigError("metrics", names, "a tuple of metric names")
        object.__setattr__(self, "metrics", tuple(sorted(set(names))))  # order-free identity

    @property
    def batchnorm(self) -> bool:
        """True when the network has BatchNorm layers."""
        return self.norm == "batchnorm"

    def canonical(self) -> RunConfig:
        """The same run with settings that cannot matter reset to defaults (for sharing)."""
        d = RunConfig()
        changes: dict[str, Any] = {}
        if not self.batchnorm:
            changes.update(
                bn_placement=d.bn_placement, bn_momentum=d.bn_momentum, bn_noise=d.bn_noise
            )
        if self.optimizer != "momentum":
            changes["momentum"] = d.momentum
        if self.init != "scaled":
            changes["init_scale"] = d.init_scale
        if self.activation != "leaky_relu":
            changes["leaky_slope"] = d.leaky_slope
        if self.activation != "elu":
            changes["elu_alpha"] = d.elu_alpha
        if self.activation != "maxout":
            changes["maxout_k"] = d.maxout_k
        if self.dataset == "digits":
            changes.update(n_samples=d.n_samples, noise=d.noise)
        elif self.dataset == "mnist":  # real images: no noise is added
            changes["noise"] = d.noise
        if self.preprocess in ("raw", "normalize"):  # what `standardize` already says
            changes.update(preprocess=None, standardize=self.preprocess == "normalize")
        elif self.preprocess is not None:  # it replaces `standardize`
            changes["standardize"] = d.standardize
        return dataclasses.replace(self, **changes)

    def key(self) -> str:
        """A short stable id of the canonical config (the run's identity); worked out once."""
        known = self.__dict__.get("_key")
        if known is None:
            known = self._make_key()
            object.__setattr__(self, "_key", known)  # frozen: not a field, never compared
        return known

    def _make_key(self) -> str:
        values = dataclasses.asdict(self.canonical())
        # -0.0 == 0.0, so the same config: one key (a link's "dropout=-0" trained a new run)
        values = {k: v + 0.0 if isinstance(v, float) else v for k, v in values.items()}
        defaults = dataclasses.asdict(RunConfig())
        for name in KEYLESS_AT_DEFAULT:
            if values[name] == defaults[name]:
                del values[name]
        blob = json.dumps(values, sort_keys=True)
        return hashlib.sha1(blob.encode()).hexdigest()[:16]

    def problems(self) -> list[tuple[str, dict]]:
        """(i18n key, format args) for settings that are valid alone but cannot train."""
        out = []
        if self.batchnorm and self.batch_size == 1:
            out.append(("errors.bn_batch1", {}))
        return out


# ---------------------------------------------------------------------------- URL round-trip


def format_value(value: Any) -> str:
    """One setting as URL text: 0.05 -> '0.05', True -> 'true', None -> 'none'."""
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    return str(value)


def parse_value(spec: FieldSpec, text: str) -> Any:
    """URL text -> a checked value, or ConfigError."""
    raw = text.strip()
    if raw.lower() == "none" and spec.optional:
        return None
    if spec.kind is bool:
        if raw.lower() in ("true", "1", "yes", "on"):
            return True
        if raw.lower() in ("false", "0", "no", "off"):
            return False
        raise ConfigError(spec.name, text, spec.allowed())
    if spec.kind in (int, float):
        try:
            number = float(raw)
        except ValueError:
            raise ConfigError(spec.name, text, spec.allowed()) from None
        return check_value(
            spec, int(number) if spec.kind is int and number.is_integer() else number
        )
    return check_value(spec, raw)


def to_query(cfg: Any) -> dict[str, str]:
    """Only the settings that differ from their defaults, as URL text."""
    out = {}
    for name, spec in specs(type(cfg)).items():
        value = getattr(cfg, name)
        if value != spec.default:
            out[name] = format_value(value)
    return out


@dataclass(frozen=True)
class Note:
    """A URL value that was not used: the field, the text, and what was used instead."""

    name: str
    text: str
    default: Any
    reason: str
    spec: FieldSpec | None = None  # the setting's, where it has one: its allowed values
    why: str | None = None  # an i18n key said after the note: why this value cannot be used here


def from_query(cls: type, params: Mapping[str, Any], base: Any = None) -> tuple[Any, list[Note]]:
    """Settings from URL params; a bad value falls back to `base` (or the default) with a Note.

    Keys that are not fields (lang, hide, page-level keys) are ignored here.
    """
    base = base if base is not None else cls()
    values, notes = {}, []
    for name, spec in specs(cls).items():
        if name not in params:
            continue
        text = params[name]
        text = text[-1] if isinstance(text, list | tuple) and text else text
        try:
            values[name] = parse_value(spec, str(text))
        except ConfigError as err:
            notes.append(Note(name, str(text), getattr(base, name), str(err), spec))
    return dataclasses.replace(base, **values), notes
