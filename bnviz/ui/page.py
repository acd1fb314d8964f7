"""The skeleton every lesson page shares: one screen, figure first.

Title, then the presets ("Try this") as pills, then the page's main figure with its "look for"
sentence. Settings live in the sidebar: the few that matter for the lesson, the rest under
"More settings". Prose goes in expanders below the figure.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import streamlit as st

from bnviz.i18n import lesson_text, lesson_title, strings
from bnviz.ui import common, controls
from bnviz.ui.common import PageContext

STYLE = Path(__file__).resolve().parents[2] / "assets" / "style.css"
STYLE_ZH = STYLE.with_name("style_zh.css")  # emphasis as Chinese print marks it
ACCESS = STYLE.with_name("access.css")  # focus ring, captions, copy button: the home page's too


def begin(name: str, title_key: str | None = None) -> PageContext:
    """Start a lesson page: language, URL parameters, the house style, the title row.

    The title row has room on its right (`ctx.head`) for the page's run controls.
    """
    ctx = common.begin(name)
    st.html(STYLE)  # a lesson's layout; style-only HTML takes no room on the page
    house_style(ctx)
    title, ctx.head = st.columns([3, 5], vertical_alignment="center")
    title.title(ctx.tr(title_key) if title_key else lesson_title(name, ctx.lang))
    return ctx


def house_style(ctx: PageContext) -> None:
    """What every page of the app looks like (focus ring, captions, the share link's copy button,
    Chinese emphasis); the home page had Streamlit's: a 1.9:1 focus ring, a hover-only button."""
    st.html(ACCESS)
    if ctx.lang == "zh":
        st.html(STYLE_ZH)


def show_notes(ctx: PageContext) -> None:
    """Say which URL values were not usable and what was used instead."""
    common.show_notes(ctx)


def settings(
    ctx: PageContext,
    cfg: Any,
    main: Sequence[str],
    more: Sequence[str] = (),
    unused: Sequence[str] = (),
    by_view: bool = False,
) -> Any:
    """The page's settings in the sidebar: `main` always visible, `more` under an expander;
    those in `unused` (the view shown does not read them) greyed out, with a note where.
    `by_view`: the view reads only these (and not `unused`), so a bad link value for any other
    setting is noted as one this view does not use; so is it with `unused` given."""
    controls.seed_url_values(ctx, cfg, [*main, *more])
    if by_view or unused:
        ctx.used = {f for f in [*main, *more] if f not in unused}
    with st.sidebar:
        st.markdown(f"**{ctx.tr('app.settings')}**")
        controls.unused_note(ctx, [f for f in main if f in unused])
        cfg = controls.settings_form(ctx, cfg, main, unused)
        if [f for f in more if f not in ctx.hidden]:
            with st.expander(ctx.tr("app.more_settings")):
                controls.unused_note(ctx, [f for f in more if f in unused])
                cfg = controls.settings_form(ctx, cfg, more, unused)
    return cfg


def _matches(ctx: PageContext, values: dict[str, Any]) -> bool:
    """The settings are the preset's; a tuple of values: any of them (a view listed so)."""
    state = st.session_state

    def same(k: str, v: Any) -> bool:
        now = state.get(controls.widget_key(ctx, k), v[0] if isinstance(v, tuple) else v)
        return now in v if isinstance(v, tuple) else now == v

    return all(same(k, v) for k, v in values.items())


def presets(ctx: PageContext, items: dict[str, dict], defaults: dict[str, Any]) -> str | None:
    """'Try this' pills: a click sets the page's settings to a preset (the rest to defaults,
    but for the seed, which it keeps).

    A preset's value may be a tuple: the preset holds for any of them, and a click sets the
    first (a preset whose sentence speaks of two views stays selected on both).
    Returns the preset the settings match now (its pill is shown selected), or None.
    """
    # The seed is the class's, not the preset's: a preset keeps the seed shown and stays
    # selected on any seed (its sentence states what holds over seeds 0–4). An audit: a click
    # set the seed back to 0, and choosing seed 3 after it swapped its sentence for the generic
    # one, so a link with a preset and a seed opened without the preset's claim.
    base = {k: v for k, v in defaults.items() if k != "seed"}
    full = {name: {**base, **values} for name, values in items.items()}
    active = next((name for name, values in full.items() if _matches(ctx, values)), None)
    if "presets" in ctx.hidden:
        return active
    key = f"{ctx.name}.preset"
    if st.session_state.get(key) != active:  # follows the settings: a changed setting
        st.session_state[key] = active  # deselects it (set only then: see controls.shown)

    def apply() -> None:
        chosen = st.session_state[key]
        if chosen is not None:
            first = {k: v[0] if isinstance(v, tuple) else v for k, v in full[chosen].items()}
            controls.apply_preset(ctx, first)()

    with st.container(horizontal=True, vertical_alignment="center", key=f"{ctx.name}.presets"):
        st.markdown(f"**{ctx.tr('app.presets')}**", width="content")
        st.pills(
            ctx.tr("app.presets"),
            list(items),
            format_func=lambda name: ctx.tr(f"{ctx.name}.preset.{name}"),
            default=active,
            key=key,
            on_change=apply,
            label_visibility="collapsed",
        )
    return active


def views(ctx: PageContext, names: Sequence[str], row: Any = None) -> str:
    """The page's views in the title row (or `row`), labelled <page>.view_label and
    <page>.view.<name>; the view shown. The title row is then full: the page's run buttons go
    under the sentence on every view (on one view they took the row and the views moved down)."""
    with row or ctx.head:
        view = controls.view_choice(ctx, names)
    ctx.head = None
    return view


def look_for(
    ctx: PageContext, active: str | None, view: str | None = None, custom: bool = False
) -> None:
    """The one sentence that says what to look for: the preset's, else the view's or the page's.

    custom: the settings are neither a preset nor the page's defaults, so a default sentence
    that states what the defaults show would not hold; <page>.look_for.custom says what to
    compare instead. A page that shows its presets adds <page>.look_for.presets (a hint)."""
    table = strings(ctx.lang)
    keys = [f"{ctx.name}.preset.{active}_what"] if active else []
    keys += [f"{ctx.name}.look_for.custom"] if custom else []
    keys += [f"{ctx.name}.look_for.{view}", f"{ctx.name}.look_for.default"]
    text = next(table[k] for k in keys if k in table)
    hint = table.get(f"{ctx.name}.look_for.presets")
    if hint and not active and "presets" not in ctx.hidden:
        text += ("" if ctx.lang == "zh" else " ") + hint
    with st.container(key="look_for"):
        st.info(text, icon=":material/visibility:")


def explanation(ctx: PageContext, lesson: str) -> None:
    """The lesson's prose, folded away below the figures."""
    with st.expander(ctx.tr("app.explanation"), expanded=False):
        st.markdown(lesson_text(lesson, ctx.lang))


def finish(ctx: PageContext) -> None:
    """Write the settings to the URL and show the share link; the settings this run's view did
    not draw wait in the page's kept copy (controls.release_undrawn)."""
    common.finish(ctx)
    controls.release_undrawn(ctx)
