"""What every page shares: the scheduler, the session, the language, URL sync, the share link."""

from __future__ import annotations

import dataclasses
import functools
import gc
import os
import re
import urllib.parse
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from typing import Any

import streamlit as st

from bnviz.config import FieldSpec, Note, from_query, specs, to_query
from bnviz.datasets import available
from bnviz.figures.theme import minus_signs, readable
from bnviz.i18n import LANGS, cjk_spacing, has_lang, listed, normalize_lang, strings, t
from bnviz.runner import Scheduler
from bnviz.store_open import open_store
from bnviz.ui._compat import (
    SKIP_LINK,
    inside_legacy_pages_mode,
    leave_pages_directory_mode,
    running_under_apptest,
    script_session_id,
)

Saying = Callable[["PageContext"], str]  # a note in the page's language, whichever it is now
SHOWN_CHARS = 60  # a URL value quoted back in a note is cut here (values may be 10 KB)
ERROR_CHARS = 300  # of a job's error text, in small print
_PUNCTUATION = re.compile(r"([!-/:-@\[-`{-~])")  # every ASCII punctuation: all of markdown's
_CONTROL = re.compile(r"[\x00-\x1f\x7f\u2028\u2029]+")  # line breaks would start new blocks


def plain(text: str, limit: int = SHOWN_CHARS) -> str:
    """User text for a markdown element: shown literally (no links, HTML, LaTeX), one line, cut."""
    text = _CONTROL.sub(" ", str(text))
    text = text if len(text) <= limit else text[:limit] + "…"
    return _PUNCTUATION.sub(r"\\\1", text)


@st.cache_resource(show_spinner=False)
def scheduler() -> Scheduler:
    """The one process-wide scheduler (its worker processes start warming up at once).

    Its run store (BNVIZ_STORE) keeps finished runs and checkpoints across restarts.
    """
    sched = Scheduler(backend=os.environ.get("BNVIZ_BACKEND", "process"), store=open_store())
    gc.freeze()  # heavy imports are done: keep them out of every later collection
    return sched


def session_id() -> str:
    """This browser tab's server session."""
    return script_session_id() or "no-session"


def _release(token: str) -> None:
    scheduler().release(token)  # quick bookkeeping only: this runs on the event loop


@st.cache_resource(scope="session", on_release=_release, show_spinner=False)
def _session_token(sid: str) -> str:
    return sid


def browser_lang() -> str:
    """The language of the browser (st.context.locale), 'en' when unknown."""
    try:
        return normalize_lang(st.context.locale)
    except Exception:  # no browser (AppTest, bare mode)
        return "en"


class Params(dict):
    """The URL's parameters, remembering which keys the page asked for (`read`): the others
    are not settings of the page, and it says so (finish)."""

    def __init__(self, values: dict[str, str]):
        super().__init__(values)
        # the app's own keys; `view` is read by the pages that have views (controls.url_choice)
        self.read: set[str] = {"lang", "hide"}

    def get(self, key, default=None):
        self.read.add(key)
        return super().get(key, default)

    def __getitem__(self, key):
        self.read.add(key)
        return super().__getitem__(key)

    def __contains__(self, key):
        self.read.add(key)
        return super().__contains__(key)


@dataclass
class PageContext:
    """A page's language, its URL parameters, the controls hidden by the URL, and notes."""

    name: str
    lang: str
    params: dict[str, str]
    hidden: set[str]
    notes: list[Note] = field(default_factory=list)
    query: dict[str, str] = field(default_factory=dict)  # what this run writes back
    head: Any = None  # the title row's free space (run controls go there)
    url_slot: Any = None  # the sidebar's top: what the link held that the page does not use
    link_notes: list[str] = field(default_factory=list)  # what the share link does not carry
    notes_slot: Any = None  # where the notes on the link's values stand (said again at finish)
    used: set[str] | None = None  # the settings this view reads, where they differ by view
    used_last: set[str] | None = None  # `used` at the last run's end (until this one's is known)
    settled: bool = False  # the page is drawn: `used` is this run's (finish)
    notes_drawn: str = ""  # the notes' text in notes_slot
    said: list[tuple[str, Saying]] = field(default_factory=list)  # notes said later (say)
    kept_notes: list[tuple[str, Saying]] = field(default_factory=list)  # this visit's first run's

    def tr(self, key: str, **fmt: object) -> str:
        """t(key) in the page's language."""
        return t(key, self.lang, **fmt)

    def settings(
        self, cls: type, base: Any = None, prefix: str = "", fixed: Collection[str] = ()
    ) -> Any:
        """Settings of cls from the URL (keys optionally prefixed); bad values noted. Those in
        `fixed` the page sets itself (the lab trains with and without BN whatever `norm`
        says): not read, so a link's value is named as not a setting of the page."""
        params = {
            k[len(prefix) :]: v
            for k, v in self.params.items()
            if k.startswith(prefix) and k[len(prefix) :] not in fixed
        }
        if isinstance(self.params, Params):
            self.params.read.update(prefix + name for name in specs(cls) if name not in fixed)
        cfg, notes = from_query(cls, params, base)
        self.notes.extend(notes)
        if not available(getattr(cfg, "dataset", "")):  # dataset=mnist, on a server without it
            used = (base if base is not None else cls()).dataset
            spec = specs(cls)["dataset"]
            self.notes.append(Note("dataset", cfg.dataset, used, "no files", spec, "app.no_mnist"))
            cfg = dataclasses.replace(cfg, dataset=used)
        return cfg

    def remember(self, cfg: Any, base: Any = None, prefix: str = "") -> None:
        """Put the non-default settings of cfg (relative to base) into the URL."""
        reference = to_query(base) if base is not None else {}
        for key, value in to_query(cfg).items():
            if reference.get(key) != value:
                self.query[prefix + key] = value
        if base is not None:  # a value back at the class default but off the page's base
            for key in reference:
                if getattr(cfg, key) != getattr(base, key) and key not in to_query(cfg):
                    self.query[prefix + key] = str(getattr(cfg, key))


def option_label(ctx: PageContext, name: str, value: Any) -> str:
    """Label of a choice: <page>.option.<value>, options.<field>.<value>, options.<value>."""
    table = strings(ctx.lang)
    for key in (f"{ctx.name}.option.{value}", f"options.{name}.{value}", f"options.{value}"):
        if key in table:
            return table[key]
    return str(value)


def value_label(ctx: PageContext, name: str, value: Any) -> str:
    """A setting's value as the page's controls say it, for a sentence: a choice's label, on or
    off, a field's meaning of none (all examples, cumulative), a number as written."""
    if value is None or isinstance(value, bool):
        value = {None: "none", True: "on", False: "off"}[value]
    elif isinstance(value, float):
        return minus_signs(f"{value:g}")
    return option_label(ctx, name, value)


LANG_NAMES = {"en": "English", "zh": "中文"}  # the language switch's labels


def current_lang() -> str:
    """The session's language: chosen by the switch, else the URL's, else the browser's."""
    if "lang" not in st.session_state:
        url_lang = st.query_params.get("lang")
        st.session_state["lang"] = normalize_lang(url_lang) if url_lang else browser_lang()
    return st.session_state["lang"]


def language_switch() -> str:
    """The 中文 / English switch in the sidebar (hidden with hide=lang); returns the language."""
    lang = current_lang()
    if "lang" in (st.query_params.get("hide") or "").split(","):
        return lang
    chosen = st.sidebar.segmented_control(
        t("app.language", lang),
        LANGS,
        format_func=LANG_NAMES.get,
        default=lang,
        key="lang_switch",
        required=True,
    )
    if chosen and chosen != lang:
        st.session_state["lang"] = chosen
        st.rerun()
    return lang


# The document's language for screen readers, a browser's translation offer and CJK fonts:
# Streamlit's page says <html lang="en"> whatever it shows (audit 25: Chinese pages were read
# in an English voice). An element of no height, hidden with its row, sets it in the browser,
# and puts Streamlit's "Skip to main content" link (the first Tab stop) in the page's language.
HTML_LANG = {"en": "en", "zh": "zh-CN"}
_html_lang = st.components.v2.component(
    "bnviz_html_lang",
    js="""export default function (c) {
  if (!c.data) return;
  document.documentElement.lang = c.data.lang;
  const skip = document.querySelector(c.data.link);
  if (skip) skip.textContent = c.data.skip;
}""",
    css=".st-key-bnviz_html_lang { display: none; }",
    isolate_styles=False,
)


def mark_language(lang: str) -> None:
    """Set <html lang> to the page's language and translate the skip link (a browser does;
    AppTest has no document)."""
    if not running_under_apptest():
        data = dict(lang=HTML_LANG[lang], link=SKIP_LINK, skip=t("app.skip_to_main", lang))
        with st.sidebar:
            _html_lang(key="bnviz_html_lang", data=data, height=0)


def ensure_router() -> None:
    """Go through app.py's router even when a server's first requests name a page.

    Streamlit 1.67 runs scripts in its old pages/ mode (no router: no language switch, the raw
    page list, and the session's first widget event lost) until some session has called
    st.navigation. The served app leaves it when app.py is imported, before any tab connects;
    this is the guard for a run that still started in it (a server without app.py's st.App):
    it reruns once, in the router. AppTest resets the mode before every run and runs pages
    directly, so there a rerun would swallow every click.
    """
    if inside_legacy_pages_mode():
        leave_pages_directory_mode()
        if not running_under_apptest():
            st.rerun()


def begin(name: str) -> PageContext:
    """Start a page: language, URL parameters; register the session for cleanup."""
    ensure_router()
    _session_token(session_id())
    params = Params({k: st.query_params.get(k) for k in st.query_params})
    hidden = {h.strip() for h in (params.get("hide") or "").split(",") if h.strip()}
    ctx = PageContext(name, current_lang(), params, hidden, url_slot=st.sidebar.empty())
    left = st.session_state.get(LAST_PAGE)
    if left != name:  # a visit starts: an earlier one's notes are old
        for key in [k for k in st.session_state if str(k).startswith(f"{name}.{NOTES_KEPT}")]:
            del st.session_state[key]
        st.session_state[LAST_PAGE] = name
        if left:  # the lesson left: its runs no longer count against the tab's quota
            scheduler().leave_page(session_id(), left)
    for key in st.query_params:  # seed=1&seed=2: Streamlit takes the last, said (audit 23)
        if len(values := st.query_params.get_all(key)) > 1:
            ctx.said.append((key, functools.partial(_given_twice, key, values)))
    url_lang = params.get("lang")
    if url_lang and not has_lang(url_lang):  # lang=fr: said, in the language used instead
        ctx.notes.append(Note("lang", url_lang, LANG_NAMES[ctx.lang], "no such language"))
    return ctx


def _given_twice(key: str, values: list[str], ctx: PageContext) -> str:
    shown, last = listed((plain(v) for v in values), ctx.lang), plain(values[-1])
    return ctx.tr("app.url_twice", name=plain(key), n=len(values), values=shown, last=last)


LAST_PAGE = "__page"  # the page this tab ran last
NOTES_KEPT = "__url_notes"  # a page's notes on its link, kept for the visit


def notes_key(ctx: PageContext, part: str = "values") -> str:
    """Session-state key of the page's kept notes (each said in the language of the run)."""
    return f"{ctx.name}.{NOTES_KEPT}.{part}"


def setting_now(ctx: PageContext, name: str) -> Any:
    """A setting's value in this run (its widget's, else the page's kept copy: a setting the
    last view did not draw, controls.release_undrawn); None for a name without a control. The
    language is the page's (a note on lang=fr goes when the user picks one)."""
    if name == "lang":
        return ctx.lang
    key = widget_key(ctx, name)
    return st.session_state.get(key, st.session_state.get(kept_key(ctx), {}).get(key))


def widget_key(ctx: PageContext, name: str) -> str:
    """Session-state key of a setting's widget on this page."""
    return f"{ctx.name}.{name}"


def kept_key(ctx: PageContext) -> str:
    """Session-state key of the page's kept copy of its settings (controls.seed_url_values)."""
    return f"{ctx.name}.__kept"


def show_notes(ctx: PageContext) -> None:
    """Say which URL values were not usable and what was used instead. The box's place is kept
    (an empty placeholder takes no room): a value found unusable later in the run, when its
    control is drawn, is said there too (finish).

    The link's values are read on a visit's first run only, and that run takes them out of the
    URL: the notes stay for the visit while their settings keep the value the note names (audit
    13: the next click, or a run's end, removed "… is not allowed here; using 1 instead")."""
    ctx.notes_slot = st.empty()
    ctx.used_last = st.session_state.get(notes_key(ctx, "used"))
    kept = st.session_state.get(notes_key(ctx), {})
    ctx.kept_notes = [(n, say_) for n, (say_, was) in kept.items() if setting_now(ctx, n) == was]
    _notes(ctx)


def say(ctx: PageContext, name: str, saying: Saying) -> None:
    """A note on the link's value for `name`, found while the page is drawn (a view, a list of
    inits): said in the notes' box with the others (one box: audit 13 saw a second box push the
    lab's legends off the first screen) and kept for the visit like them."""
    ctx.said.append((name, saying))
    if ctx.notes_slot is None:  # a page without the box says it where it is
        st.warning(saying(ctx))
    else:
        _notes(ctx)


def takes(ctx: PageContext, labels: list[str]) -> str:
    """ " It takes A, B or C.", said after a note on a value from a few (one: nothing)."""
    if len(labels) < 2:
        return ""
    *first, last = labels
    said = ctx.tr("app.url_choices", first=listed(first, ctx.lang), last=last)
    return cjk_spacing(said) if ctx.lang == "zh" else said  # "梯度或决策边界" (an audit)


def url_note(note: Note, ctx: PageContext) -> str:
    """What the page says of a setting's value from the link it could not use; once the
    view's settings are known (finish), a value for a setting this view does not use says so
    (audit 6: "using sigmoid instead" over the dead-ReLU view's ReLU read as a contradiction:
    that was the One function view's setting). Known on pages whose views read different
    settings (page.settings' by_view); on the others a setting without a control can still
    come from the link and be used."""
    used = ctx.used if ctx.settled else ctx.used_last  # a kept note says it as it was said
    unused = used is not None and note.name not in used and note.name != "lang"
    key = "app.url_note_unused" if unused else "app.url_note"
    default = value_label(ctx, note.name, note.default)
    said = ctx.tr(key, name=setting_name(ctx, note.name), text=plain(note.text), default=default)
    spec = note.spec  # "not allowed" says what is: a number's range
    bounded = spec is not None and spec.lo is not None and spec.hi is not None
    if bounded and spec.kind in (int, float):
        # a float as the charts write it (1×10⁻⁵, not 1e−05); an integer exactly (1,499 steps:
        # three digits had it "1500"; a seed's 0 to 2,147,483,647 had been left unsaid, audit 31)
        write = (lambda v: f"{int(v):,}") if spec.kind is int else readable
        lo, hi = (write(v) for v in (spec.lo, spec.hi))
        said += ctx.tr("app.url_allowed", lo=lo, hi=hi)
    elif spec is not None and len(spec.choices or ()) > 1 and spec.kind in (int, float):  # 9 or 25
        said += takes(ctx, [readable(v) for v in spec.choices])
    elif spec is not None and spec.choices and not unused:  # activation=foo: which it takes
        # (an audit); not where the view does not use it: a second line that says nothing here
        offered = [c for c in spec.choices if note.name != "dataset" or available(c)]
        said += takes(ctx, [value_label(ctx, note.name, v) for v in offered])
    if note.why:
        said += ctx.tr(note.why)  # with its own space, as url_allowed
    return said


def ranges_here(
    ctx: PageContext, cls: type, bounds: dict[str, tuple[float, float]]
) -> dict[str, FieldSpec]:
    """cls's settings in `bounds` as this page's run takes them (a layer: 1 to the net's depth,
    not the setting's 1 to 10); the link's notes on them say that range. "abc" for the layer
    said "It takes 1 to 10" on a net of 3 layers, whose 9 is past the net's (audit 31)."""
    ranged = {
        name: dataclasses.replace(specs(cls)[name], lo=lo, hi=hi)
        for name, (lo, hi) in bounds.items()
    }
    ctx.notes[:] = [
        dataclasses.replace(n, spec=ranged[n.name]) if n.name in ranged and n.spec else n
        for n in ctx.notes
    ]
    return ranged


def field_label(ctx: PageContext, name: str) -> str | None:
    """A setting's control label: <page>.field.<name>, then fields.<name> (None: neither)."""
    table = strings(ctx.lang)
    return table.get(f"{ctx.name}.field.{name}") or table.get(f"fields.{name}")


PAGE_KEYS = {"view": "app.view_name", "lang": "app.language"}  # link keys of every page: labels


# a label's last words in brackets: " (check 4)", "（检查 4）"; not a formula's "max(a·x, x)"
TRAILING_BRACKETS = re.compile(r" \(([^()]*)\)$|（([^（）]*)）$")


def setting_name(ctx: PageContext, key: str) -> str:
    """A setting as a note on the link names it: its control's label and its key in the link,
    "Hidden layers (depth)". The key alone was an English code word on a Chinese page, and
    told a teacher nothing of which control it was (audit 30)."""
    label = field_label(ctx, key) or (ctx.tr(PAGE_KEYS[key]) if key in PAGE_KEYS else None)
    if not label or label.casefold() == key:  # "View", not "View (view)"
        return label or key
    if group := TRAILING_BRACKETS.search(label):  # "Weight decay (check 4; weight_decay)",
        if key in group.groups():  # not "(check 4) (weight_decay)" (audit 38); "(offset)" as is
            return label
        return ctx.tr("app.setting_named_in", label=label[:-1], field=key) + label[-1]
    return ctx.tr("app.setting_named", label=label, field=key)


def _notes(ctx: PageContext) -> dict[str, Saying]:
    """The notes in their box, said in the page's language now (a switch says them again)."""
    # one box, a line each: three boxes pushed the page's chart off the first screen; not
    # blue: the page's sentence is an info box. Drawn again only when it changed (at finish).
    sayings: dict[str, Saying] = dict(ctx.kept_notes)
    sayings |= {note.name: functools.partial(url_note, note) for note in ctx.notes}
    sayings |= dict(ctx.said)
    text = "  \n".join(saying(ctx) for saying in sayings.values())
    if text != ctx.notes_drawn:
        if text:
            ctx.notes_slot.warning(text)
        else:
            ctx.notes_slot.empty()
        ctx.notes_drawn = text
    return sayings


def _keep_notes(ctx: PageContext) -> None:
    """This run's notes on the link, each with its setting's value now (show_notes)."""
    ctx.settled = True
    sayings = _notes(ctx) if ctx.notes_slot is not None else dict(ctx.said)
    kept = {n: (saying, setting_now(ctx, n)) for n, saying in sayings.items()}
    st.session_state[notes_key(ctx)] = kept
    st.session_state[notes_key(ctx, "used")] = ctx.used


def _unknown_keys_note(unknown: list[str], hides_nothing: list[str], ctx: PageContext) -> str:
    """The link's keys this page does not read (a misspelled learning_rate= would otherwise go
    unnoticed), and the names in its `hide` that hide nothing."""
    said = []
    if unknown:
        key = "app.url_unknown" if len(unknown) == 1 else "app.url_unknown_many"
        said.append(ctx.tr(key, keys=listed((plain(k) for k in unknown), ctx.lang)))
    if hides_nothing:
        names = listed((plain(k) for k in hides_nothing), ctx.lang)
        said.append(ctx.tr("app.hide_unknown", names=names))
    return "  \n".join(said)


def finish(ctx: PageContext) -> None:
    """Write the page's settings to the URL and show the share link."""
    _keep_notes(ctx)
    query = dict(ctx.query)
    # the address names the language when the browser's is another, or the link named it (a
    # zh-CN student's lang=zh went from the address, and from the link they passed on)
    if ctx.lang != browser_lang() or "lang" in ctx.params:
        query["lang"] = ctx.lang
    # the keys this page has read from its link in this tab: a view or a choice is read on the
    # page's first run only, and stays the page's own (back on the first view, the link still
    # held view= from the last run: audit 11 saw "not a setting of this page, so not used: view")
    read = st.session_state.setdefault(f"{ctx.name}.__link_keys", set())
    read |= getattr(ctx.params, "read", set(ctx.params))
    # `hide` names a setting of the page (read from the link or not), presets or lang; a name
    # that hides nothing (a typo: hide=learning_rate) is said and left out of the link
    hideable = read | {"presets", "lang"}
    hides_nothing = sorted(ctx.hidden - hideable)
    if ctx.hidden & hideable:
        query["hide"] = ",".join(sorted(ctx.hidden & hideable))
    if {k: st.query_params.get(k) for k in st.query_params} != query:
        st.query_params.from_dict(query)
    base = st.context.url or ""
    if ctx.name == "home" and base:  # the app's root, however it was reached: "…/?" (/index,
        # /home; and /nope, where Streamlit shows home under "Page not found", audit 31)
        parts = urllib.parse.urlsplit(base)
        prefix = str(st.get_option("server.baseUrlPath") or "").strip("/")
        base = urllib.parse.urlunsplit((*parts[:2], f"/{prefix}/" if prefix else "/", "", ""))
    # the share link always does: the page as shown, whatever the student's browser says (a
    # Chinese page shared from a zh-CN browser opened in English for others, audit 23)
    link = base + "?" + urllib.parse.urlencode({**query, "lang": ctx.lang})
    # never read by this page, nor written back: learning_rate= for lr=
    unknown = sorted(set(ctx.params) - read - set(query))
    if unknown or hides_nothing:  # seen on the visit's first run only (the link then drops them)
        saying = functools.partial(_unknown_keys_note, unknown, hides_nothing)
        st.session_state[notes_key(ctx, "unknown")] = saying
    else:
        saying = st.session_state.get(notes_key(ctx, "unknown"))
    if saying:
        (ctx.url_slot or st.sidebar).warning(saying(ctx))
    with st.sidebar:
        st.caption(ctx.tr("app.share_link"))
        st.code(link, language=None, wrap_lines=True)
        for note in ctx.link_notes:
            st.caption(note)


def number_text(value: object, percent: bool = False) -> object:
    """A table cell's number as the charts write it: 3 significant digits with "−" (0.213,
    −0.0028, 2.38e−07), or a share in %; "—" where there is none (NaN, None). Other cells as
    they are. st.dataframe's own formats wrote "-5.72e-8" beside "0.00000596", and "None"."""
    if value is None or (isinstance(value, float) and value != value):
        return "—"
    if isinstance(value, float):
        return f"{value:.0%}" if percent else minus_signs(f"{value:.3g}")
    return value


def show_table(rows: list[dict], percent: Collection[str] = ()) -> None:
    """A static table (st.table) of rows whose number columns are written by number_text,
    right-aligned. It fits its column, wrapping a long heading: st.dataframe sized each column
    to its text and hid what did not fit behind a sideways scroll, so at 1280x720 the
    activations table lost its measured cost column and initialization's read "50" for 500
    distinct units (seen after audit 14 found the table too wide on a laptop)."""
    import pandas as pd  # (Streamlit's own dependency; loaded with the first table)

    def number(v: object) -> bool:
        return v is None or (isinstance(v, int | float) and not isinstance(v, bool))

    numeric = [c for c in rows[0] if all(number(r[c]) for r in rows)]
    cells = [{c: number_text(v, c in percent) if c in numeric else v for c, v in row.items()}
             for row in rows]  # fmt: skip
    frame = pd.DataFrame(cells)
    right = {"text-align": "right !important"}  # over st.table's own, inline per cell
    styler = frame.style.hide(axis="index").set_properties(subset=numeric, **right)
    headings = [f"th.col{frame.columns.get_loc(c)}" for c in numeric]
    if headings:
        styler.set_table_styles([{"selector": ", ".join(headings), "props": list(right.items())}])
    st.table(styler)
