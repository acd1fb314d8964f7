"""Both languages have the same keys, and every key the code uses exists."""

import ast
import re
from pathlib import Path

import numpy as np
import pytest

from bnviz.config import RunConfig, specs
from bnviz.i18n import LANGS, lesson_text, lesson_title, listed, normalize_lang, strings, t

ROOT = Path(__file__).resolve().parent.parent


def test_en_and_zh_have_the_same_keys():
    en, zh = set(strings("en")), set(strings("zh"))
    assert len(en) > 100
    assert en - zh == set(), "missing in zh"
    assert zh - en == set(), "missing in en"


def test_placeholders_match_between_languages():
    import string

    fmt = string.Formatter()

    def names(text: str) -> set[str] | str:
        try:
            return {f for _, f, _, _ in fmt.parse(text) if f}
        except ValueError:  # nested braces: a formula's KaTeX group, in a text never formatted
            return "not a format"

    for key, text in strings("en").items():
        assert names(text) == names(strings("zh")[key]), key


def used_keys() -> tuple[set[str], set[str]]:
    """Literal keys and f-string key prefixes passed to t(...) or .tr(...) in the code."""
    literal, prefixes = set(), set()
    files = [ROOT / "app.py", *(ROOT / "pages").glob("*.py"), *(ROOT / "bnviz").rglob("*.py")]
    for path in files:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call) or not node.args:
                continue
            f = node.func
            name = (
                f.id if isinstance(f, ast.Name) else f.attr if isinstance(f, ast.Attribute) else ""
            )
            if name not in ("t", "tr"):
                continue
            arg = node.args[0]
            if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                literal.add(arg.value)
            elif isinstance(arg, ast.JoinedStr) and isinstance(arg.values[0], ast.Constant):
                prefixes.add(arg.values[0].value)
    return literal, prefixes


@pytest.mark.parametrize("lang", LANGS)
def test_every_key_used_in_code_exists(lang):
    table = strings(lang)
    literal, prefixes = used_keys()
    assert len(literal) > 30
    assert sorted(k for k in literal if k not in table) == []
    assert sorted(p for p in prefixes if not any(k.startswith(p) for k in table)) == []


@pytest.mark.parametrize("lang", LANGS)
def test_every_setting_and_choice_has_a_label(lang):
    table = strings(lang)
    for name, spec in specs(RunConfig).items():
        assert f"fields.{name}" in table
        for choice in spec.choices or ():
            assert f"options.{choice}" in table or f"options.{name}.{choice}" in table


@pytest.mark.parametrize("lang", LANGS)
def test_every_page_has_a_title_and_run_states_are_named(lang):
    for path in (ROOT / "pages").glob("[0-9][0-9]_*.py"):
        assert lesson_title(path.stem[3:], lang)  # <lesson>.nav, else nav.<lesson>
    for state in ("queued", "running", "paused", "finished", "diverged", "error", "stopped"):
        assert t(f"run.state.{state}", lang)


def test_missing_key_raises_and_locales_normalize():
    with pytest.raises(KeyError):
        t("no.such.key", "en")
    assert normalize_lang("zh-CN") == "zh" and normalize_lang("zh_TW") == "zh"
    assert normalize_lang("fr-FR") == "en" and normalize_lang(None) == "en"
    assert t("run.status", "en", label="A", state="s", step=1, steps=2, rate=3.0).startswith("A")


@pytest.mark.parametrize("lang", LANGS)
def test_lesson_prose_exists_for_every_lesson_page(lang):
    for path in (ROOT / "pages").glob("[0-9][0-9]_*.py"):
        name = path.stem[3:]
        if name != "home":
            assert len(lesson_text(name, lang)) > 200


def test_lessons_that_name_their_icon_name_different_ones():
    """An audit: preprocessing and hyperparameter search both showed :material/tune: in the
    top bar's menus. The icon is read from the English strings; zh keeps the same."""
    names = [p.stem[3:] for p in (ROOT / "pages").glob("[0-9][0-9]_*.py")]
    icons = {n: strings("en")[f"{n}.icon"] for n in names if f"{n}.icon" in strings("en")}
    assert len(icons) >= 4
    assert len(set(icons.values())) == len(icons), icons
    assert all(strings("zh")[f"{n}.icon"] == icon for n, icon in icons.items())


@pytest.mark.parametrize("lang", LANGS)
def test_every_lesson_sits_in_a_titled_navigation_group(lang):
    """At 1280 px the top bar fits Home and a few groups; ten loose lessons folded into '4 more'."""
    from bnviz.i18n import lesson_group

    names = [p.stem[3:] for p in (ROOT / "pages").glob("[0-9][0-9]_*.py")]
    groups = {name: lesson_group(name) for name in names}
    assert [n for n, g in groups.items() if not g] == ["home"]
    assert 2 <= len(set(groups.values()) - {""}) <= 4
    for group in set(groups.values()) - {""}:
        assert t(f"nav.section.{group}", lang)


def written_as_underscore(text: str) -> bool:
    """True when text writes a subscript with "_" (or a power with "^") outside $…$ and code."""
    plain = re.sub(r"\$[^$]*\$|`[^`]*`", "", text)  # LaTeX and code keep their underscores
    if re.search(r"[μσ²βγ]_[A-Za-z0-9]|\)\^[A-Za-z0-9]", plain):  # μ_B, (1 − m)^k
        return True
    # a one-letter symbol's subscript (x_j, w_l, h_(l−1), h_{l−1}) where a caption or help text
    # showed it literally; names such as fan_in or running_mean are not subscripts
    return bool(re.search(r"(?<![\w{])[A-Za-z]_(\(|\{|[A-Za-z0-9](?!\w))", plain))


@pytest.mark.parametrize("lang", LANGS)
def test_no_subscript_is_written_as_an_underscore(lang):
    """Chart legends, table cells and plain markdown show "μ_B" and "m(1 − m)^k" literally.
    Outside $…$ (LaTeX, which st.markdown renders) a subscript is <sub>…</sub> in a chart, or
    left out. The lesson prose (assets/lessons, st.markdown) too: the why-BN lesson showed
    "w_l", "g_i" and "h_{l−1}" with their underscores and braces (an audit)."""
    found = {key: text for key, text in strings(lang).items() if written_as_underscore(text)}
    lessons = sorted((ROOT / "assets" / "lessons" / normalize_lang(lang)).glob("*.md"))
    assert lessons
    for path in lessons:
        for n, paragraph in enumerate(path.read_text(encoding="utf-8").split("\n"), 1):
            if written_as_underscore(paragraph):
                found[f"{path.relative_to(ROOT)}:{n}"] = paragraph
    assert not found, found


EMPHASIS = re.compile(r"(?<![*\\])\*(?![*\s])([^*\n]+?)(?<![*\s\\])\*(?!\*)")  # *…*, not **…**


def test_chinese_emphasis_puts_its_dots_under_chinese_only():
    """Chinese pages mark *…* with 着重号 (assets/style_zh.css), a dot under each character,
    Latin letters too: "*用 ReLU，…*" put dots under R, e, L, U (audit 12). Emphasis in
    Chinese text holds no Latin word."""
    assert EMPHASIS.findall("a *b* and **c** *d e*") == ["b", "d e"]
    texts = dict(strings("zh"))
    for path in sorted((ROOT / "assets" / "lessons" / "zh").glob("*.md")):
        texts[str(path.relative_to(ROOT))] = path.read_text(encoding="utf-8")
    latin = {
        key: spans
        for key, text in texts.items()
        if (spans := [m for m in EMPHASIS.findall(text) if re.search("[A-Za-z]", m)])
    }
    assert not latin, latin


def test_chinese_names_a_mini_batch_one_way():
    """The Chinese pages said both "mini-batch" and "小批量" (the study notes write
    mini-batch): one term for one thing."""
    texts = dict(strings("zh"))
    for path in sorted((ROOT / "assets" / "lessons" / "zh").glob("*.md")):
        texts[str(path.relative_to(ROOT))] = path.read_text(encoding="utf-8")
    assert any("mini-batch" in text for text in texts.values())
    assert not [key for key, text in texts.items() if "小批量" in text]


def _chinese_texts() -> dict[str, str]:
    texts = dict(strings("zh"))
    for path in sorted((ROOT / "assets" / "lessons" / "zh").glob("*.md")):
        texts[str(path.relative_to(ROOT))] = path.read_text(encoding="utf-8")
    return texts


def test_chinese_says_ratios_and_terms_one_clear_way():
    """Audit 19a: "缩小约 4.5 倍" / "少 10 倍" / "小了 N 倍" read either way in Chinese (the
    pages write 1/N); dead units had four names (死掉的单元, 死单元, “死亡”单元, 死亡单元); a
    wait ended in one "…" where Chinese writes "……"."""
    texts = _chinese_texts()
    assert any("死亡单元" in text for text in texts.values())
    unclear = re.compile(r"缩小约 \S+ 倍|少 \S+ 倍|小了 \S+ 倍|死掉的单元|死单元|“死亡”")
    assert {k: unclear.findall(v) for k, v in texts.items() if unclear.search(v)} == {}
    one_dot = [k for k, v in strings("zh").items() if v.endswith("…") and not v.endswith("……")]
    assert one_dot == []


def test_thousands_are_grouped_with_commas_in_both_languages():
    """Audit 19a: one page wrote "10 000" beside "10,000" (the code writes 20,000)."""
    for lang in ("en", "zh"):
        texts = dict(strings(lang))
        for path in sorted((ROOT / "assets" / "lessons" / lang).glob("*.md")):
            texts[str(path.relative_to(ROOT))] = path.read_text(encoding="utf-8")
        spaced = re.compile(r"\d[ \u00a0\u2009\u202f]\d{3}(?!\d)")
        assert {k: spaced.findall(v) for k, v in texts.items() if spaced.search(v)} == {}


def test_lists_in_running_text_use_each_language_s_separator():
    """An audit: Chinese sentences listed numbers with ASCII commas ("46%, 41%, 41%",
    "1.43, 1.45, 2.26"); Chinese separates the items of a list with the 顿号 (、)."""
    from bnviz.figures import activations, why_bn_live

    assert listed([0.5, "x", 3], "en") == "0.5, x, 3"
    assert listed([0.5, "x", 3], "zh") == "0.5、x、3"
    gamma = {"gamma": np.ones((2, 3)), "beta": np.zeros((2, 3)), "test_acc": 0.5}
    assert why_bn_live.gamma_summary(gamma, lang="zh")["gamma"] == "1.00、1.00"
    said = activations.positive_bias_text([0.46, 0.41, 0.41], lang="zh")
    assert "46%、41%、41%" in said and ", " not in said, said
    assert "46%, 41%, 41%" in activations.positive_bias_text([0.46, 0.41, 0.41], lang="en")


def test_strings_added_while_the_server_runs_are_read_and_unknown_keys_still_raise(
    tmp_path, monkeypatch
):
    """An audit: a server running while its code was updated (a `git pull`) raised KeyError on
    every page that asked for a new key, because the strings were read once at start."""
    import shutil

    from bnviz import i18n

    shutil.copytree(i18n.I18N_DIR, tmp_path / "i18n")
    monkeypatch.setattr(i18n, "I18N_DIR", tmp_path / "i18n")
    strings.cache_clear()
    try:
        assert t("app.list_sep", "zh") == "、"  # read from the copy
        with (tmp_path / "i18n" / "zh" / "app.toml").open("a", encoding="utf-8") as fh:
            fh.write('\nadded_after_start = "新的"\n')
        assert t("app.added_after_start", "zh") == "新的"
        with pytest.raises(KeyError):
            t("app.never_written", "zh")
    finally:
        monkeypatch.undo()
        strings.cache_clear()
    assert "app.added_after_start" not in strings("zh")  # the real files again


def test_every_english_setting_label_starts_with_a_capital():
    """An audit: the hyperparameter page's sidebar said "trials per design" and "seed" under
    the other pages' "Learning rate" and "Seed"."""
    labels = {k: v for k, v in strings("en").items() if ".field." in k or k.startswith("fields.")}
    assert len(labels) > 30
    lower = {k: v for k, v in labels.items() if v[:1].isalpha() and v[:1].islower()}
    assert not lower, lower


INLINE_MATH = re.compile(r"(?<!\$)\$(?!\$)([^$\n]+?)\$(?!\$)")
BREAKS = re.compile(r"[=+<>/-]|\\(le|ge|approx|cdot|leftarrow)\b")  # KaTeX may break after these


@pytest.mark.parametrize("lang", LANGS)
def test_inline_formulas_stay_on_one_line(lang):
    """An audit: "(x −" ended one line and "μB)/√(0+ε) = 0" began the next (KaTeX breaks an
    inline formula after a relation or an operator). A formula in braces is one unbreakable
    group."""
    found = {
        key: body
        for key, text in strings(lang).items()
        for body in INLINE_MATH.findall(text)
        if BREAKS.search(body)
    }
    assert len(found) >= 5, found  # the rule has formulas to hold
    loose = {k: b for k, b in found.items() if not (b.startswith("{") and b.endswith("}"))}
    assert not loose, loose


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_a_seed_s_help_says_what_the_page_s_seed_draws(lang):
    """Audit 22: every page's seed said "same data, same initial weights, same order of
    mini-batches", also on standardization (full-batch descent from a start point set by hand)
    and on why BN's deep linear network (no data). Those pages say what their seed draws, in
    the names their controls and views carry."""
    general = t("help.seed", lang)
    linear = t("why_bn.help.seed", lang)
    assert linear != general and t("why_bn.view.linear", lang) in linear
    assert t("why_bn.field.spread", lang) in linear
    plain = t("standardization.help.seed", lang)
    assert plain != general and "mini-batch" not in plain
    assert t("standardization.field.start", lang) in plain
    act_views = ("function", "gallery", "zigzag", "dead", "race")
    act = t("activations.help.seed", lang)  # greyed on three of its five views: it says which
    assert act != general and all(t(f"activations.view.{v}", lang) in act for v in act_views)


def test_running_statistics_names_the_notes_term_in_chinese():
    """The notes call BN's test-time statistics 运行均值 and their update 指数衰减平均; the page
    says 滑动均值 (the common term): its introduction names both, so a student can match them."""
    intro = t("running_stats.intro", "zh")
    assert "运行均值" in intro and "指数衰减平均" in intro and "滑动平均" in intro
