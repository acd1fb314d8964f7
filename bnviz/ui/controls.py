"""Widgets drawn from a settings dataclass's specs; presets that set them."""

from __future__ import annotations

import dataclasses
import functools
import math
from collections.abc import Callable, Collection, Sequence
from typing import Any

import streamlit as st

from bnviz.config import FieldSpec, Note, specs
from bnviz.datasets import available
from bnviz.i18n import strings
from bnviz.ui._compat import widget_keys_this_run
from bnviz.ui.common import (
    PageContext,
    field_label,
    kept_key,
    option_label,
    plain,
    say,
    setting_name,
    takes,
    widget_key,
)


def url_choice(ctx: PageContext, name: str, choices: Sequence[str]) -> str:
    """The URL's value of a page choice such as `view`, if it is one of `choices`.

    A value that is not falls back to the first choice, and the page says so (as for settings).
    """
    value = ctx.params.get(name, choices[0])
    if value in choices:
        return value
    say(ctx, name, functools.partial(_choice_note, name, value, tuple(choices)))
    return choices[0]


def _choice_note(name: str, value: str, choices: Sequence[str], ctx: PageContext) -> str:
    """What the page says of a choice's value from the link it could not use, and what the
    choice takes (view=nope named only the view used instead: an audit)."""
    labels = [choice_label(ctx, name, c) for c in choices]
    said = ctx.tr(
        "app.url_note", name=setting_name(ctx, name), text=plain(value), default=labels[0]
    )
    return said + takes(ctx, labels)


def choice_label(ctx: PageContext, name: str, value: str) -> str:
    """What the page calls a choice (a view's button label), else the value itself: a note once
    said 'using loss instead' for the lab's "Loss & accuracy" view, in Chinese too."""
    table = strings(ctx.lang)
    for key in (f"{ctx.name}.{name}.{value}", f"{ctx.name}.{name}s.{value}"):
        if key in table:
            return table[key]  # the note's sentence quotes it (quoted here too: ““…””)
    return value


def view_state(ctx: PageContext, views: Sequence[str]) -> str:
    """The view the link (or a preset) chose, in session state before the "Show" control exists.

    Pages whose presets pick a view call it before `page.presets`, so the pills compare it.
    The link's value is read (and a bad one noted) once: a page that called this and then
    view_choice() said "not allowed here" twice.
    """
    key = widget_key(ctx, "view")
    # None: a click during the tab's first script run (the classroom-pace toggle, an audit)
    # sent the views' control before it had a value; the page then raised KeyError: None
    if st.session_state.get(key) not in views:
        st.session_state[key] = url_choice(ctx, "view", views)
    return st.session_state[key]


def view_choice(
    ctx: PageContext,
    views: Sequence[str],
    label: str | None = None,
    format_func: Callable[[str], str] | None = None,
) -> str:
    """The page's "Show" control: a segmented choice of views, kept in the link as `view=`.

    Its session key is `<page>.view`, so a preset may set it; the first view is the default.
    Label and view names default to the strings <page>.view_label and <page>.view.<view>.
    """
    key = widget_key(ctx, "view")
    # its default on every run (see shown): a fresh mount had no view lit (audit 38)
    now = view_state(ctx, views)
    label = label or ctx.tr(f"{ctx.name}.view_label")
    format_func = format_func or (lambda v: ctx.tr(f"{ctx.name}.view.{v}"))
    view = st.segmented_control(
        label, views, required=True, default=now, key=key, format_func=format_func,
        label_visibility="collapsed",
    )  # fmt: skip
    if view != views[0]:
        ctx.query["view"] = view
    return view


def log_grid(spec: FieldSpec, value: float) -> list[float]:
    """1-2-5 steps across a log-scaled range, plus the current value."""
    lo, hi = math.floor(math.log10(spec.lo)), math.ceil(math.log10(spec.hi))
    grid = {m * 10.0**e for e in range(lo, hi + 1) for m in (1, 2, 5)}
    grid = {float(f"{v:.6g}") for v in grid if spec.lo <= v <= spec.hi} | {value}
    return sorted(grid)


def _fmt_number(v: float) -> str:
    return f"{v:g}"


def shown(key: str, value: Any) -> Any:
    """The value a keyed widget shows: its own (else `value`). Every widget passes it as its
    default (value=, index=, default=) on every run.

    A browser that mounts a widget afresh, from a later run's copy of it, draws its default.
    Without this, the widget's own: a control under "More settings" took its minimum and sent
    that back with the next click (audit 11, about 1 in 8 first visits to babysitting: seed 0
    and weight decay 0.0); babysitting's pace toggle was drawn off and no view lit (audit 38).
    Not set again in session state before the widget (stop 59's `keep_value`): that sends the
    value to the browser with every run, so a run under way at a click drew the old value back
    over the click, and the page's next live update sent that (CI lit view "1 ·" after a click
    on "3 ·"). As a default it is drawn only on a fresh mount.
    """
    return st.session_state.get(key, value)


def draw(
    ctx: PageContext, spec: FieldSpec, value: Any, label: str, help: str | None,
    disabled: bool = False,
) -> Any:  # fmt: skip
    """One widget for one setting (greyed out if `disabled`: it keeps its value); returns the
    chosen value."""
    key = widget_key(ctx, spec.name)
    now = shown(key, value)
    kw = dict(key=key, help=help, disabled=disabled)
    if spec.kind is bool:
        return st.toggle(label, value=bool(now), **kw)
    if spec.choices:
        fmt = lambda v: option_label(ctx, spec.name, v)  # noqa: E731
        # MNIST is offered where this server has its files (README, "Real MNIST")
        choices = [c for c in spec.choices if spec.name != "dataset" or available(c)]
        return st.selectbox(label, choices, index=choices.index(now), format_func=fmt, **kw)
    if spec.optional and now is None:  # this control has no "none"
        now = st.session_state[key] = spec.default if spec.default is not None else spec.lo
        if (text := ctx.params.get(spec.name)) is not None:  # the link's bn_momentum=none
            ctx.notes.append(Note(spec.name, text, now, "no none here"))
    if spec.log:
        options = log_grid(spec, now)
        return st.select_slider(label, options, value=now, format_func=_fmt_number, **kw)
    if spec.kind is int:
        return st.number_input(label, int(spec.lo), int(spec.hi), int(now), step=1, **kw)
    step = 10.0 ** math.floor(math.log10((spec.hi - spec.lo) / 100))  # a tidy 0.01, 0.1, 1 …
    return st.number_input(label, float(spec.lo), float(spec.hi), float(now), step=step, **kw)


def settings_form(
    ctx: PageContext, cfg: Any, fields: Sequence[str], unused: Collection[str] = ()
) -> Any:
    """Widgets for `fields` of cfg (hidden ones skipped; those in `unused`, which the view shown
    does not use, greyed out); the settings they now say.

    Labels: <page>.field.<name> (then fields.<name>); help: <page>.help.<name> (then help.<name>).
    """
    all_specs = specs(type(cfg))
    table = strings(ctx.lang)
    values = {}
    for name in fields:
        if name in ctx.hidden:
            continue
        label = field_label(ctx, name) or name
        help_text = table.get(f"{ctx.name}.help.{name}") or table.get(f"help.{name}")
        spec, value = all_specs[name], getattr(cfg, name)
        values[name] = draw(ctx, spec, value, label, help_text, disabled=name in unused)
    return dataclasses.replace(cfg, **values)


def unused_note(ctx: PageContext, unused: Collection[str]) -> None:
    """Under the settings: why some are greyed out (nothing when the view uses them all)."""
    if unused:
        st.caption(ctx.tr("app.unused_settings"))


def seed_url_values(ctx: PageContext, cfg: Any, fields: Sequence[str]) -> bool:
    """On a page's first run, its widgets start from the URL's settings; after a visit to
    another page they start where the user left them. True on that first run (the link's
    values are the ones the page now shows).

    Streamlit forgets the state of widgets a run did not draw, so a tab that went to another
    lesson and came back found its settings (and view) reset. Every run keeps a copy of the
    page's settings under a key no widget owns, and puts back what was forgotten.
    """
    flag, kept = f"{ctx.name}.__seeded", kept_key(ctx)
    keys = [widget_key(ctx, name) for name in [*fields, "view"]]
    first = not st.session_state.get(flag)
    if first:
        st.session_state[flag] = True
        for name in fields:
            st.session_state[widget_key(ctx, name)] = getattr(cfg, name)
    else:
        for key, value in st.session_state.get(kept, {}).items():
            st.session_state.setdefault(key, value)
    now = {k: st.session_state[k] for k in keys if k in st.session_state}
    st.session_state[kept] = {**st.session_state.get(kept, {}), **now}  # pages call it twice
    return first


def release_undrawn(ctx: PageContext) -> None:
    """At the end of a run: the page's settings whose widgets this run did not draw leave
    session state, kept in the copy seed_url_values puts back.

    Streamlit keeps a value set under a widget's key before its widget first existed (the
    page's first run seeds every setting), and when the widget is next left undrawn that old
    value comes back in place of the widget's. Audit 12: Leaky ReLU 0.1x, then All nine, then
    One function showed slope 0.01; ELU: none die came back to Dead ReLUs as ReLU, dying.
    """
    kept = st.session_state.get(kept_key(ctx))
    if not kept:
        return
    drawn = widget_keys_this_run()
    for key in [k for k in kept if k not in drawn and k in st.session_state]:
        kept[key] = st.session_state[key]
        del st.session_state[key]


def apply_preset(ctx: PageContext, values: dict[str, Any]) -> Callable[[], None]:
    """An on_click callback setting widgets to a preset's values."""

    def callback() -> None:
        for name, value in values.items():
            st.session_state[widget_key(ctx, name)] = value

    return callback


def current(ctx: PageContext, name: str, cfg: Any) -> Any:
    """A setting's value as its widget holds it now (cfg's value before the widget exists)."""
    return st.session_state.get(widget_key(ctx, name), getattr(cfg, name))


def presets(ctx: PageContext, items: dict[str, dict[str, Any]], defaults: dict[str, Any]) -> None:
    """'Try this' buttons (i18n <page>.preset.<name> and <name>_what); the rest back to defaults."""
    if "presets" in ctx.hidden:
        return
    st.markdown(f"**{ctx.tr('app.presets')}**")
    cols = st.columns(len(items))
    for col, (name, values) in zip(cols, items.items(), strict=True):
        col.button(
            ctx.tr(f"{ctx.name}.preset.{name}"),
            help=ctx.tr(f"{ctx.name}.preset.{name}_what"),
            on_click=apply_preset(ctx, {**defaults, **values}),
            key=f"{ctx.name}.preset_btn.{name}",
            use_container_width=True,
        )
