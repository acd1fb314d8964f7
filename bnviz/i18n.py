"""Translated strings: t(key, lang) over assets/i18n/{lang}/*.toml."""

from __future__ import annotations

import functools
import re
import tomllib
from collections.abc import Iterable
from pathlib import Path

LANGS = ("en", "zh")
DEFAULT_LANG = "en"
I18N_DIR = Path(__file__).resolve().parent.parent / "assets" / "i18n"


def _flatten(table: dict, prefix: str = "") -> dict[str, str]:
    """Nested TOML tables -> {"a.b.c": "text"}."""
    out: dict[str, str] = {}
    for key, value in table.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(_flatten(value, name + "."))
        else:
            out[name] = str(value)
    return out


_loaded: dict[str, tuple] = {}  # the signature of each language's files when last read


def _files(lang: str) -> list[Path]:
    return sorted((I18N_DIR / lang).glob("*.toml"))


def _signature(lang: str) -> tuple:
    """What the string files of `lang` are now: names, sizes and modification times."""
    return tuple((p.name, (st := p.stat()).st_size, st.st_mtime_ns) for p in _files(lang))


@functools.cache
def strings(lang: str) -> dict[str, str]:
    """All strings of one language; each file's name is its keys' first part."""
    merged: dict[str, str] = {}
    lang = normalize_lang(lang)  # never a path from outside the assets (lang comes from URLs)
    _loaded[lang] = _signature(lang)
    for path in _files(lang):
        with path.open("rb") as fh:
            merged.update(_flatten(tomllib.load(fh), path.stem + "."))
    return merged


def _reload_if_changed(lang: str) -> bool:
    """Read the strings again if their files changed since (True if so).

    A server whose code is updated without a restart (a `git pull`) reloads the changed pages,
    which then ask for new keys: they are read then, not refused with a KeyError.
    """
    if _signature(lang) == _loaded.get(lang):
        return False
    strings.cache_clear()
    return True


def normalize_lang(lang: str | None) -> str:
    """'zh-CN', 'zh_TW', 'zh' -> 'zh'; anything else we lack -> 'en'."""
    return _base(lang) if has_lang(lang) else DEFAULT_LANG


def has_lang(lang: str | None) -> bool:
    """Whether the app speaks `lang` ('zh-CN', 'EN' yes; 'fr', '' no)."""
    return bool(lang) and _base(lang) in LANGS


def _base(lang: str) -> str:
    return lang.replace("_", "-").split("-")[0].lower()


def t(key: str, lang: str = DEFAULT_LANG, **fmt: object) -> str:
    """The text of `key` in `lang`, formatted with `fmt`; a missing key raises KeyError
    (after reading the files again if they changed since they were read)."""
    lang = normalize_lang(lang)
    try:
        text = strings(lang)[key]
    except KeyError:
        if not _reload_if_changed(lang):
            raise
        text = strings(lang)[key]
    return text.format(**fmt) if fmt else text


def listed(items: Iterable[object], lang: str) -> str:
    """Items as a list in running text: "1.43, 1.45" (en), "1.43、1.45" (zh, the 顿号)."""
    return t("app.list_sep", lang).join(map(str, items))


# a space between two Chinese characters (or their full-width punctuation) is not Chinese
# typography: "梯度 或 决策边界" (a template's " 或 ", right between Latin words: "ReLU 或 Maxout")
_CJK = "\u2e80-\u9fff\u3000-\u303f\uff00-\uffef“”"
_CJK_SPACE = re.compile(f"(?<=[{_CJK}]) (?=[{_CJK}])")


def cjk_spacing(text: str) -> str:
    """`text` without the spaces that stand between two Chinese characters."""
    return _CJK_SPACE.sub("", text)


def lesson_title(name: str, lang: str) -> str:
    """A page's navigation title: `<name>.nav` from the lesson's own strings (else nav.<name>)."""
    table = strings(normalize_lang(lang))
    return table.get(f"{name}.nav") or table[f"nav.{name}"]


def lesson_about(name: str, lang: str) -> str:
    """A page's line on the home page: `<name>.about` (else home.about_<name>)."""
    table = strings(normalize_lang(lang))
    return table.get(f"{name}.about") or table[f"home.about_{name}"]


def lesson_icon(name: str, default: str | None = None) -> str | None:
    """A page's Material icon: `<name>.icon` in the lesson's strings, else `default`."""
    return strings(DEFAULT_LANG).get(f"{name}.icon", default)


def lesson_group(name: str) -> str:
    """The navigation group a page sits in: `<name>.nav_group` (else nav.group.<name>); "" = none.

    Groups keep the top bar to a few entries at 1280 px (ten lessons did not fit); a group's
    title is `nav.section.<group>` in each language.
    """
    table = strings(DEFAULT_LANG)
    return table.get(f"{name}.nav_group") or table.get(f"nav.group.{name}", "")


def lessons_by_group(pages: Path) -> dict[str, list[Path]]:
    """The page files pages/NN_<name>.py by navigation group ("" = none), each group in file
    order and the groups in the order of their first page: the top bar and the home page."""
    out: dict[str, list[Path]] = {}
    for path in sorted(pages.glob("[0-9][0-9]_*.py")):
        out.setdefault(lesson_group(path.stem[3:]), []).append(path)
    return out


def lesson_text(name: str, lang: str) -> str:
    """The prose of a lesson page from assets/lessons/{lang}/{name}.md."""
    path = I18N_DIR.parent / "lessons" / normalize_lang(lang) / f"{name}.md"
    return path.read_text(encoding="utf-8")
